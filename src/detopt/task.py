"""Function-as-a-Task: a decorated function runs locally when called and anywhere when submitted.

A :class:`TaskCall` is plain data: the function's import reference (``"module:qualname"``),
its keyword arguments and the resources it asks for. Any runner can ship it to another process
or host, where :func:`execute` imports the function and calls it. Results are plain data; an
exception comes back as :class:`~detopt.errors.RemoteTaskError` carrying the traceback text.

Example::

    @detopt.task(cores=2, memory="4GB", walltime="1h", retries=1)
    def simulate(params: dict, tracks: int = 1000) -> dict:
        ...

    simulate({"x": 1.0})                                   # a normal local call
    future = simulate.submit(runner, params={"x": 1.0})    # concurrent.futures.Future
    futures = simulate.map(runner, [{"params": p} for p in designs])
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

from detopt.errors import ConfigError, DetoptError, RemoteTaskError, TrialError
from detopt.units import Duration, MemoryMB

if TYPE_CHECKING:
    from detopt.runners.base import Runner


class Resources(BaseModel):
    """What one call needs from the place it runs (the same fields in YAML and in Python).

    Attributes:
        cores: CPU cores.
        memory_mb: memory in MB (``None``: the backend's default); written ``memory: 4GB``.
        walltime: seconds before the call is stopped (``None``: no limit); ``"2h"`` works.
        gpus: GPUs (SLURM ``--gres=gpu:N``).
        env: environment variables set for the call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    cores: PositiveInt = 1
    memory_mb: MemoryMB | None = Field(None, alias="memory")
    walltime: Duration | None = None
    gpus: NonNegativeInt = 0
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("env", mode="before")
    @classmethod
    def _env_as_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @classmethod
    def from_user(cls, **fields: Any) -> Resources:
        """Resources from user input (``memory="4GB"``, ``walltime="2h"``); bad values are a
        :class:`ConfigError` naming the field."""
        try:
            return cls.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "resources"
            raise ConfigError(f"{str(err['msg']).removeprefix('Value error, ')}.", field=where,
                              fix="e.g. cores=2, memory='4GB', walltime='2h'") from None


def function_reference(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of an importable module-level function (or :class:`Task`)."""
    if isinstance(fn, Task):
        fn = fn.fn
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or "<" in qualname:
        raise ConfigError(f"{fn!r} cannot be imported by reference (lambda or nested function).",
                          field="evaluate", fix="define the function at module level")
    if module == "__main__":
        raise ConfigError(f"{qualname} is defined in __main__, which other processes cannot import.",
                          field="evaluate", fix="move it into a module (a .py file on the path)")
    return f"{module}:{qualname}"


_IMPORT_LOCK = threading.Lock()


@contextlib.contextmanager
def _folders_first(search_path: Sequence[str]) -> Iterator[None]:
    """``search_path`` at the front of ``sys.path`` for the duration of one import only, so
    a user's module (and the siblings it imports) loads from its own folder without changing
    the interpreter for everything else."""
    if not search_path:
        yield
        return
    with _IMPORT_LOCK:
        added = [p for p in search_path if p not in sys.path]
        sys.path[:0] = added
        try:
            yield
        finally:
            for p in added:
                with contextlib.suppress(ValueError):
                    sys.path.remove(p)


def resolve(reference: str, search_path: Sequence[str] = ()) -> Callable[..., Any]:
    """Import ``"package.module:function"`` and return the plain function.

    Args:
        search_path: folders searched first for the module (e.g. the config file's folder).
    """
    obj = lookup(reference, search_path)
    return obj.fn if isinstance(obj, Task) else obj


def lookup(reference: str, search_path: Sequence[str] = ()) -> Any:
    """Import ``"package.module:function"`` and return what it names: a function or a
    :class:`Task` (whose resources and retries a study uses)."""
    module_name, sep, qualname = str(reference).partition(":")
    if not sep or not module_name or not qualname or module_name.startswith(".") \
            or not all(part.isidentifier() for part in module_name.split(".")) \
            or not all(part.isidentifier() for part in qualname.split(".")):
        raise ConfigError(f"{reference!r} is not a 'module:function' reference.", field="evaluate",
                          fix="write e.g. 'mypackage.simulation:evaluate'")
    try:
        with _folders_first(search_path):
            obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {module_name!r} ({exc}).", field="evaluate",
                          fix="install the package, or put the module next to the config file"
                          ) from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"module {module_name!r} has no {qualname!r}.", field="evaluate",
                              fix="check the function name")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{reference!r} is not callable.", field="evaluate", fix="name a function")
    return obj


@dataclass(frozen=True)
class TaskCall:
    """A serializable call: function reference, keyword arguments and resources."""

    function: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    label: str = ""
    path: tuple[str, ...] = ()  # folders the function's module is imported from first

    def with_resources(self, **changes: Any) -> TaskCall:
        return replace(self, resources=self.resources.model_copy(update=changes))


def execute(call: TaskCall) -> Any:
    """Run ``call`` here (in a worker) and return its result.

    Environment variables from ``call.resources.env`` are set for the duration of the call.
    Any exception is re-raised as :class:`RemoteTaskError` with the formatted traceback, so it
    pickles without the original exception class being importable on the other side.
    """
    saved = {k: os.environ.get(k) for k in call.resources.env}
    os.environ.update(call.resources.env)
    try:
        return resolve(call.function, call.path)(**call.kwargs)
    except BaseException as exc:  # noqa: BLE001 - everything must travel back as data
        if isinstance(exc, KeyboardInterrupt):
            raise
        # a user error (bad reference, bad option) fails the same way every time
        retryable = exc.retryable if isinstance(exc, TrialError) else not isinstance(exc, DetoptError)
        raise RemoteTaskError(type(exc).__name__, str(exc), traceback.format_exc(),
                              retryable=retryable) from None
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class Task:
    """A function that can run locally (call it) or on any runner (``submit``/``map``).

    Created by :func:`task`. Attribute access and calls go to the wrapped function.
    """

    def __init__(self, fn: Callable[..., Any], resources: Resources, retries: int = 0):
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries}.", field="retries",
                              fix="give 0 or a positive number")
        self.fn = fn
        self.resources = resources
        self.retries = retries
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def reference(self) -> str:
        return function_reference(self.fn)

    def call(self, **kwargs: Any) -> TaskCall:
        """The serializable form of ``self(**kwargs)``."""
        return TaskCall(self.reference, kwargs, self.resources, label=self.fn.__name__)

    def submit(self, runner: Runner, **kwargs: Any) -> Future:
        """Run ``self(**kwargs)`` on ``runner``; retried up to ``retries`` times on failure."""
        call = self.call(**kwargs)
        if self.retries == 0:
            return runner.submit(call)
        return _RetryingSubmission(runner, call, self.retries).future

    def map(self, runner: Runner, kwargs_list: Iterable[Mapping[str, Any]]) -> list[Future]:
        """One future per kwargs mapping, in input order."""
        return [self.submit(runner, **dict(kwargs)) for kwargs in kwargs_list]


class _RetryingSubmission:
    """Resubmits a failed call until it succeeds or the retries are used up."""

    def __init__(self, runner: Runner, call: TaskCall, retries: int):
        self.runner, self.call, self.left = runner, call, retries
        self.future: Future = Future()
        self.future.set_running_or_notify_cancel()
        self._attempt()

    def _attempt(self) -> None:
        self.runner.submit(self.call).add_done_callback(self._done)

    def _done(self, attempt: Future) -> None:
        if attempt.cancelled():
            self.future.cancel()
            return
        exc = attempt.exception()
        if exc is None:
            self.future.set_result(attempt.result())
        elif self.left > 0 and getattr(exc, "retryable", True):
            self.left -= 1
            self._attempt()
        else:
            self.future.set_exception(exc)


def task(fn: Callable[..., Any] | None = None, *, cores: int = 1, memory: str | int | None = None,
         walltime: str | float | None = None, gpus: int = 0, retries: int = 0,
         env: Mapping[str, Any] | None = None) -> Any:
    """Decorator turning a module-level function into a :class:`Task`.

    Args:
        cores: CPU cores per call.
        memory: memory per call, e.g. ``"4GB"``.
        walltime: time limit per call, e.g. ``"2h"``; the call is stopped after it.
        gpus: GPUs per call.
        retries: how often a failed call is resubmitted by ``submit``/``map``.
        env: environment variables set while the call runs.
    """
    resources = Resources.from_user(cores=cores, memory=memory, walltime=walltime, gpus=gpus,
                                    env=env)

    def wrap(f: Callable[..., Any]) -> Task:
        return Task(f, resources, retries)

    return wrap(fn) if fn is not None else wrap
