"""A pipeline compiled from its configuration: templates, job lists, and the checks that run
before any trial (every template renders, every name exists, metrics point at real outputs).

The plan renders the plain-data spec of each job (:func:`detopt.pipeline.job.run_stage_job`)
from a trial's parameters and the outputs of the stages before.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detopt.errors import ConfigError
from detopt.pipeline.config import MetricConfig, PipelineConfig, StageConfig
from detopt.pipeline.geometry import XmlEdit, check_edits
from detopt.pipeline.outputs import output_format
from detopt.pipeline.templates import (
    Argument,
    Placeholder,
    TemplateRenderError,
    Value,
    compile_command,
    render_command,
)
from detopt.space import Space
from detopt.task import Resources
from detopt.units import parse_duration, parse_memory_mb


@dataclass
class Stage:
    """One stage with its templates compiled."""

    config: StageConfig
    index: int
    where: str  # the config field, for messages
    command: list[Any] | None
    kwargs: Value | None
    env: dict[str, Argument]
    setup: tuple[Argument, list[Argument]] | None
    outputs: dict[str, tuple[Argument, dict[str, Any]]]
    resources: Resources
    timeout: float | None
    min_free_mb: int | None

    @property
    def name(self) -> str:
        return self.config.name

    def payloads(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The jobs' payloads for a design (one dict per job)."""
        jobs = self.config.jobs
        if isinstance(jobs, int):
            return [{} for _ in range(jobs)]
        if isinstance(jobs, list):
            return [dict(p) for p in jobs]
        if hasattr(jobs, "product"):
            keys = list(jobs.product)
            return [dict(zip(keys, combo)) for combo in itertools.product(*jobs.product.values())]
        from detopt.task import resolve

        made = resolve(jobs.from_)(params=dict(params), stage=self.name)
        if not isinstance(made, list) or not made or not all(isinstance(p, Mapping) for p in made):
            raise ConfigError(f"{jobs.from_} returned {type(made).__name__}, expected a non-empty "
                              "list of payload dicts.", field=f"{self.where}.jobs.from",
                              fix="return e.g. [{'point': 0}, {'point': 1}]")
        return [dict(p) for p in made]


