"""Study settings: stop rules, concurrency and the failure policy (the ``study`` section).

One schema for the YAML file and for Python: ``StudySettings(max_trials=100)`` validates the
same way as ``study: {max_trials: 100}``, and every default is written here once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
)

from detopt.errors import ConfigError
from detopt.problem import Problem
from detopt.units import Duration


class StudySettings(BaseModel):
    """How long a study runs, how many trials run at once, and what happens on failure."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_trials: PositiveInt | None = Field(None, description=(
        "trial budget: the study ends when this many trials have finished"))
    concurrency: PositiveInt | None = Field(None, description=(
        "trials in flight at once (default: the runner's slots)"))
    max_wall_time: Duration | None = Field(None, description=(
        "how long one run (run or resume) may take, e.g. '12h'; then in-flight work is halted"))
    target_normalized_hv: FiniteFloat | None = Field(None, gt=0, description=(
        "stop when HV / HV(true front) reaches this (problems with a known front)"))
    target_hv: FiniteFloat | None = Field(None, description=(
        "stop when the hypervolume reaches this value"))
    stall_trials: PositiveInt | None = Field(None, description=(
        "stop when this many trials finished without a hypervolume gain"))
    stall_tolerance: FiniteFloat = Field(1e-6, ge=0, description=(
        "relative hypervolume gain that counts as progress"))
    max_retries: NonNegativeInt | None = Field(None, description=(
        "re-runs of a trial whose attempt failed with a retryable error (default: the "
        "evaluation task's own @task(retries=...), else 0)"))
    on_failure: Literal["fail", "penalty"] = Field("fail", description=(
        "fail: store the trial as failed; penalty: complete it with the penalty values"))
    penalty: dict[str, FiniteFloat] | None = Field(None, description=(
        "metric -> value used by on_failure: penalty"))
    max_failed_trials: PositiveInt | None = Field(None, description=(
        "stop (drain) when this many trials have failed"))
    prefetch: bool = Field(True, description="prepare proposals while workers are busy")
    reference_point: list[FiniteFloat] | None = Field(None, description=(
        "hypervolume reference point in the objectives' own directions (default: their "
        "thresholds); the optimizer and the hypervolume tracking both use it"))
    initial_designs: list[dict[str, Any]] = Field(default_factory=list, description=(
        "designs evaluated first, e.g. the current baseline; missing parameters are an error"))
    workdir: str | None = Field(None, description=(
        "folder for the trials' work directories (default: <storage folder>/<name>-work)"))

    def updated(self, **changes: Any) -> StudySettings:
        """A copy with ``changes`` validated like the YAML (e.g. overrides on resume)."""
        try:
            return StudySettings.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{str(err['msg']).removeprefix('Value error, ')}.",
                              field=f"study.{where}", fix="see docs/configuration.md") from None

    def check(self, problem: Problem) -> None:
        """What can only be checked against the problem (and the absence of any stop rule)."""
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
