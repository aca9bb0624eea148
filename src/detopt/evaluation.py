"""How one trial is evaluated: one task call (the default) or several runner calls (a pipeline).

The study loop never builds runner calls itself; it asks the problem's :class:`Evaluation`
to start a trial and gets back one future that resolves to the trial's metrics (or raises a
:class:`~detopt.errors.TrialError`). A pipeline evaluation orchestrates many runner calls per
trial (stage jobs) and keeps what it has done in the trial's durable *state*, so a resumed
study continues a half-finished trial instead of starting it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from detopt.problem import Problem
    from detopt.runners.base import Runner, RunnerFuture


@dataclass(frozen=True)
class TrialContext:
    """What an evaluation knows about the attempt it runs.

    Attributes:
        study: the study's name.
        trial: the trial's index.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        label: ``"<study>.t<trial>.a<attempt>"``, unique per attempt (job names, keys).
        workdir: this trial's work directory (``<study workdir>/t<trial>``; created on demand).
        state: what :attr:`save_state` stored for this trial before (``{}`` at first); it
            survives the driver, so a resumed attempt can skip work already done.
        save_state: durably replaces the trial's state (thread-safe).
    """

    study: str
    trial: int
    attempt: int
    label: str
    workdir: Path
    state: Mapping[str, Any]
    save_state: Callable[[Mapping[str, Any]], None]


class Evaluation(Protocol):
    """Starts (and, after a driver restart, re-attaches to) the evaluation of one trial."""

    def submit(self, runner: Runner, params: Mapping[str, Any],
               context: TrialContext) -> RunnerFuture:
        """Start evaluating ``params``; the future resolves to the metrics dict."""
        ...

    def reattach(self, runner: Runner, handle: str, context: TrialContext) -> RunnerFuture | None:
        """A future for an attempt an earlier driver started (``handle`` as stored), or
        ``None`` when it cannot be found (the loop then runs the trial again)."""
        ...


class CallEvaluation:
    """The default evaluation: one runner call of the problem's function per trial."""

    def __init__(self, problem: Problem):
        self.problem = problem

    def submit(self, runner: Runner, params: Mapping[str, Any],
               context: TrialContext) -> RunnerFuture:
        return runner.submit(replace(self.problem.call(params), label=context.label))

    def reattach(self, runner: Runner, handle: str, context: TrialContext) -> RunnerFuture | None:
        return runner.reattach(handle)


__all__ = ["CallEvaluation", "Evaluation", "TrialContext"]