class Plan:
    """The compiled pipeline of a problem.

    Args:
        config: the ``problem.pipeline`` section.
        space: the design space (sample designs for the checks, units).
        edits: geometry edits from the parameters.
        base_dir: the study file's folder (relative paths start there).
        required_metrics: what a result must contain (the objectives and constrained metrics).
    """

    def __init__(self, config: PipelineConfig, space: Space, edits: Sequence[XmlEdit],
                 base_dir: Path, required_metrics: Sequence[str]):
        self.config, self.space, self.edits = config, space, list(edits)
        self.base_dir = base_dir
        self.required_metrics = list(required_metrics)
        self.units = {p.name: getattr(p, "unit", "") for p in space.parameters}
        self.geometry_source: Path | None = None
        if config.geometry is not None:
            source = Path(config.geometry.source)
            self.geometry_source = source if source.is_absolute() else base_dir / source
            if not self.geometry_source.is_dir():
                raise ConfigError(f"the geometry folder {self.geometry_source} does not exist.",
                                  field="problem.pipeline.geometry.source",
                                  fix="give a folder relative to the study file")
            check_edits(self.geometry_source, self.edits)
        elif self.edits:
            raise ConfigError(f"parameter {self.edits[0].parameter!r} edits {self.edits[0].file!r}"
                              " but the pipeline has no geometry folder.",
                              field="problem.pipeline.geometry",
                              fix="add geometry: {source: <folder holding the XML files>}")
        self.stages = [self._compile(s, i) for i, s in enumerate(config.stages)]
        self.metrics = self._metric_sources()
        self.check()

    # ------------------------------------------------------------------------- compile
    def _compile(self, s: StageConfig, i: int) -> Stage:
        where = f"problem.pipeline.stages[{i}]"
        setup = None
        if s.setup is not None:
            assert not isinstance(s.setup, str)
            setup = (Argument(s.setup.script, f"{where}.setup.script"),
                     [Argument(a, f"{where}.setup.args[{j}]") for j, a in enumerate(s.setup.args)])
        outputs = {name: (Argument(o.path, f"{where}.outputs.{name}.path"),
                          o.model_dump(exclude={"path"}) | {"format": output_format(o.model_dump())})
                   for name, o in s.outputs.items()}
        if s.call:
            from detopt.task import resolve

            try:
                resolve(s.call)  # an unimportable callable fails now, not in every trial
            except ConfigError as exc:
                raise ConfigError(exc.message, field=f"{where}.call", fix=exc.fix) from None
        r = s.resources
        return Stage(
            config=s, index=i, where=where,
            command=compile_command(s.command, f"{where}.command") if s.command else None,
            kwargs=Value(s.kwargs, f"{where}.kwargs") if s.call else None,
            env={k: Argument(v, f"{where}.env.{k}") for k, v in s.env.items()},
            setup=setup, outputs=outputs,
            resources=Resources.from_user(cores=r.cores, memory=r.memory, walltime=r.walltime,
                                          gpus=r.gpus),
            timeout=parse_duration(s.timeout, field=f"{where}.timeout"),
            min_free_mb=parse_memory_mb(s.min_free_space if s.min_free_space is not None
                                        else self.config.min_free_space,
                                        field=f"{where}.min_free_space"))

    def _metric_sources(self) -> dict[str, MetricConfig] | None:
        """Per-metric sources, or ``None`` when the last stage's result holds the metrics."""
        names = {s.name: s for s in self.stages}
        if self.config.metrics is None:
            last = self.stages[-1]
            if not (isinstance(last.config.jobs, int) and last.config.jobs == 1):
                raise ConfigError(f"the last stage {last.name!r} runs several jobs, so its "
                                  "result cannot be the trial's metrics.",
                                  field="problem.pipeline.metrics",
                                  fix="add metrics: {name: {from: stage.output, combine: mean}} "
                                      "or end with a one-job stage")
            if last.config.call is None and "metrics" not in last.outputs:
                raise ConfigError("the pipeline does not say where the metrics come from.",
                                  field="problem.pipeline.metrics",
                                  fix="add metrics: {name: stage.output}, an output named "
                                      "'metrics' to the last stage, or end with a 'call' stage")
            return None
        for metric, source in self.config.metrics.items():
            assert isinstance(source, MetricConfig)
            for key, ref in (("from", source.from_), ("sem", source.sem)):
                if ref is None:
                    continue
                stage, _, rest = ref.partition(".")
                output = rest.split(".")[0]
                where = f"problem.pipeline.metrics.{metric}.{key}"
                if stage not in names:
                    raise ConfigError(f"no stage {stage!r} (in {ref!r}).", field=where,
                                      fix=f"write 'stage.output' with a stage of: {', '.join(names)}")
                if output != "result" and output not in names[stage].outputs:
                    raise ConfigError(f"stage {stage!r} declares no output {output!r}.", field=where,
                                      fix=f"use one of: {', '.join(names[stage].outputs) or 'none'}"
                                          " (or 'result' for a call stage)")
        missing = [m for m in self.required_metrics if m not in self.config.metrics]
        if missing:
            raise ConfigError(f"metric {missing[0]!r} has no source.", field="problem.pipeline.metrics",
                              fix=f"add {missing[0]}: <stage>.<output>")
        return dict(self.config.metrics)  # type: ignore[arg-type]

    # --------------------------------------------------------------------------- render
    def context(self, params: Mapping[str, Any], *, study: str, trial: Mapping[str, Any],
                geometry_dir: Path | None, stages: Mapping[str, Any]) -> dict[str, Any]:
        """The template names common to every job of a trial."""
        return {"params": dict(params), "units": dict(self.units), "trial": dict(trial),
                "study": study, "stages": dict(stages), "python": sys.executable,
                "config_dir": str(self.base_dir),
                "geometry": {"dir": str(geometry_dir) if geometry_dir else ""}}

    def job_spec(self, stage: Stage, k: int, payloads: Sequence[Mapping[str, Any]],
                 base: Mapping[str, Any], stage_dir: Path, trial_dir: Path) -> dict[str, Any]:
        """The plain-data spec of job ``k`` of ``stage`` (templates rendered)."""
        job_dir = stage_dir / f"j{k}"
        payload = dict(payloads[k])
        ctx = {**base, "stage": {"name": stage.name, "index": stage.index, "workdir": str(stage_dir)},
               "job": {"index": k, "count": len(payloads), "workdir": str(job_dir),
                       "payload": payload}, "payload": payload}
        env = {k_: a.render(ctx) for k_, a in stage.env.items()}
        geometry = self.config.geometry
        if geometry is not None and geometry.export_as:
            env.setdefault(geometry.export_as, base["geometry"]["dir"])
        c = stage.config
        spec: dict[str, Any] = {
            "stage": stage.name, "job": k, "cwd": str(job_dir), "trial_dir": str(trial_dir),
            "kind": "call" if c.call else "command",
            "outputs": {name: {**out, "path": path.render(ctx)}
                        for name, (path, out) in stage.outputs.items()},
            "timeout": stage.timeout, "gate": c.gate.model_dump() if c.gate else None,
        }
        if c.call:
            assert stage.kwargs is not None
            spec.update(call=c.call, kwargs=stage.kwargs.render(ctx))
            spec["resources_env"] = env
        else:
            assert stage.command is not None
            spec.update(argv=render_command(stage.command, ctx), env=env,
                        container=c.container.model_dump() if c.container else None,
                        setup={"script": stage.setup[0].render(ctx),
                               "args": [a.render(ctx) for a in stage.setup[1]]}
                        if stage.setup else None)
        return spec

    # --------------------------------------------------------------------------- checks
    def sample_design(self) -> dict[str, Any]:
        """A design to check templates with (the centre of the space)."""
        return self.space.decode(np.full(self.space.dim, 0.5))

    def check(self) -> None:
        """Render every template of every job with a sample design and placeholder outputs:
        an unknown name or a bad expression is a ConfigError now, not in trial 17."""
        params = self.sample_design()
        earlier: dict[str, Any] = {}
        root = Path("/detopt-check/t0/a1")
        for stage in self.stages:
            payloads = stage.payloads(params)
            base = self.context(params, study="check",
                                trial={"index": 0, "attempt": 1, "label": "check.t0.a1",
                                       "workdir": str(root),
                                       "design_file": str(root / "design.json")},
                                geometry_dir=root / "geometry" if self.geometry_source else None,
                                stages=earlier)
            try:
                for k in range(len(payloads)):
                    self.job_spec(stage, k, payloads, base, root / stage.name, root)
            except TemplateRenderError as exc:
                raise ConfigError(exc.message, field=exc.field, fix=exc.fix) from None
            earlier[stage.name] = placeholder_stage(stage, len(payloads), root / stage.name)


def placeholder_stage(stage: Stage, n_jobs: int, stage_dir: Path) -> dict[str, Any]:
    """What later templates see of a stage before it ran (for :meth:`Plan.check`)."""
    jobs = [{"index": k, "workdir": str(stage_dir / f"j{k}"), "payload": Placeholder("<payload>"),
             "outputs": {n: Placeholder(f"<{stage.name}.{n}>") for n in stage.outputs},
             "result": Placeholder(f"<{stage.name}.result>")} for k in range(n_jobs)]
    return stage_view(stage, stage_dir, jobs)


def stage_view(stage: Stage, stage_dir: Path, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """``stages.<name>`` in templates: its folder, its jobs, and its outputs (one value for a
    single job, a list in job order for a fan-out)."""
    single = len(jobs) == 1
    outputs = {n: (jobs[0]["outputs"].get(n) if single else [j["outputs"].get(n) for j in jobs])
               for n in stage.outputs}
    result = jobs[0]["result"] if single else [j["result"] for j in jobs]
    return {"workdir": str(stage_dir), "jobs": jobs, "outputs": outputs, "result": result}
