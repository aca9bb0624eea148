"""The YAML study configuration: schema (pydantic), loading, and turning it into a Study.

A configuration is stored with its study, so ``detopt resume`` can rebuild the problem, the
optimizer and the runner without the original file. Paths in a file are relative to the file.

Minimal example::

    name: dtlz2-demo
    storage: runs/dtlz2.db
    problem:
      builtin: dtlz2
      options: {n_objectives: 3, n_variables: 12}
    optimizer: {name: nsga2, seed: 1}
    runner: {kind: local, workers: 2}
    study: {max_trials: 100, concurrency: 2}
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detopt.errors import ConfigError, DetoptError
from detopt.objectives import Objective, ObjectiveSet
from detopt.pipeline.config import PipelineConfig
from detopt.problem import Problem
from detopt.space import ChoiceParameter, FixedParameter, FloatParameter, IntParameter, Space
from detopt.task import Resources
from detopt.units import parse_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ParameterConfig(_Strict):
    """One design parameter."""

    name: str
    type: Literal["float", "int", "choice", "fixed"] = "float"
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: list[Any] | None = None
    ordered: bool | None = None
    value: Any = None
    unit: str = ""
    description: str = ""
    # geometry edit applied by a pipeline (problem.pipeline.geometry): value written as value*unit
    file: str | None = Field(None, description="XML file inside the pipeline's geometry folder")
    xpath: str | None = Field(None, description="XPath selecting exactly one element")
    attribute: str | None = Field(None, description="attribute to set (default: element text)")

    @model_validator(mode="after")
    def _fields_match_type(self) -> ParameterConfig:
        if self.type in ("float", "int"):
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.type} parameter needs 'low' and 'high'")
            if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
                raise ValueError("an int parameter needs whole-number bounds")
        if self.type == "choice" and not self.values:
            raise ValueError("a choice parameter needs 'values'")
        if self.type == "fixed" and self.value is None:
            raise ValueError("a fixed parameter needs 'value'")
        return self

    def build(self) -> Any:
        if self.type == "float":
            return FloatParameter(self.name, float(self.low), float(self.high), self.log,  # type: ignore[arg-type]
                                  self.unit, self.description)
        if self.type == "int":
            return IntParameter(self.name, int(self.low), int(self.high), self.log,  # type: ignore[arg-type]
                                self.unit, self.description)
        if self.type == "choice":
            return ChoiceParameter(self.name, tuple(self.values or ()), self.ordered, self.description)
        return FixedParameter(self.name, self.value, self.description)


class ObjectiveConfig(_Strict):
    name: str
    direction: Literal["minimize", "maximize"] | None = None  # custom problems: minimize
    threshold: float | None = None
    description: str = ""


class ResourcesConfig(_Strict):
    cores: int = Field(1, ge=1)
    memory: str | int | None = None
    walltime: str | float | None = None
    gpus: int = Field(0, ge=0)
    env: dict[str, str] = Field(default_factory=dict)


class ProblemConfig(_Strict):
    """Either a built-in problem (``builtin`` + ``options``) or a custom one."""

    builtin: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    evaluate: str | None = Field(None, description="'module:function' of the evaluation")
    evaluate_options: dict[str, Any] = Field(default_factory=dict)
    parameters: list[ParameterConfig] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    check: str | None = Field(None, description=(
        "'module:function' of a cheap design check (e.g. an overlap test): called with a "
        "design's parameters, it returns None when the design may run and the reason when "
        "not; optimizers propose only designs that pass it"))
    objectives: list[ObjectiveConfig] = Field(default_factory=list)
    outcome_constraints: list[str] = Field(default_factory=list)
    resources: ResourcesConfig | None = None
    pipeline: PipelineConfig | None = Field(None, description=(
        "a chain of stages instead of 'evaluate' (docs/pipelines.md)"))

    @model_validator(mode="after")
    def _builtin_or_custom(self) -> ProblemConfig:
        if self.pipeline is not None and (self.evaluate is not None or self.builtin is not None):
            raise ValueError("give either 'pipeline' or 'evaluate'/'builtin', not both")
        if self.builtin is None:
            needed = ("parameters", "objectives") if self.pipeline else ("evaluate", "parameters",
                                                                         "objectives")
            missing = [f for f in needed if not getattr(self, f)]
            if missing:
                raise ValueError(f"a custom problem needs '{missing[0]}' (or use 'builtin')")
        return self


class OptimizerConfig(_Strict):
    name: str = "sobol"
    seed: int = 0
    options: dict[str, Any] = Field(default_factory=dict)


class RunnerConfig(BaseModel):
    """``kind`` plus the runner's own options (checked by the runner)."""

    model_config = ConfigDict(extra="allow")
    kind: str = "local"

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class StudyLoopConfig(_Strict):
    max_trials: int | None = Field(None, ge=1)
    concurrency: int | None = Field(None, ge=1)
    max_wall_time: str | float | None = None
    target_normalized_hv: float | None = Field(None, gt=0)
    target_hv: float | None = None
    stall_trials: int | None = Field(None, ge=1)
    stall_tolerance: float = Field(1e-6, ge=0)
    max_retries: int = Field(0, ge=0)
    on_failure: Literal["fail", "penalty"] = "fail"
    penalty: dict[str, float] | None = None
    max_failed_trials: int | None = Field(None, ge=1)
    prefetch: bool = True
    reference_point: list[float] | None = None
    initial_designs: list[dict[str, Any]] = Field(default_factory=list, description=(
        "designs evaluated first, e.g. the current baseline; missing parameters are an error"))


