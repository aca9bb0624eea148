"""The ``problem.pipeline`` section of a study file (pydantic models, no heavy imports).

A pipeline is an ordered list of stages. Each stage runs one or more jobs (a fan-out); a job
is an argument list (``command``) or a Python callable (``call``). Every string in a command,
an environment value, an output path and a callable's keyword arguments is a Jinja2 template
rendered in a sandbox, one template per argument. See docs/pipelines.md.

Example::

    pipeline:
      geometry: {source: geometry}
      stages:
        - name: overlaps
          command: ["{{ python }}", "steps.py", "overlaps", "{{ geometry.dir }}/drich.xml"]
          gate: {require: "illegal overlaps/extrusions : 0", message: "overlaps"}
        - name: simulate
          jobs: {product: {point: [0, 1], species: [pi, K]}}
          command: ["{{ python }}", "steps.py", "simulate", "--point", "{{ payload.point }}"]
          resources: {cores: 1, memory: 2GB, walltime: 4h}
          outputs: {hits: {path: sim.root, format: root, tree: tracks, branch: n, reduce: mean}}
      metrics:
        photons: {from: simulate.hits, combine: mean}
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: names a stage may not take: they are top-level template names
RESERVED_NAMES = frozenset({"params", "units", "trial", "study", "stage", "job", "payload",
                            "stages", "geometry", "python", "config_dir", "item"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EachArgument(_Strict):
    """Several arguments from one list: ``{each: stages.simulate.outputs.file, arg: "{{ item }}"}``
    gives one argument per element (never split further)."""

    each: str = Field(..., description="a template expression giving a list")
    arg: str = Field("{{ item }}", description="template of one argument; the element is 'item'")


class OutputConfig(_Strict):
    """A file a job writes, and what to read from it."""

    path: str = Field(..., description="template; relative paths start in the job's directory")
    format: Literal["json", "yaml", "csv", "root", "text", "path"] | None = Field(
        None, description="default: from the file suffix (.json, .yaml/.yml, .csv, .root), else text")
    key: str | None = Field(None, description=(
        "json/yaml: dotted path (a.b.0); csv: column; root: 'tree/branch' (or tree + branch)"))
    tree: str | None = None
    branch: str | None = None
    pattern: str | None = Field(None, description="text: a regular expression; its first group "
                                "(or the whole match) is the value, as a number when it is one")
    reduce: Literal["none", "mean", "sum", "min", "max", "first", "last", "count"] = "none"

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return v


class GateConfig(_Strict):
    """When a job's outcome means the *design* is infeasible (never retried)."""

    exit_codes: list[int] = Field(default_factory=list, description="exit codes meaning infeasible")
    pattern: str | None = Field(None, description="infeasible when this regex matches the source")
    require: str | None = Field(None, description="infeasible when this regex does NOT match")
    source: str = Field("stdout", description="'stdout', 'stderr' or a file (relative to the "
                        "job's directory)")
    message: str = Field("the design failed the stage's gate", description="the reason stored")

    @model_validator(mode="after")
    def _something_to_check(self) -> GateConfig:
        if not (self.exit_codes or self.pattern or self.require):
            raise ValueError("a gate needs 'exit_codes', 'pattern' or 'require'")
        for text in (self.pattern, self.require):
            if text is not None:
                try:
                    re.compile(text)
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {text!r}: {exc}") from None
        if 0 in self.exit_codes:
            raise ValueError("exit code 0 cannot mean infeasible")
        return self


class ContainerConfig(_Strict):
    """Run the stage's command in a container; the trial directory is bound at the same path."""

    engine: Literal["apptainer", "singularity", "bwrap"]
    image: str = Field("/", description="apptainer/singularity: image (.sif, docker://...); "
                       "bwrap: the root filesystem directory (default: this machine's /, read-only)")
    binds: list[str] = Field(default_factory=list, description="'src[:dst[:ro]]' paths to bind")
    options: list[str] = Field(default_factory=list, description="extra engine arguments, as given")
    executable: str | None = Field(None, description="path of the engine (default: found on PATH)")

    @field_validator("binds")
    @classmethod
    def _binds_are_plain(cls, v: list[str]) -> list[str]:
        for b in v:
            parts = b.split(":")
            bad_mode = len(parts) == 3 and parts[2] not in ("ro", "rw")
            if not parts[0] or len(parts) > 3 or "," in b or bad_mode:
                raise ValueError(f"bind {b!r} is not 'src[:dst[:ro|rw]]' (no commas)")
        return v


class SetupConfig(_Strict):
    """A script sourced (bash ``.``) before the command, e.g. ``thisepic.sh``; its path and
    arguments reach bash as positional parameters, never as code."""

    script: str
    args: list[str] = Field(default_factory=list)


class StageResources(_Strict):
    cores: int = Field(1, ge=1)
    memory: str | int | None = None
    walltime: str | float | None = None
    gpus: int = Field(0, ge=0)


class JobProduct(_Strict):
    """One job per combination: ``{product: {point: [0, 1], species: [pi, K]}}`` -> 4 jobs."""

    product: dict[str, list[Any]]

    @field_validator("product")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not v or any(not values for values in v.values()):
            raise ValueError("every key of 'product' needs a non-empty list")
        return v


