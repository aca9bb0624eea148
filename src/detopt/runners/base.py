"""The runner protocol: where trials run (local processes, Dask, SLURM, PanDA).

A runner turns a :class:`~detopt.task.TaskCall` into a standard
:class:`concurrent.futures.Future`, so the study waits on every backend the same way. Each
future carries a ``handle`` (SLURM job id, Dask key, ...) that the study stores with the trial;
a *durable* runner's work survives the death of the driver, and :meth:`Runner.reattach` turns
a stored handle back into a future instead of running the trial again.

Failures arrive as exceptions on the future, all subclasses of
:class:`~detopt.errors.TrialError`: :class:`~detopt.errors.RemoteTaskError` (the function
raised; carries the traceback), :class:`~detopt.errors.TrialTimeoutError`,
:class:`~detopt.errors.WorkerLostError`, :class:`TrialCancelledError`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Future, InvalidStateError
from typing import Any, ClassVar, TypeVar

from pydantic import model_validator

from detopt.errors import ConfigError, TrialError
from detopt.plugins import PluginOptions, parse_options
from detopt.task import TaskCall


#: handle stored before a durable runner's submission: ``"intent:" + call label``. If the driver
#: dies before the real handle is stored, ``reattach`` gets this one and may find the work by label.
INTENT_PREFIX = "intent:"


#: option names of earlier versions -> today's name (one vocabulary for time limits and resources)
RENAMED_OPTIONS = {"timeout": "walltime", "time": "walltime", "mem": "memory", "cpus": "cores"}


class RunnerOptions(PluginOptions):
    """Base of every runner's options (a runner declares its own as ``Options``)."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for old, new in RENAMED_OPTIONS.items():
                if old in data and old not in cls.model_fields and new in cls.model_fields:
                    raise ConfigError(f"the option {old!r} is now called {new!r}.",
                                      field=f"runner.{old}", fix=f"write '{new}: {data[old]}'")
        return data


O = TypeVar("O", bound=RunnerOptions)


class TrialCancelledError(TrialError):
    """The work was cancelled (by the study, a user, or the batch system)."""


class RunnerFuture(Future):
    """A :class:`concurrent.futures.Future` that knows the backend handle of its work.

    Attributes:
        handle: what :meth:`Runner.reattach` needs to find the work again (job id, key, ...).
        logs: where the work's output is kept (e.g. ``{"stdout": path, "stderr": path}``).
    """

    def __init__(self, handle: str | None = None, logs: dict[str, str] | None = None):
        super().__init__()
        self.handle = handle
        self.logs = dict(logs or {})


class Runner(ABC):
    """Executes task calls somewhere and reports through futures.

    Subclasses set :attr:`name`, :attr:`durable`, declare their settings as ``Options`` (a
    :class:`RunnerOptions` model) and implement :meth:`submit` and :meth:`close`; durable ones
    also implement :meth:`reattach`. A runner is built as ``Runner(options)`` from a config,
    or with the options as keyword arguments from Python (``LocalRunner(workers=2)``).
    """

    #: short name used in configs and stored handles
    name: ClassVar[str] = "runner"
    #: the runner's settings; validated from the config's ``runner`` section
    Options: ClassVar[type[RunnerOptions]] = RunnerOptions
    #: True when submitted work keeps running if the driver process dies (a class attribute;
    #: a runner whose durability depends on its options, e.g. Dask, sets it per instance)
    durable: bool = False

    @classmethod
    def _settings(cls, options: O | None, kwargs: Mapping[str, Any]) -> O:
        """The validated options from either an ``Options`` instance or keyword arguments."""
        if options is not None:
            if kwargs:
                raise TypeError("give either an Options instance or keyword options, not both")
            if not isinstance(options, cls.Options):
                options = parse_options("runner", cls.name, cls.Options, dict(options), "runner")
            return options  # type: ignore[return-value]
        return parse_options("runner", cls.name, cls.Options, kwargs, "runner")  # type: ignore[return-value]

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many calls this runner executes at once (the default study concurrency)."""

    @abstractmethod
    def submit(self, call: TaskCall) -> RunnerFuture:
        """Start ``call``; the returned future resolves to its result or a TrialError."""

    def reattach(self, handle: str) -> RunnerFuture | None:
        """A future for work started by an earlier driver, or ``None`` if it cannot be found."""
        return None

    def cancel(self, future: Future) -> bool:
        """Stop the work behind ``future``; returns True if it was stopped or never started."""
        return future.cancel()

    @abstractmethod
    def close(self) -> None:
        """Release workers and connections. Durable runners leave submitted work running."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def settle(future: Future, *, result: Any = None, exc: BaseException | None = None) -> None:
    """Resolve ``future`` unless another thread (cancel, close, a timeout) already did."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def safe_name(label: str, fallback: str = "call") -> str:
    """A call label as a job, key or directory name: letters, digits and ``._-``, keeping the
    end (``.tN.aM``) when it must be shortened."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", label)[-80:].strip(".") or fallback
