"""Inline runner: evaluates in the driver process, one call at a time.

For debugging an evaluation function (breakpoints and prints work as usual) and for measuring
the study loop's own overhead. It has no timeout and no isolation: a crash in the function
takes the driver down (resume then re-runs the interrupted trial).
"""

from __future__ import annotations

from typing import Any

from detopt.errors import RemoteTaskError
from detopt.runners.base import Runner, RunnerFuture, RunnerOptions
from detopt.task import TaskCall, execute


class InlineRunner(Runner):
    """Runs each call synchronously inside :meth:`submit`."""

    name = "inline"
    durable = False

    def __init__(self, options: RunnerOptions | None = None, **kwargs: Any):
        self._settings(options, kwargs)  # no options: anything given is an error

    @property
    def slots(self) -> int:
        return 1

    def submit(self, call: TaskCall) -> RunnerFuture:
        future = RunnerFuture(handle=None)
        future.set_running_or_notify_cancel()
        try:
            future.set_result(execute(call))
        except RemoteTaskError as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass
