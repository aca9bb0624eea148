"""Local runner: a pool of worker processes on this machine, with a per-call time limit.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: it cannot stop one call, and a worker
that dies breaks the whole pool. Here every worker owns a pipe pair; one dispatcher thread
waits on all pipes at once, so a call that overruns its timeout or a worker that crashes costs
only that call, and the worker is replaced. Workers are long-lived (the user's module is
imported once per worker) and are fresh interpreters (``python -m detopt.runners._worker``):
they never re-run the user's ``__main__`` script and never inherit the driver's threads.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

from pydantic import Field, PositiveInt, field_validator

from detopt.errors import RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners.base import Runner, RunnerFuture, RunnerOptions, TrialCancelledError
from detopt.task import TaskCall
from detopt.units import Duration


#: seconds a worker may take to start before a call's time limit begins (see ``_start_queued``)
STARTUP_ALLOWANCE = 60.0


@dataclass
class _Running:
    """The call a worker is busy with."""

    task_id: int
    future: RunnerFuture
    deadline: float | None  # time.monotonic() value, None = no limit
    limit: float | None
    cancelled: bool = False


def _worker_environment() -> dict[str, str]:
    """The driver's environment, with its import path, so workers import what the driver can."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class _Worker:
    """One worker process and the two pipes to it."""

    def __init__(self, threads: int, output: IO[bytes] | None):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "detopt.runners._worker", str(to_child_r), str(from_child_w),
             str(threads)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=_worker_environment(),
            stdout=output, stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True)  # Ctrl-C in the terminal reaches the driver only
        os.close(to_child_r)
        os.close(from_child_w)
        self.send_conn = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.task: _Running | None = None

    def exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def stop(self, force: bool) -> None:
        if not force:
            try:
                self.send_conn.send(None)
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                force = True
        if force and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.send_conn.close()
        self.conn.close()


class LocalOptions(RunnerOptions):
    """Options of the ``local`` runner."""

    workers: PositiveInt | None = Field(None, description="worker processes (default: CPU cores)")
    walltime: Duration | None = Field(None, description=(
        "default time limit of one evaluation, e.g. '2h'; a call's own walltime wins"))
    output: str | None = Field(None, description=(
        "file that receives the workers' stdout and stderr (default: the driver's)"))

    @field_validator("output")
    @classmethod
    def _output_is_a_file(cls, value: str | None) -> str | None:
        if value is not None:
            path = Path(value).expanduser()
            if path.is_dir():
                raise ValueError(f"{value!r} is a directory; give a file name")
            if not path.parent.is_dir():
                raise ValueError(f"the folder of {value!r} does not exist")
        return value


