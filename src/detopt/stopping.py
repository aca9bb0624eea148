"""Stop rules of a study run, and the run's final status as data.

Two kinds of stop:

* *drain* (trial budget reached, hypervolume target, stall, too many failures): no new trial is
  started; trials in flight finish and are stored.
* *halt* (wall-clock limit, Ctrl-C, a stop request): nothing new starts and in-flight work is
  given up at once: cancelled and queued for re-run on a local runner, left running (and
  re-attached on resume) on a durable one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from detopt.settings import StudySettings


class StopKind(StrEnum):
    """Why a run ended."""

    BUDGET = "budget"                      # max_trials finished
    TARGET_HV = "target_hv"
    TARGET_NORMALIZED_HV = "target_normalized_hv"
    STALL = "stall"                        # no hypervolume gain for stall_trials
    MAX_FAILED = "max_failed"              # max_failed_trials failed
    WALL_TIME = "wall_time"                # max_wall_time of this run
    INTERRUPTED = "interrupted"            # Ctrl-C / SIGINT
    REQUESTED = "requested"                # Study.request_stop from code


class RunStatus(StrEnum):
    """A study's stored status."""

    RUNNING = "running"
    FINISHED = "finished"        # the trial budget is used up
    STOPPED = "stopped"          # another stop rule (target, stall, wall time, request)
    INTERRUPTED = "interrupted"  # Ctrl-C: resume continues it


@dataclass(frozen=True)
class Stop:
    """A stop decision: its kind, a sentence for people, and whether in-flight work is halted."""

    kind: StopKind
    reason: str
    halt: bool

    @property
    def status(self) -> RunStatus:
        if self.kind == StopKind.BUDGET:
            return RunStatus.FINISHED
        if self.kind == StopKind.INTERRUPTED:
            return RunStatus.INTERRUPTED
        return RunStatus.STOPPED


@dataclass(frozen=True)
class Progress:
    """What the stop rules look at."""

    elapsed: float                  # seconds since this run started
    finished: int                   # finished trials (completed or failed), all runs
    failed: int                     # failed or penalized trials, all runs
    last_gain_at: int               # ``finished`` when the hypervolume last grew
    hypervolume: float | None
    normalized_hypervolume: float | None


class StopRules:
    """The configured stop rules (the trial budget is enforced by the loop, which stops
    creating trials when it is used up)."""

    def __init__(self, settings: StudySettings):
        self.settings = settings

    def check(self, p: Progress) -> Stop | None:
        """The first rule that fires, halting rules first."""
        s = self.settings
        if s.max_wall_time is not None and p.elapsed >= s.max_wall_time:
            return Stop(StopKind.WALL_TIME, f"wall-clock limit of {s.max_wall_time:g} s reached",
                        halt=True)
        if s.target_normalized_hv is not None and (p.normalized_hypervolume or 0.0) >= \
                s.target_normalized_hv:
            return Stop(StopKind.TARGET_NORMALIZED_HV, f"normalized hypervolume "
                        f"{p.normalized_hypervolume:.4f} reached the target "
                        f"{s.target_normalized_hv}", halt=False)
        if s.target_hv is not None and p.hypervolume is not None and p.hypervolume >= s.target_hv:
            return Stop(StopKind.TARGET_HV, f"hypervolume {p.hypervolume:.6g} reached the target "
                        f"{s.target_hv}", halt=False)
        if s.stall_trials is not None and p.finished - p.last_gain_at >= s.stall_trials:
            return Stop(StopKind.STALL, f"no hypervolume gain in the last {s.stall_trials} trials",
                        halt=False)
        if s.max_failed_trials is not None and p.failed >= s.max_failed_trials:
            return Stop(StopKind.MAX_FAILED, f"{p.failed} trials failed (max_failed_trials = "
                        f"{s.max_failed_trials})", halt=False)
        return None

    def seconds_left(self, elapsed: float) -> float | None:
        """Time until the wall-clock rule fires (``None`` without one)."""
        if self.settings.max_wall_time is None:
            return None
        return self.settings.max_wall_time - elapsed


BUDGET_REACHED = Stop(StopKind.BUDGET, "trial budget reached", halt=False)

__all__ = ["BUDGET_REACHED", "Progress", "RunStatus", "Stop", "StopKind", "StopRules"]
