"""Entry point of a local worker process: ``python -m detopt.runners._worker READ_FD WRITE_FD THREADS``.

Started as a fresh interpreter (not forked), so it never re-imports the user's ``__main__``
and never inherits the driver's threads. It receives ``(task_id, TaskCall)`` messages and
answers ``(task_id, "started", None)`` when the call begins (the time limit counts from there,
not from the interpreter's start-up), then ``(task_id, "ok" | "error", payload)``; ``None``
asks it to exit.
"""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from typing import Any

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def serve(receive: Connection, send: Connection) -> None:
    from detopt.errors import RemoteTaskError
    from detopt.task import execute

    while True:
        try:
            message = receive.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, call = message
        try:
            send.send((task_id, "started", None))
        except OSError:
            return
        try:
            outcome: tuple[str, Any] = ("ok", execute(call))
        except RemoteTaskError as exc:
            outcome = ("error", exc)
        try:
            send.send((task_id, *outcome))
        except OSError:  # the driver is gone
            return
        except Exception as exc:  # the result could not be pickled
            send.send((task_id, "error", RemoteTaskError(
                type(exc).__name__, f"cannot send the result back: {exc}", "", retryable=False)))


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the driver dies (even by SIGKILL), so no orphaned
    simulation keeps running after a crash; resume re-runs the interrupted trial."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the driver died before prctl took effect
        os._exit(1)


def main() -> None:
    read_fd, write_fd, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    _die_with_parent()
    for variable in _THREAD_VARIABLES:  # before the user's code imports numpy
        os.environ.setdefault(variable, threads)
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False))


if __name__ == "__main__":
    main()
