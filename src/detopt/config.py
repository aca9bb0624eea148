"""The YAML study configuration: schema (pydantic), loading, and assembling its parts.

A configuration is stored with its study, so ``detopt resume`` can rebuild the problem, the
optimizer and the runner without the original file. Paths in a file are relative to the file.
The schema reuses the objects it describes (parameters, resources, study settings, each
plugin's options), so every field and default is written once; :func:`assemble` is the one
place that turns a configuration into a problem, settings and an optimizer, for ``validate``
and ``run`` alike.

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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    field_validator,
    model_validator,
)

from detopt.errors import ConfigError, DetoptError
from detopt.objectives import Objective, ObjectiveSet
from detopt.pipeline.config import PipelineConfig
from detopt.problem import Problem
from detopt.settings import StudySettings
from detopt.space import ChoiceParameter, FixedParameter, FloatParameter, IntParameter, Space
from detopt.task import Resources


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _default_type(value: Any) -> Any:
    if isinstance(value, Mapping) and "type" not in value:
        return {**value, "type": "float"}
    return value


#: one entry of ``problem.parameters``: the parameter classes themselves, told apart by ``type``
ParameterSpec = Annotated[
    Annotated[Union[FloatParameter, IntParameter, ChoiceParameter, FixedParameter],
              Field(discriminator="type")],
    BeforeValidator(_default_type)]


_EDIT_KEYS = ("file", "xpath", "attribute")


class GeometryEdit(_Strict):
    """Where a pipeline writes a parameter's value: an element (or its attribute) of an XML
    file in the pipeline's geometry folder; the value is written as ``value*unit``."""

    file: str | None = Field(None, description="XML file inside the pipeline's geometry folder")
    xpath: str | None = Field(None, description="XPath selecting exactly one element")
    attribute: str | None = Field(None, description="attribute to set (default: element text)")


class ObjectiveConfig(_Strict):
    """An objective of a custom problem, or an override of a built-in one's (unset fields keep
    the built-in value)."""

    name: str
    direction: Literal["minimize", "maximize"] | None = None  # custom problems: minimize
    threshold: float | None = None
    description: str | None = None
    unit: str | None = None


class ProblemConfig(_Strict):
    """Either a built-in (plugin) problem (``builtin`` + ``options``) or a custom one."""

    builtin: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    evaluate: str | None = Field(None, description="'module:function' of the evaluation")
    evaluate_options: dict[str, Any] = Field(default_factory=dict)
    parameters: list[ParameterSpec] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    check: str | None = Field(None, description=(
        "'module:function' of a cheap design check (e.g. an overlap test): called with a "
        "design's parameters, it returns None when the design may run and the reason when "
        "not; optimizers propose only designs that pass it"))
    objectives: list[ObjectiveConfig] = Field(default_factory=list)
    outcome_constraints: list[str] = Field(default_factory=list)
    resources: Resources | None = None
    pipeline: PipelineConfig | None = Field(None, description=(
        "a chain of stages instead of 'evaluate' (docs/pipelines.md)"))
    geometry_edits: dict[str, GeometryEdit] = Field(default_factory=dict, description=(
        "where a pipeline writes each parameter's value (written on the parameter itself as "
        "file/xpath/attribute; collected here)"))

    @model_validator(mode="before")
    @classmethod
    def _collect_geometry_edits(cls, data: Any) -> Any:
        """``file``/``xpath``/``attribute`` on a parameter entry are a pipeline's geometry edit,
        not part of the design space: they move to ``geometry_edits``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("parameters"), list):
            return data
        edits = dict(data.get("geometry_edits") or {})
        parameters = []
        for entry in data["parameters"]:
            if isinstance(entry, Mapping) and any(k in entry for k in _EDIT_KEYS):
                edits[str(entry.get("name"))] = {k: entry[k] for k in _EDIT_KEYS if k in entry}
                entry = {k: v for k, v in entry.items() if k not in _EDIT_KEYS}
            parameters.append(entry)
        return {**data, "parameters": parameters, "geometry_edits": edits}

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
    seed: NonNegativeInt = 0
    options: dict[str, Any] = Field(default_factory=dict)


class RunnerConfig(BaseModel):
    """``kind`` plus the runner's own options (validated by the runner's ``Options``)."""

    model_config = ConfigDict(extra="allow")
    kind: str = "local"

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ReportConfig(_Strict):
    directory: str | None = None  # default: <storage folder>/<study name>-report


class StudyConfig(_Strict):
    """The whole configuration file."""

    name: str = Field(..., min_length=1, max_length=200)
    storage: str | None = None  # URL or path; default: runs/<name>.db next to the file
    problem: ProblemConfig
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    study: StudySettings = Field(default_factory=StudySettings)
    report: ReportConfig = Field(default_factory=ReportConfig)
    base_dir: str | None = Field(None, description="folder that relative paths start from")

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, v: str) -> str:
        if any(c in v for c in "/\\\n\t"):
            raise ValueError("use letters, digits, '-', '_' and '.' only")
        return v

    @property
    def search_path(self) -> tuple[str, ...]:
        """Folders the user's own modules (evaluation, design check) are imported from."""
        return (self.base_dir,) if self.base_dir else ()