class JobFactory(_Strict):
    """Payloads computed per trial: ``module:function(params=..., stage=...)`` returns a list
    of dicts (called once at validation with a sample design)."""

    from_: str = Field(..., alias="from")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StageConfig(_Strict):
    """One step of the chain."""

    name: str
    description: str = ""
    command: list[str | EachArgument] | None = None
    call: str | None = Field(None, description="'module:function' called with 'kwargs'")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    jobs: int | list[dict[str, Any]] | JobProduct | JobFactory = Field(1, description=(
        "a count, a list of payloads, {product: {...}} or {from: module:function}"))
    max_parallel: int | None = Field(None, ge=1, description="jobs of this stage running at once")
    resources: StageResources = Field(default_factory=StageResources)
    retries: int = Field(0, ge=0, description="re-runs of a failed job (gates are never retried)")
    timeout: str | float | None = Field(None, description="time limit of the command in the job")
    env: dict[str, str] = Field(default_factory=dict)
    setup: SetupConfig | str | None = None
    container: ContainerConfig | None = None
    outputs: dict[str, OutputConfig] = Field(default_factory=dict)
    gate: GateConfig | None = None
    where: Literal["runner", "driver"] = Field("runner", description=(
        "'runner': every job is a runner call (a SLURM job, ...); 'driver': a thread of the driver"))
    min_free_space: str | int | None = Field(None, description="default: the pipeline's")

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        if not _NAME.match(v) or v in RESERVED_NAMES:
            raise ValueError("use letters, digits and '_' (not starting with a digit), "
                             f"and none of: {', '.join(sorted(RESERVED_NAMES))}")
        return v

    @field_validator("jobs")
    @classmethod
    def _jobs_positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("jobs must be at least 1")
        if isinstance(v, list) and (not v or not all(isinstance(p, dict) for p in v)):
            raise ValueError("a list of jobs needs at least one payload mapping")
        return v

    @field_validator("outputs")
    @classmethod
    def _output_names(cls, v: dict[str, OutputConfig]) -> dict[str, OutputConfig]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(f"output name {name!r}: use letters, digits and '_'")
        return v

    @model_validator(mode="after")
    def _command_or_call(self) -> StageConfig:
        if (self.command is None) == (self.call is None):
            raise ValueError("a stage needs exactly one of 'command' (an argument list) or 'call'")
        if self.command is not None and not self.command:
            raise ValueError("'command' is an empty list")
        if self.call is not None:
            for key in ("setup", "container", "gate", "timeout"):
                if getattr(self, key) is not None:
                    raise ValueError(f"'{key}' applies to commands only, not to 'call'")
            if self.where == "driver" and self.env:
                raise ValueError("'env' of a call stage run in the driver would change the "
                                 "driver's environment; use where: runner")
        if isinstance(self.setup, str):
            self.setup = SetupConfig(script=self.setup)
        return self


class MetricConfig(_Strict):
    """Where a metric comes from: ``stage.output`` (and its sem), combined over the jobs."""

    from_: str = Field(..., alias="from", description="'stage.output', or 'stage.output.key' "
                       "for a key inside it ('stage.result.f1' for a call stage's return value)")
    sem: str | None = Field(None, description="'stage.output' holding the standard error")
    combine: Literal["only", "mean", "sum", "min", "max"] = Field(
        "only", description="how the jobs of a fan-out stage combine ('only': one job)")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GeometryConfig(_Strict):
    """The detector description folder that every trial gets its own edited copy of."""

    source: str = Field(..., description="folder (relative to the study file)")
    mode: Literal["copy", "symlink"] = Field("copy", description=(
        "'symlink': only edited files are copied, the rest are links (large install trees)"))
    export_as: str | None = Field(None, description="environment variable set to the trial's "
                                  "geometry folder in every stage (e.g. DETECTOR_PATH)")


class CleanupConfig(_Strict):
    remove: list[str] = Field(default_factory=list, description=(
        "globs (relative to the attempt's folder) removed once a trial's metrics are collected, "
        "e.g. '**/*.root'; job logs are always kept"))
    keep_failed: bool = Field(True, description="false: also remove them for failed trials")


class PipelineConfig(_Strict):
    """``problem.pipeline``: the chain of stages that evaluates one design."""

    stages: list[StageConfig] = Field(..., min_length=1)
    geometry: GeometryConfig | None = None
    metrics: dict[str, MetricConfig | str] | None = Field(None, description=(
        "metric -> 'stage.output' or {from, sem, combine}; default: the last stage's 'metrics' "
        "output, or the return value of a last 'call' stage"))
    workdir: str | None = Field(None, description="default: work/<study name> next to the file")
    cleanup: CleanupConfig = Field(default_factory=CleanupConfig)
    min_free_space: str | int | None = Field("100MB", description="checked before every stage")

    @model_validator(mode="after")
    def _unique_stage_names(self) -> PipelineConfig:
        names = [s.name for s in self.stages]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"stage name {dup[0]!r} is used twice")
        if self.metrics is not None:
            self.metrics = {k: MetricConfig(**{"from": v}) if isinstance(v, str) else v
                            for k, v in self.metrics.items()}
        return self


__all__ = ["CleanupConfig", "ContainerConfig", "EachArgument", "GateConfig", "GeometryConfig",
           "JobFactory", "JobProduct", "MetricConfig", "OutputConfig", "PipelineConfig",
           "SetupConfig", "StageConfig", "StageResources"]