class ReportConfig(_Strict):
    directory: str | None = None  # default: <storage folder>/<study name>-report


class StudyConfig(_Strict):
    """The whole configuration file."""

    name: str = Field(..., min_length=1, max_length=200)
    storage: str | None = None  # URL or path; default: runs/<name>.db next to the file
    problem: ProblemConfig
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    study: StudyLoopConfig = Field(default_factory=StudyLoopConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    base_dir: str | None = Field(None, description="folder that relative paths start from")

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, v: str) -> str:
        if any(c in v for c in "/\\\n\t"):
            raise ValueError("use letters, digits, '-', '_' and '.' only")
        return v


# --------------------------------------------------------------------------- loading
def _pydantic_error(exc: ValidationError, prefix: str = "") -> ConfigError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"] if p != "__root__")
    where = f"{prefix}{where}" if where else (prefix.rstrip(".") or "config")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return ConfigError("unknown field.", field=where, fix="check the spelling against "
                           "docs/configuration.md (or run 'detopt validate')")
    if err["type"] == "missing":
        return ConfigError("this field is required.", field=where, fix="add it")
    return ConfigError(f"{message}.", field=where, fix="see docs/configuration.md")


def parse_config(data: Mapping[str, Any], base_dir: str | Path | None = None) -> StudyConfig:
    """Validate a configuration mapping (e.g. parsed YAML)."""
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping of fields.", field="config",
                          fix="start the file with 'name: ...' and 'problem: ...'")
    try:
        config = StudyConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise _pydantic_error(exc) from None
    if base_dir is not None and config.base_dir is None:
        config.base_dir = str(Path(base_dir).resolve())
    return config


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a YAML configuration file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such file: {path}.", field="CONFIG", fix="give the path of a YAML file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path.name}: {problem}{where}.", field="CONFIG",
                          fix="fix the YAML syntax (indentation, colons, quotes)") from None
    return parse_config(data or {}, base_dir=path.parent)