# --------------------------------------------------------------------------- loading
def _pydantic_error(exc: ValidationError, prefix: str = "") -> ConfigError:
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if p not in ("__root__", "float", "int", "choice", "fixed")]
    where = ".".join(str(p) for p in loc)
    where = f"{prefix}{where}" if where else (prefix.rstrip(".") or "config")
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return ConfigError("unknown field.", field=where, fix="check the spelling against "
                           "docs/configuration.md (or run 'detopt validate')")
    if err["type"] in ("missing", "missing_argument"):
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
    """The :class:`Problem` a configuration describes (the user's modules are imported from
    the config's folder, without changing ``sys.path``)."""
    from detopt.problems.registry import build_problem as builtin
    from detopt.task import Task, lookup, resolve

    p = config.problem
    if p.builtin is not None:
        problem = builtin(p.builtin, p.options)
        problem.objectives = _customized_objectives(problem.objectives, p)
        if p.resources is not None:
            problem.resources = p.resources
        if p.evaluate_options:
            problem.evaluate_options = {**problem.evaluate_options, **p.evaluate_options}
        return problem
    check = None
    if p.check is not None:
        check = _wrap("problem.check", lambda: resolve(p.check, config.search_path))
    space = _wrap("problem", lambda: Space(list(p.parameters), p.constraints, check=check))
    space.check_reference = p.check
    objectives = _wrap("problem", lambda: ObjectiveSet(
        [Objective(o.name, o.direction or "minimize", o.threshold, o.description or "",
                   o.unit or "") for o in p.objectives],
        p.outcome_constraints))
    evaluation = None
    if p.pipeline is not None:
        from detopt.pipeline import build_evaluation

        evaluation = build_evaluation(p.pipeline, _edit_specs(p), space,
                                      objectives.required_metrics, config.base_dir)
    elif p.geometry_edits:
        edited = [i for i, q in enumerate(p.parameters) if q.name in p.geometry_edits]
        raise ConfigError("geometry edits (file, xpath) are applied by a pipeline.",
                          field=f"problem.parameters[{edited[0] if edited else 0}]",
                          fix="add problem.pipeline with a geometry folder, or drop file/xpath")
    task = None
    if evaluation is None:
        function = _wrap("problem", lambda: lookup(p.evaluate, config.search_path))  # import now
        task = function if isinstance(function, Task) else None
    return Problem(name=p.name or config.name, space=space, objectives=objectives,
                   evaluate=p.evaluate, evaluate_options=p.evaluate_options,
                   resources=p.resources or (task.resources if task else Resources()),
                   retries=task.retries if task else None, search_path=config.search_path,
                   evaluation=evaluation)