class LocalRunner(Runner):
    """Runs calls in ``workers`` local processes (options: :class:`LocalOptions`)."""

    name = "local"
    durable = False
    Options = LocalOptions

    def __init__(self, options: LocalOptions | None = None, **kwargs: Any):
        settings = self._settings(options, kwargs)
        self.workers = settings.workers or os.cpu_count() or 1
        self.walltime = settings.walltime
        self._output = open(settings.output, "ab") if settings.output is not None else None
        self._threads = max(1, (os.cpu_count() or 1) // self.workers)
        self._lock = threading.Lock()
        self._queue: deque[tuple[int, RunnerFuture, TaskCall]] = deque()
        self._ids = itertools.count()
        wake_r, wake_w = os.pipe()
        self._wake_reader = Connection(wake_r, writable=False)
        self._wake_writer = Connection(wake_w, readable=False)
        self._closed = False
        self._pool = [_Worker(self._threads, self._output) for _ in range(self.workers)]
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="detopt-local-runner",
                                            daemon=True)
        self._dispatcher.start()

    @property
    def slots(self) -> int:
        return self.workers

    def submit(self, call: TaskCall) -> RunnerFuture:
        if self._closed:
            raise RuntimeError("the runner is closed")
        task_id = next(self._ids)
        future = RunnerFuture(handle=f"local:{os.getpid()}:{task_id}")
        with self._lock:
            self._queue.append((task_id, future, call))
        self._wake()
        return future

    def cancel(self, future: Future) -> bool:
        """Cancel a queued call, or stop the worker running it."""
        if future.cancel():
            return True
        with self._lock:
            running = next((w.task for w in self._pool
                            if w.task is not None and w.task.future is future), None)
            if running is None:
                return future.done()
            running.cancelled, running.deadline = True, 0.0  # the dispatcher stops the worker
        self._wake()
        return True

    def close(self) -> None:
        """Stop all workers; calls still queued or running are cancelled."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        self._dispatcher.join(timeout=30)
        with self._lock:
            for _, future, _ in self._queue:
                future.cancel()
            self._queue.clear()
        for worker in self._pool:
            if worker.task is not None and not worker.task.future.done():
                worker.task.future.set_exception(TrialCancelledError("the local runner was closed"))
            worker.stop(force=worker.task is not None)
        self._wake_reader.close()
        self._wake_writer.close()
        if self._output is not None:
            self._output.close()

    # ------------------------------------------------------------------ dispatcher thread
    def _wake(self) -> None:
        try:
            self._wake_writer.send_bytes(b"")
        except OSError:
            pass

    def _dispatch_loop(self) -> None:
        while not self._closed:
            self._start_queued()
            busy = [w for w in self._pool if w.task is not None]
            deadlines = [w.task.deadline for w in busy if w.task.deadline is not None]
            wait_for = None if not deadlines else max(0.0, min(deadlines) - time.monotonic())
            handles: list[Any] = [self._wake_reader]
            handles += [w.conn for w in busy]  # EOF on a pipe also signals a dead worker
            ready = wait(handles, timeout=wait_for)
            if self._wake_reader in ready:
                while self._wake_reader.poll():
                    self._wake_reader.recv_bytes()
            for w in busy:
                if w.conn in ready:
                    self._collect(w)
            self._enforce_deadlines()

    def _start_queued(self) -> None:
        for worker in self._pool:
            if worker.task is not None:
                continue
            with self._lock:
                if not self._queue:
                    return
                task_id, future, call = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            limit = call.resources.walltime or self.walltime
            # until the worker says the call started, allow for its start-up (a fresh
            # interpreter after a crash or timeout); then the limit counts from the start
            deadline = time.monotonic() + limit + STARTUP_ALLOWANCE if limit else None
            try:
                worker.send_conn.send((task_id, call))
            except Exception as exc:  # unpicklable arguments
                future.set_exception(RemoteTaskError(type(exc).__name__,
                                                     f"cannot send the call to a worker: {exc}", "",
                                                     retryable=False))
                continue
            worker.task = _Running(task_id, future, deadline, limit)

    def _collect(self, worker: _Worker) -> None:
        running = worker.task
        assert running is not None
        try:
            got_id, status, payload = worker.conn.recv()
        except (EOFError, OSError):  # the worker died without answering
            worker.task = None
            running.future.set_exception(WorkerLostError(
                f"the worker process died ({worker.exit_reason()}) during the call"))
            self._replace(worker)
            return
        if got_id != running.task_id:
            return  # a late answer to a call that was already given up
        if status == "started":
            if running.limit is not None and not running.cancelled:
                running.deadline = time.monotonic() + running.limit
            return
        worker.task = None
        if status == "ok":
            running.future.set_result(payload)
        else:
            running.future.set_exception(payload)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for worker in self._pool:
            running = worker.task
            if running is None or running.deadline is None or running.deadline > now:
                continue
            worker.task = None
            self._replace(worker)
            if running.cancelled:
                running.future.set_exception(TrialCancelledError("cancelled while running"))
            else:
                running.future.set_exception(TrialTimeoutError(
                    f"the call ran longer than its {running.limit:g} s limit and was stopped"))

    def _replace(self, worker: _Worker) -> None:
        worker.stop(force=True)
        if not self._closed:
            fresh = _Worker(self._threads, self._output)
            with self._lock:
                self._pool[self._pool.index(worker)] = fresh
