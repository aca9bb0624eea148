"""Trials: one evaluation of one design, with its status, result, timings and attempts."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np

from detopt.errors import InvalidResultError

#: a metric's value: mean and standard error (``None`` when the evaluation gave no error)
MetricValue = tuple[float, float | None]


class TrialStatus(StrEnum):
    """Lifecycle: PENDING (proposed, not yet submitted) -> RUNNING -> COMPLETED | FAILED.

    A RUNNING trial whose driver died is re-attached or re-run on resume; a failed attempt that
    will be retried goes back to PENDING with ``attempts`` incremented.
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in (TrialStatus.COMPLETED, TrialStatus.FAILED)


class _Outcome:
    """Accessors shared by :class:`Trial` and its immutable :class:`TrialView`."""

    metrics: Mapping[str, MetricValue]
    started_at: float | None
    finished_at: float | None

    def value(self, metric: str) -> float:
        """The mean of ``metric``."""
        return self.metrics[metric][0]

    def values(self, metrics: Sequence[str]) -> np.ndarray:
        return np.array([self.metrics[m][0] for m in metrics], dtype=float)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class TrialView(_Outcome):
    """An immutable snapshot of a trial: what optimizers receive (they run on their own thread
    while the study keeps changing its live :class:`Trial` objects)."""

    index: int
    params: Mapping[str, Any]
    status: TrialStatus
    metrics: Mapping[str, MetricValue]
    generator: str | None
    penalized: bool
    attempts: int
    started_at: float | None
    finished_at: float | None


@dataclass
class Trial(_Outcome):
    """One design point and everything known about its evaluation.

    Attributes:
        index: position in the study (0, 1, 2, ...); unique within a study.
        params: parameter values, fixed parameters included.
        status: see :class:`TrialStatus`.
        metrics: metric name -> (mean, sem); filled when COMPLETED.
        error: one-line reason of the last failure.
        traceback: full traceback text of the last failure, when there was one.
        attempts: how many times the evaluation was started.
        runner_handle: backend handle of the current attempt (job id, Dask key, ...).
        generator: what proposed it: ``"initial"`` (the config's initial designs), ``"manual"``
            (:meth:`Study.enqueue`), ``"sobol"`` (a space-filling design, also an optimizer's
            initial ones), ``"mobo"``, ``"nsga2"``, ... (the optimizer's own), ``"fallback"``
            (a Sobol design used because the optimizer failed to propose).
        penalized: COMPLETED with penalty values after a failure (failure policy ``penalty``).
        logs: where the current attempt's output is kept (e.g. ``{"stdout": path}``), as
            reported by the runner.
    """

    index: int
    params: dict[str, Any]
    status: TrialStatus = TrialStatus.PENDING
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    runner_handle: str | None = None
    generator: str | None = None
    penalized: bool = False
    logs: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def snapshot(self) -> TrialView:
        """An immutable copy of what an optimizer may know about this trial."""
        return TrialView(self.index, MappingProxyType(dict(self.params)), self.status,
                         MappingProxyType(dict(self.metrics)), self.generator, self.penalized,
                         self.attempts, self.started_at, self.finished_at)


def _as_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, np.ndarray) and value.shape == ():
            return _as_number(value.item(), where)
        raise InvalidResultError(f"{where} is {type(value).__name__} {value!r}, expected a number")
    number = float(value)
    if math.isnan(number):
        raise InvalidResultError(f"{where} is NaN")
    if math.isinf(number):
        raise InvalidResultError(f"{where} is infinite")
    return number


def parse_result(raw: Any, required: Sequence[str]) -> dict[str, MetricValue]:
    """Turn an evaluation's return value into ``{metric: (mean, sem)}``.

    Accepted forms per metric: a number, ``(mean, sem)``, or ``{"mean": m, "sem": s}``.
    Extra metrics are kept.

    Raises:
        InvalidResultError: not a mapping, a required metric missing, a NaN or infinite value,
            a negative sem, or a value of the wrong type. The message names the metric.
    """
    if not isinstance(raw, Mapping):
        raise InvalidResultError(
            f"the evaluation returned {type(raw).__name__}, expected a dict of metric values")
    missing = [m for m in required if m not in raw]
    if missing:
        raise InvalidResultError(
            f"metric {missing[0]!r} is missing from the result (got: {', '.join(map(str, raw)) or 'nothing'})")
    out: dict[str, MetricValue] = {}
    for name, value in raw.items():
        where = f"metric {name!r}"
        if isinstance(value, Mapping):
            if "mean" not in value:
                raise InvalidResultError(f"{where} is a dict without 'mean'")
            mean, sem = value["mean"], value.get("sem")
        elif isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise InvalidResultError(f"{where} has {len(value)} entries, expected (mean, sem)")
            mean, sem = value
        else:
            mean, sem = value, None
        mean = _as_number(mean, where)
        if sem is not None:
            sem = _as_number(sem, f"the sem of {where}")
            if sem < 0:
                raise InvalidResultError(f"the sem of {where} is negative ({sem})")
        out[str(name)] = (mean, sem)
    return out