def _edit_specs(p: ProblemConfig) -> list[SimpleNamespace]:
    """Per parameter (in order, for error locations): name, unit and its geometry edit."""
    out = []
    for q in p.parameters:
        edit = p.geometry_edits.get(q.name)
        out.append(SimpleNamespace(name=q.name, unit=getattr(q, "unit", ""),
                                   file=edit.file if edit else None,
                                   xpath=edit.xpath if edit else None,
                                   attribute=edit.attribute if edit else None))
    return out


def _customized_objectives(built_in: ObjectiveSet, p: ProblemConfig) -> ObjectiveSet:
    """A built-in problem's objectives with the config's per-name overrides and extra outcome
    constraints."""
    known = {o.name: o for o in built_in}
    for i, o in enumerate(p.objectives):
        if o.name not in known:
            raise ConfigError(f"the built-in problem has no objective {o.name!r}.",
                              field=f"problem.objectives[{i}].name", fix=f"use one of: {', '.join(known)}")
        base = known[o.name]
        known[o.name] = Objective(o.name, o.direction or base.direction,
                                  o.threshold if o.threshold is not None else base.threshold,
                                  o.description if o.description is not None else base.description,
                                  o.unit if o.unit is not None else base.unit)
    return ObjectiveSet(list(known.values()),
                        list(built_in.outcome_constraints) + list(p.outcome_constraints))


def _wrap(prefix: str, build: Any) -> Any:
    """Prefix the field of a ConfigError raised while building a section."""
    try:
        return build()
    except ConfigError as exc:
        if exc.field and not exc.field.startswith(prefix.split(".")[0]):
            exc = ConfigError(exc.message, field=f"{prefix}.{exc.field}", fix=exc.fix)
        elif not exc.field:
            exc = ConfigError(exc.message, field=prefix, fix=exc.fix)
        raise exc from None


def storage_target(config: StudyConfig) -> str:
    """The storage URL of a configuration (default ``runs/<name>.db`` next to the file)."""
    from detopt.storage import storage_url

    return storage_url(config.storage or f"runs/{config.name}.db", base_dir=config.base_dir)


def study_settings(config: StudyConfig) -> StudySettings:
    return config.study.model_copy(deep=True)


@dataclass
class Assembly:
    """The parts of a study a configuration describes (everything but storage and runner)."""

    problem: Problem
    settings: StudySettings
    reference_point: np.ndarray | None
    optimizer: Any            # detopt.optimizers.base.Optimizer
    runner_options: Any       # the runner's validated Options


def assemble(config: StudyConfig) -> Assembly:
    """Build and check everything a run needs, without starting anything: the problem (its
    evaluation imported), the settings, the optimizer (with the study's reference point) and
    the runner's options. ``detopt validate`` and ``detopt run`` both go through here."""
    from detopt.optimizers.base import make_optimizer
    from detopt.runners import runner_options
    from detopt.task import resolve

    problem = build_problem(config)
    if problem.evaluation is None and config.problem.builtin is not None:
        resolve(problem.function, problem.search_path)  # unimportable: a config error now
    settings = study_settings(config)
    settings.check(problem)
    reference = _wrap("study.reference_point",
                      lambda: problem.objectives.reference_point(settings.reference_point))
    optimizer = make_optimizer(config.optimizer.name, problem.space, problem.objectives,
                               seed=config.optimizer.seed, options=config.optimizer.options,
                               reference_point=reference)
    options = runner_options(config.runner.kind, config.runner.options())
    for i, design in enumerate(settings.initial_designs):
        problem.space.validate_design(design, field_prefix=f"study.initial_designs[{i}]")
    return Assembly(problem, settings, reference, optimizer, options)


def validate(config: StudyConfig) -> Problem:
    """Check everything that can be checked without running; returns the problem."""
    return assemble(config).problem


__all__ = ["Assembly", "DetoptError", "StudyConfig", "assemble", "build_problem", "load_config",
           "parse_config", "storage_target", "study_settings", "validate"]