# --------------------------------------------------------------------------- building
def build_problem(config: StudyConfig) -> Problem:
    """The :class:`Problem` a configuration describes."""
    from detopt.problems.registry import build_problem as builtin

    p = config.problem
    if config.base_dir and config.base_dir not in sys.path:
        sys.path.insert(0, config.base_dir)  # custom evaluation modules next to the config
    if p.builtin is not None:
        problem = builtin(p.builtin, p.options)
        problem.objectives = _customized_objectives(problem.objectives, p)
        if p.resources is not None:
            problem.resources = _resources(p.resources)
        if p.evaluate_options:
            problem.evaluate_options = {**problem.evaluate_options, **p.evaluate_options}
        return problem
    space = _wrap("problem", lambda: Space([q.build() for q in p.parameters], p.constraints,
                                           check=p.check))
    objectives = _wrap("problem", lambda: ObjectiveSet(
        [Objective(o.name, o.direction or "minimize", o.threshold, o.description)
         for o in p.objectives],
        p.outcome_constraints))
    evaluation = None
    if p.pipeline is not None:
        from detopt.pipeline import build_evaluation

        evaluation = build_evaluation(p.pipeline, p.parameters, space,
                                      objectives.required_metrics, config.base_dir)
    else:
        edit = next((i for i, q in enumerate(p.parameters) if q.file or q.xpath), None)
        if edit is not None:
            raise ConfigError("geometry edits (file, xpath) are applied by a pipeline.",
                              field=f"problem.parameters[{edit}]",
                              fix="add problem.pipeline with a geometry folder, or drop file/xpath")
    return Problem(name=p.name or config.name, space=space, objectives=objectives,
                   evaluate=p.evaluate, evaluate_options=p.evaluate_options,
                   resources=_resources(p.resources) if p.resources else Resources(),
                   evaluation=evaluation)


def _customized_objectives(built_in: ObjectiveSet, p: ProblemConfig) -> ObjectiveSet:
    """A built-in problem's objectives with the config's per-name overrides (direction,
    threshold) and extra outcome constraints."""
    known = {o.name: o for o in built_in}
    for i, o in enumerate(p.objectives):
        if o.name not in known:
            raise ConfigError(f"the built-in problem has no objective {o.name!r}.",
                              field=f"problem.objectives[{i}].name", fix=f"use one of: {', '.join(known)}")
        base = known[o.name]
        known[o.name] = Objective(o.name, o.direction or base.direction,
                                  o.threshold if o.threshold is not None else base.threshold,
                                  base.description)
    return ObjectiveSet(list(known.values()),
                        list(built_in.outcome_constraints) + list(p.outcome_constraints))


def _wrap(prefix: str, build: Any) -> Any:
    """Prefix the field of a ConfigError raised while building a section."""
    try:
        return build()
    except ConfigError as exc:
        if exc.field and not exc.field.startswith(prefix):
            exc = ConfigError(exc.message, field=f"{prefix}.{exc.field}", fix=exc.fix)
        raise exc from None


def _resources(r: ResourcesConfig) -> Resources:
    return Resources.from_user(cores=r.cores, memory=r.memory, walltime=r.walltime, gpus=r.gpus,
                               env=r.env)


def storage_target(config: StudyConfig) -> str:
    """The storage URL of a configuration (default ``runs/<name>.db`` next to the file)."""
    from detopt.storage import storage_url

    return storage_url(config.storage or f"runs/{config.name}.db", base_dir=config.base_dir)


def study_settings(config: StudyConfig) -> Any:
    from detopt.settings import StudySettings

    s = config.study
    return StudySettings(
        max_trials=s.max_trials, concurrency=s.concurrency,
        max_wall_time=parse_duration(s.max_wall_time, field="study.max_wall_time"),
        target_normalized_hv=s.target_normalized_hv, target_hv=s.target_hv,
        stall_trials=s.stall_trials, stall_tolerance=s.stall_tolerance, max_retries=s.max_retries,
        on_failure=s.on_failure, penalty=s.penalty, max_failed_trials=s.max_failed_trials,
        prefetch=s.prefetch, reference_point=s.reference_point)


def validate(config: StudyConfig) -> Problem:
    """Check everything that can be checked without running: problem, optimizer, settings."""
    from detopt.optimizers.base import make_optimizer
    from detopt.runners import runner_class
    from detopt.task import resolve

    problem = build_problem(config)
    if problem.evaluation is None:
        resolve(problem.function)
    make_optimizer(config.optimizer.name, problem.space, problem.objectives,
                   seed=config.optimizer.seed, options=config.optimizer.options)
    runner_class(config.runner.kind)
    settings = study_settings(config)
    settings.check(problem)
    problem.objectives.reference_point(settings.reference_point)
    for i, design in enumerate(config.study.initial_designs):
        problem.space.validate_design(design, field_prefix=f"study.initial_designs[{i}]")
    return problem


__all__ = ["DetoptError", "StudyConfig", "build_problem", "load_config", "parse_config",
           "storage_target", "study_settings", "validate"]
