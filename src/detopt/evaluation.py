"""How one trial is evaluated: one task call (the default) or a pipeline of runner calls.

The study loop hands every attempt of a trial to ``problem.evaluation`` when a problem has one
(a pipeline, :mod:`detopt.pipeline`), instead of submitting ``problem.call(params)`` itself.
The evaluation gets a :class:`TrialContext`: the trial's identity, its work directory and a
small durable state (``save_state``) that survives the driver, so a resumed study can continue
a half-finished trial where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from detopt.runners.base import Runner, RunnerFuture


@dataclass(frozen=True)
class TrialContext:
    """What an evaluation knows about the attempt it runs.

    Attributes:
        study: study name.
        trial: trial index.
        attempt: 1, 2, ... (an attempt cut short by a dead driver keeps its number on resume).
        label: ``f"{study}.t{trial}.a{attempt}"``, unique per attempt.
        workdir: this trial's work directory (``<study workdir>/t<trial>``), created on demand.
        state: what ``save_state`` stored for this trial before (``{}`` at first).
        save_state: durable and thread-safe; replaces the stored state.
    """

    study: str
    trial: int
    attempt: int
    label: str
    workdir: Path
    state: Mapping[str, Any]
    save_state: Callable[[Mapping[str, Any]], None]


@runtime_checkable
class Evaluation(Protocol):
    """How one trial is evaluated: one task call (the default) or a pipeline of runner calls."""

    def submit(self, runner: Runner, params: Mapping[str, Any], context: TrialContext
               ) -> RunnerFuture:
        """Start evaluating ``params``; the future resolves to the metrics dict (or raises a
        TrialError; InfeasibleDesignError for gates)."""
        ...

    def reattach(self, runner: Runner, handle: str, context: TrialContext) -> RunnerFuture | None:
        """Continue an attempt started by an earlier driver, or ``None`` to run it again."""
        ...
