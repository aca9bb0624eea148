"""Study settings: stop rules, concurrency and the failure policy of a study."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from detopt.errors import ConfigError
from detopt.problem import Problem


@dataclass
class StudySettings:
    """How long a study runs, how many trials run at once, and what happens on failure.

    Attributes:
        max_trials: trial budget; the study ends when this many trials have finished.
        concurrency: trials in flight at once (default: the runner's slots).
        max_wall_time: seconds this run may take; then in-flight work is halted.
        target_normalized_hv: stop when HV / HV(true front) reaches this (known fronts only).
        target_hv: stop when the hypervolume reaches this value.
        stall_trials: stop when this many trials finished without a hypervolume gain.
        stall_tolerance: relative hypervolume gain that counts as progress.
        max_retries: re-runs of a trial whose attempt failed with a retryable error.
        on_failure: ``"fail"`` stores the trial as failed; ``"penalty"`` completes it with the
            ``penalty`` values so the optimizer steers away from it.
        penalty: metric -> value used by ``on_failure="penalty"``.
        max_failed_trials: stop (drain) when this many trials have failed.
        prefetch: prepare the next proposal while workers are busy.
        reference_point: hypervolume reference point (objectives' own directions); default:
            the objectives' thresholds.
    """

    max_trials: int | None = None
    concurrency: int | None = None
    max_wall_time: float | None = None
    target_normalized_hv: float | None = None
    target_hv: float | None = None
    stall_trials: int | None = None
    stall_tolerance: float = 1e-6
    max_retries: int = 0
    on_failure: Literal["fail", "penalty"] = "fail"
    penalty: Mapping[str, float] | None = None
    max_failed_trials: int | None = None
    prefetch: bool = True
    reference_point: list[float] | None = None

    def check(self, problem: Problem) -> None:
        if self.max_trials is None and self.max_wall_time is None and self.target_hv is None \
                and self.target_normalized_hv is None and self.stall_trials is None:
            raise ConfigError("the study has no stop rule and would run forever.",
                              field="study.max_trials", fix="set max_trials (or another stop rule)")
        if self.on_failure == "penalty":
            missing = [m for m in problem.objectives.required_metrics if m not in (self.penalty or {})]
            if missing:
                raise ConfigError(f"on_failure is 'penalty' but no penalty value is given for "
                                  f"{missing[0]!r}.", field="study.penalty",
                                  fix="give a penalty value for every objective and constrained metric")
        if self.target_normalized_hv is not None and problem.known_front is None:
            raise ConfigError("target_normalized_hv needs a problem with a known Pareto front.",
                              field="study.target_normalized_hv", fix="use target_hv instead")
