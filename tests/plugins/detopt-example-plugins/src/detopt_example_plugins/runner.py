"""A runner plugin: evaluations on a pool of threads in the driver process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import Field

from detopt.runners.base import Runner, RunnerFuture, RunnerOptions, settle
from detopt.task import TaskCall, execute


class ThreadOptions(RunnerOptions):
    """Options of the ``threads`` runner."""

    threads: int = Field(2, ge=1, le=64, description="threads evaluating at once")


class ThreadRunner(Runner):
    """Runs each call on a thread of the driver (for cheap, thread-safe evaluations)."""

    name = "threads"
    Options = ThreadOptions

    def __init__(self, options: ThreadOptions | None = None, **kwargs: Any):
        self.settings = self._settings(options, kwargs)
        self._pool = ThreadPoolExecutor(self.settings.threads, thread_name_prefix="plugin-runner")

    @property
    def slots(self) -> int:
        return self.settings.threads

    def submit(self, call: TaskCall) -> RunnerFuture:
        future = RunnerFuture(handle=f"threads:{call.label}")
        future.set_running_or_notify_cancel()

        def work() -> None:
            try:
                settle(future, result=execute(call))
            except Exception as exc:  # noqa: BLE001 - a RemoteTaskError travels on the future
                settle(future, exc=exc)

        self._pool.submit(work)
        return future

    def close(self) -> None:
        self._pool.shutdown(wait=True)
