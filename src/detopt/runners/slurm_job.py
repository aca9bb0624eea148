"""What a SLURM job runs: ``python -m detopt.runners.slurm_job CALL_FILE RESULT_FILE``.

The call file is a pickled :class:`~detopt.task.TaskCall` written by the driver into the trial's
work directory. The job executes it and writes ``("ok", result)`` or ``("error",
RemoteTaskError)`` to the result file, atomically (temporary file + rename), so the driver never
reads half a result. Exit status: 0 when the call returned, 1 when it raised (SLURM then shows
the job as FAILED, and the result file says why), 2 when the files themselves are unusable.

Killed jobs (time limit, memory, node failure, scancel) write nothing; the driver reads their
fate from SLURM.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any


def write_result(path: str | Path, outcome: tuple[str, Any]) -> None:
    """Pickle ``outcome`` to ``path`` atomically (readers see the old state or the whole file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())  # on a shared filesystem the driver may read from another host
    os.replace(tmp, path)


def run(call_file: str, result_file: str) -> int:
    """Execute the pickled call in ``call_file``; store the outcome in ``result_file``."""
    from detopt.errors import RemoteTaskError
    from detopt.task import execute

    try:
        with open(call_file, "rb") as f:
            call = pickle.load(f)
    except Exception as exc:  # noqa: BLE001 - reported through the result file
        write_result(result_file, ("error", RemoteTaskError(
            type(exc).__name__, f"cannot read the call file {call_file}: {exc}", "",
            retryable=False)))
        return 2
    try:
        outcome: tuple[str, Any] = ("ok", execute(call))
    except RemoteTaskError as exc:
        sys.stderr.write(exc.traceback_text or f"{exc}\n")  # also in the job's stderr file
        outcome = ("error", exc)
    try:
        write_result(result_file, outcome)
    except Exception as exc:  # noqa: BLE001 - e.g. the result cannot be pickled
        write_result(result_file, ("error", RemoteTaskError(
            type(exc).__name__, f"cannot store the result: {exc}", "", retryable=False)))
        return 1
    return 0 if outcome[0] == "ok" else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m detopt.runners.slurm_job CALL_FILE RESULT_FILE\n")
        return 2
    return run(args[0], args[1])


if __name__ == "__main__":
    sys.exit(main())
