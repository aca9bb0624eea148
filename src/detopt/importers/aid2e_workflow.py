"""AID2E workflows and objective plans → ``problem.pipeline`` stages.

Branches run in order, and so do their stages (as upstream). A stage's first job is its
template (upstream uses only the first job too); its ``rule`` (or ``command``) is split into an
argument list (``shlex``, POSIX rules) and every ``{{...}}`` placeholder becomes a detopt
template: ``python_executable`` → ``python``, ``payload[trial_index]`` → ``trial.index``,
``design_point[g.x]`` → ``params["x"]``, ``job_index`` → ``job.index``, ... Placeholders with no
detopt equivalent are written as ``<unmapped:...>`` and reported. ``job_factory`` range → a job
count; ``parallelism`` → max_parallel / retries / timeout; job outputs → stage outputs.
Objective plans (``steps``/``multi_steps``) become stages after the workflow's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detopt.errors import ConfigError

DTLZ2_CALL = "detopt.importers.aid2e_dtlz2:evaluate"
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_SHELL = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}


def select_workflow(merged: Mapping[str, Any], name: str | None) -> Mapping[str, Any] | None:
    section = merged.get("workflows")
    if isinstance(section, Mapping):
        workflows = section.get("workflows") or []
    elif isinstance(section, list):
        workflows = section
    else:
        workflows = []
    if not workflows:
        return None
    if name is None:
        return workflows[0]
    for w in workflows:
        if w.get("name") == name:
            return w
    raise ConfigError(f"no workflow named {name!r} (there: "
                      f"{', '.join(str(w.get('name')) for w in workflows)}).", field="--workflow",
                      fix="name one of them")


def stage_scheduler(workflow: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The scheduler the workflow's jobs run on: the workflow's, else its first branch's."""
    if not workflow:
        return None
    if workflow.get("scheduler"):
        return workflow["scheduler"]
    for branch in workflow.get("branches") or []:
        if branch.get("scheduler"):
            return branch["scheduler"]
    return None


def _identifier(text: str) -> str:
    out = re.sub(r"\W+", "_", str(text)).strip("_") or "stage"
    return f"s_{out}" if out[0].isdigit() else out


def _is_dtlz2(*texts: Any) -> bool:
    return any("dtlz2" in str(t).lower() for t in texts if t)


class _Translator:
    """AID2E placeholders → detopt templates, for one stage."""

    def __init__(self, stage: str, names: Mapping[str, str], config_path: Path,
                 has_geometry: bool, source: Path, key: str, notes: Any):
        self.stage, self.names, self.config_path = stage, names, config_path
        self.has_geometry, self.source, self.key, self.notes = has_geometry, source, key, notes
        self.payload_keys: set[str] = set()

    def expression(self, name: str) -> str | None:
        simple = {"python_executable": "{{ python }}", "repo_root": "{{ config_dir }}",
                  "stage_id": self.stage, "job_index": "{{ job.index }}",
                  "output_dir": "{{ trial.workdir }}", "design_file": "{{ trial.design_file }}",
                  "workflow[trial_index]": "{{ trial.index }}",
                  "workflow[config_dir]": "{{ config_dir }}",
                  "workflow[log_dir]": "{{ trial.workdir }}/logs",
                  "payload[trial_index]": "{{ trial.index }}",
                  "payload[output_dir]": "{{ trial.workdir }}",
                  "payload[job_index]": "{{ job.index }}",
                  "payload[config_path]": str(self.config_path)}
        if name in ("geometry_dir", "prepared_geometry_dir"):
            if self.has_geometry:
                return "{{ geometry.dir }}"
            self.notes.cannot(self.source, self.key, f"{{{{{name}}}}} needs a geometry folder "
                              f"(--geometry DIR); written as <unmapped:{name}>")
            return f"<unmapped:{name}>"
        if name in simple:
            if name == "repo_root":
                self.notes.changed_(self.source, self.key, "{{repo_root}} → the study file's "
                                    "folder ({{ config_dir }}): put the upstream scripts there")
            if name == "payload[config_path]":
                self.notes.changed_(self.source, self.key, "{{payload[config_path]}} → the "
                                    f"original file {self.config_path} (upstream scripts read it)")
            return simple[name]
        match = re.fullmatch(r"design_point\[['\"]?([^\]'\"]+)['\"]?\]", name)
        if match and match[1] in self.names:
            return '{{ params["%s"] }}' % self.names[match[1]]
        match = re.fullmatch(r"payload\[['\"]?(\w+)['\"]?\]", name)
        if match and match[1] in self.payload_keys:
            return "{{ payload.%s }}" % match[1]
        return None

    def text(self, text: str) -> str:
        """One argument's text with its placeholders translated."""
        def replace(m: re.Match[str]) -> str:
            got = self.expression(m[1].strip())
            if got is None:
                self.notes.cannot(self.source, self.key, f"placeholder {{{{{m[1]}}}}} has no "
                                  f"detopt equivalent; written as <unmapped:{m[1]}>")
                return f"<unmapped:{m[1]}>"
            return got

        escaped = text.replace("{%", "{{ '{%' }}").replace("{#", "{{ '{#' }}")
        return _PLACEHOLDER.sub(replace, escaped)

    def argv(self, rule: str, command: str) -> list[str] | None:
        rule = rule.replace("{{command}}", command).replace("{{ command }}", command)
        try:
            tokens = shlex.split(rule)
        except ValueError as exc:
            self.notes.cannot(self.source, self.key, f"cannot split the rule into arguments ({exc})")
            return None
        shell = [t for t in tokens if t in _SHELL]
        if shell:
            self.notes.cannot(self.source, self.key, f"the rule uses shell syntax ({shell[0]!r}); "
                              "detopt runs argument lists, never a shell: split it into stages "
                              "or put it in a script; stage left out")
            return None
        if any(re.search(r"\$\{?\w+", t) for t in tokens):
            self.notes.changed_(self.source, self.key, "shell variables ($NAME) are not expanded "
                                "(no shell); they reach the program as written")
        return [self.text(t) for t in tokens]


def _resources(job: Mapping[str, Any]) -> dict[str, Any]:
    r = job.get("resources") or {}
    out: dict[str, Any] = {}
    for keys, target, cast in ((("cores", "cpus", "cpus_per_task"), "cores", int),
                               (("memory", "mem"), "memory", str),
                               (("walltime", "time"), "walltime", str)):
        for k in keys:
            if r.get(k) is not None:
                out[target] = cast(r[k])
                break
    return out


def _outputs(specs: Sequence[Any], tr: _Translator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs or []:
        spec = {"path": spec} if isinstance(spec, str) else dict(spec)
        path = str(spec.get("path") or "")
        name = _identifier(Path(_PLACEHOLDER.sub("", path)).stem or "output")
        entry: dict[str, Any] = {"path": tr.text(path)}
        if spec.get("format") in ("json", "yaml", "csv", "root"):
            entry["format"] = spec["format"]
        out[name if name not in out else f"{name}_{len(out)}"] = entry
    return out


def _workflow_stages(workflow: Mapping[str, Any], wsource: Path, names: Mapping[str, str],
                     has_geometry: bool, runner_kind: str, epic: Mapping[str, Any], notes: Any
                     ) -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = []
    branches = workflow.get("branches") or []
    for b, branch in enumerate(branches):
        for s, stage in enumerate(branch.get("stages") or []):
            key = f"workflows.{workflow.get('name')}.branches[{b}].stages[{s}] ({stage.get('name')})"
            name = _identifier(stage.get("name") or f"stage{s}")
            if len(branches) > 1:
                name = _identifier(f"{branch.get('name') or b}_{name}")
            stages += _stage(stage, name, key, wsource, names, has_geometry, runner_kind, epic,
                             notes)
            plan = stage.get("objective_plan")
            if plan:
                stages += plan_stages(plan, name, wsource, notes, f"{key}.objective_plan")
    return stages


def _stage(stage: Mapping[str, Any], name: str, key: str, source: Path, names: Mapping[str, str],
           has_geometry: bool, runner_kind: str, epic: Mapping[str, Any], notes: Any
           ) -> list[dict[str, Any]]:
    """The stage(s) of one upstream stage: one, or one per stack layer."""
    jobs = stage.get("jobs") or []
    if not jobs:
        if not stage.get("objective_plan"):
            notes.cannot(source, key, "a stage without jobs; left out")
        return []
    if len(jobs) > 1:
        notes.cannot(source, key, f"{len(jobs)} jobs: only the first is a template (as "
                                  "upstream); the others are left out")
    job = jobs[0]
    out: dict[str, Any] = {"name": name}
    tr = _Translator(str(stage.get("name") or name), names, source, has_geometry, source, key, notes)
    factory = stage.get("job_factory") or {}
    if factory:
        kind, params = factory.get("type"), factory.get("params") or {}
        if kind == "range" and int(params.get("n") or 0) >= 1:
            out["jobs"] = int(params["n"])
        else:
            notes.cannot(source, f"{key}.job_factory", f"factory {kind!r} ({params.get('from', '')}): "
                         "only 'range' maps (a payload factory has AID2E's signature); one job")
    payload = dict(job.get("payload") or {})
    layers = job.get("layers") or payload.get("layers")
    callable_ref = payload.get("python_callable") or job.get("function")
    if layers:
        pass  # the layers' commands are added below, one stage each
    elif payload.get("evaluator_type") == "python" or callable_ref:
        if not callable_ref:
            notes.cannot(source, key, "a python job without python_callable; left out")
            return []
        out.update(call=str(callable_ref), kwargs={"design_point": "{{ params }}"})
        notes.changed_(source, key, f"{callable_ref} is called with design_point=<the "
                                    "parameters> (upstream passed a JobContext)")
    else:
        command, rule = str(job.get("command") or ""), str(job.get("rule") or "")
        argv = tr.argv(rule or command, command)
        if not argv:
            if argv is not None:
                notes.cannot(source, key, "no command; left out")
            return []
        out["command"] = argv
        if payload.get("evaluator_type") == "container":
            notes.cannot(source, key, "container jobs: give the stage a container section "
                                      "(engine, image); it runs without one")
    par = stage.get("parallelism") or {}
    if par.get("max_concurrent"):
        out["max_parallel"] = int(par["max_concurrent"])
    if par.get("retry_max"):
        out["retries"] = int(par["retry_max"])
    if par.get("timeout_sec") and "command" in out:
        out["timeout"] = float(par["timeout_sec"])
    resources = _resources(job)
    if resources:
        out["resources"] = resources
    outputs = _outputs(list(job.get("outputs") or []) + list(stage.get("outputs") or []), tr)
    if outputs:
        out["outputs"] = outputs
    sched = stage.get("scheduler") or {}
    if sched and "joblib" in str(sched.get("runner_type", "")).lower() and runner_kind != "local":
        out["where"] = "driver"
        notes.changed_(source, f"{key}.scheduler", "a JobLib stage under a cluster runner runs "
                                                   "in the driver (where: driver)")
    if layers:
        from detopt.importers.aid2e_layers import layer_stages

        return layer_stages(layers, out, name, tr, epic, source, key, notes)
    return [out]


def plan_stages(plan: Mapping[str, Any], prefix: str, source: Path, notes: Any, key: str,
                metric_keys: Sequence[str] = (), dtlz2_hint: bool = False
                ) -> list[dict[str, Any]]:
    """Stages of an objective plan (``steps`` / ``multi_steps`` / ``multi-steps``)."""
    steps = None
    for k in ("steps", "multi_steps", "multi-steps"):
        if isinstance(plan.get(k), Mapping):
            steps = plan[k]
            if k != "steps":
                notes.changed_(source, f"{key}.{k}", "retired key read as 'steps'")
            break
    if steps is None:
        notes.cannot(source, key, "an objective plan without steps; not mapped")
        return []
    out = []
    for i, step in enumerate(steps.get("stages") or []):
        step_name = _identifier(step.get("name") or f"step{i}")
        name = step_name if not prefix or prefix == step_name or step_name.startswith(prefix) \
            else _identifier(f"{prefix}_{step_name}")
        where = f"{key}.stages[{i}] ({step.get('name')})"
        inline, script = step.get("inline") or {}, step.get("script") or {}
        if step.get("depends_on"):
            notes.changed_(source, where, "depends_on: steps run in the order listed")
        if _is_dtlz2(inline.get("entrypoint"), script.get("path")) or \
                (dtlz2_hint and not (inline or script)):
            out.append({"name": name, "call": DTLZ2_CALL, "kwargs": {"params": "{{ params }}"}})
            notes.changed_(source, where, f"AID2E's DTLZ2 evaluator "
                           f"({inline.get('entrypoint') or script.get('path')}) → detopt's "
                           f"implementation of the same formula ({DTLZ2_CALL})")
        elif inline.get("entrypoint"):
            out.append({"name": name, "call": str(inline["entrypoint"]),
                        "kwargs": {"design_point": "{{ params }}"}})
            notes.changed_(source, where, "the inline step is called with design_point=<the "
                                          "parameters> only")
        elif script.get("path"):
            output_file = str(script.get("output_file") or "result.json").replace(
                "{job_id}", "{{ trial.index }}")
            stage: dict[str, Any] = {
                "name": name,
                "command": ["{{ python }}", "{{ config_dir }}/" + str(script["path"]), "--design",
                            "{{ trial.design_file }}", "--output", output_file],
                "outputs": {"result": {"path": output_file, "format": "json"}}}
            if script.get("timeout_sec"):
                stage["timeout"] = float(script["timeout_sec"])
            out.append(stage)
            notes.changed_(source, where, f"script called as {script['path']} --design "
                           "<design.json> --output <output_file>")
        else:
            notes.cannot(source, where, "a step that is neither inline nor script; left out")
            continue
        if step.get("extra_args"):
            notes.cannot(source, f"{where}.extra_args", "not mapped")
    return out


def _abs(path: Any, base: Path) -> str:
    p = Path(str(path)).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _environment(problem: Mapping[str, Any], source: Path, geometry_dir: Path | None,
                 notes: Any) -> tuple[dict[str, str], dict[str, Any] | None, dict[str, Any] | None]:
    """``(stage env, geometry section, container)`` from ``problem.epic_environment``: what
    upstream set in ``os.environ`` becomes each stage's own environment."""
    env_cfg = problem.get("epic_environment") or {}
    base = source.parent
    env: dict[str, str] = {}
    container = None
    for key, var in (("eic_shell", "EIC_SHELL"), ("epic_install", "EPIC_INSTALL"),
                     ("eic_recon_install", "EIC_RECON_INSTALL")):
        if env_cfg.get(key):
            env[var] = _abs(env_cfg[key], base)
    if env_cfg.get("epic_config"):
        env["DETECTOR_CONFIG"] = str(env_cfg["epic_config"])
    if env:
        notes.changed_(source, "problem.epic_environment", "set in every command stage's own "
                       f"environment (upstream changed os.environ): {', '.join(sorted(env))}")
    if env_cfg.get("singularity_image"):
        container = {"engine": "apptainer", "image": str(env_cfg["singularity_image"])}
        notes.changed_(source, "problem.epic_environment.singularity_image",
                       "command stages run in it with apptainer")
    geometry = None
    mode = env_cfg.get("geometry_mode")
    candidate = geometry_dir
    if candidate is None and env_cfg.get("epic_install"):
        installed = Path(_abs(env_cfg["epic_install"], base)) / "share" / "epic"
        if installed.is_dir():
            candidate = installed
        elif env_cfg.get("geometry_mode"):
            notes.cannot(source, "problem.epic_environment.epic_install", f"{installed} does not "
                         "exist here: no per-trial geometry copy (give --geometry DIR)")
    if mode == "build":
        notes.cannot(source, "problem.epic_environment.geometry_mode", "'build' (cmake per trial) "
                     "is not mapped: give a built geometry with --geometry; it is copied per trial")
    if candidate is not None:
        geometry = {"source": str(candidate), "mode": "symlink", "export_as": "DETECTOR_PATH"}
    return env, geometry, container


def pipeline_section(merged: Mapping[str, Any], workflow: Mapping[str, Any] | None,
                     wsource: Path, problem: Mapping[str, Any], psrc: Path,
                     objectives: Sequence[str], names: Mapping[str, str],
                     geometry_dir: Path | None, runner_kind: str, notes: Any) -> dict[str, Any]:
    """The ``problem.pipeline`` section."""
    env, geometry, container = _environment(problem, psrc, geometry_dir, notes)
    env_cfg = problem.get("epic_environment") or {}
    epic = {"config": env_cfg.get("epic_config"),
            "install": _abs(env_cfg["epic_install"], psrc.parent) if env_cfg.get("epic_install")
            else None}
    if geometry is None and geometry_dir is not None:
        geometry = {"source": str(geometry_dir), "mode": "symlink", "export_as": "DETECTOR_PATH"}
    stages: list[dict[str, Any]] = []
    metrics: dict[str, str] = {}
    if workflow:
        stages += _workflow_stages(workflow, wsource, names, geometry is not None, runner_kind,
                                   epic, notes)
        for c in workflow.get("combined_objectives") or []:
            notes.cannot(wsource, f"workflows.{workflow.get('name')}.combined_objectives."
                         f"{c.get('name')}", "combined objective plans are not mapped")
    dtlz2 = _is_dtlz2(problem.get("name"), problem.get("problem_type"), problem.get("type"))
    for i, o in enumerate(problem.get("objectives") or []):
        if not isinstance(o, Mapping):
            continue
        plan = o.get("objective_plan") or o.get("computation")
        if not plan:
            continue
        if "computation" in o:
            notes.changed_(psrc, f"objectives[{i}].computation", "read as objective_plan")
        made = plan_stages(plan, _identifier(o["name"]), psrc, notes,
                           f"objectives[{i}].objective_plan", dtlz2_hint=dtlz2)
        stages += made
        keys = list(o.get("metrics_keys") or [o["name"]])
        producer = _producer(plan, made)
        if producer is not None:
            for k in keys:
                if k in objectives:
                    metrics[k] = f"{producer['name']}.result.{k}"
    if not stages:
        if dtlz2 and sorted(objectives) == ["f1", "f2"]:
            stages.append({"name": "evaluate", "call": DTLZ2_CALL, "kwargs": {"params": "{{ params }}"}})
            notes.changed_(psrc, "problem", "no workflow or objective plan: the DTLZ2 problem "
                           f"is evaluated by {DTLZ2_CALL} (AID2E's formula)")
        else:
            raise ConfigError("the files define no evaluation (no workflow and no objective "
                              "plan).", field="FILES", fix="give the workflow file too")
    for stage in stages:
        if "command" in stage:
            if env:
                stage["env"] = {**env, **stage.get("env", {})}
            if container:
                stage.setdefault("container", container)
    out: dict[str, Any] = {"stages": stages}
    if geometry:
        out["geometry"] = geometry
    if problem.get("work_location"):  # AID2E keeps <work_location>/<run>; detopt one per study
        out["workdir"] = _abs(problem["work_location"], psrc.parent) + "/{study}"
    if metrics and set(metrics) == set(objectives):
        out["metrics"] = metrics
    elif metrics:
        missing = sorted(set(objectives) - set(metrics))
        notes.cannot(psrc, "objectives", f"no plan computes {', '.join(missing)}: the last "
                     "stage's 'metrics' output must hold every objective")
    _name_last_output(stages, out, wsource, notes)
    return out


def _producer(plan: Mapping[str, Any], made: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    steps = next((plan[k] for k in ("steps", "multi_steps", "multi-steps")
                  if isinstance(plan.get(k), Mapping)), {})
    wanted = steps.get("produces_from_stage")
    flagged = [s.get("name") for s in steps.get("stages") or [] if s.get("produces_objective")]
    name = wanted or (flagged[0] if flagged else None)
    for stage in made:
        if name and stage["name"].endswith(_identifier(name)):
            return stage
    return made[-1] if made else None


def _name_last_output(stages: list[dict[str, Any]], pipeline: dict[str, Any], source: Path,
                      notes: Any) -> None:
    """Without per-metric sources, the last stage's JSON/YAML output (or a call's return
    value) holds the objectives: name that output 'metrics'."""
    if "metrics" in pipeline:
        return
    last = stages[-1]
    if "call" in last:
        return
    outputs = last.get("outputs") or {}
    if "metrics" in outputs:
        return
    for name, spec in outputs.items():
        path = str(spec.get("path", ""))
        if spec.get("format") in ("json", "yaml") or path.endswith((".json", ".yaml")):
            outputs["metrics"] = outputs.pop(name)
            notes.changed_(source, f"stage {last['name']}", f"its output {name!r} holds the "
                                                             "objectives (now named 'metrics')")
            return
    if "result" in outputs:
        outputs["metrics"] = outputs.pop("result")
        return
    notes.cannot(source, f"stage {last['name']}", "no output says where the objectives are; "
                 "a 'metrics' output reading metrics.json is assumed")
    last["outputs"] = {**outputs, "metrics": {"path": "metrics.json", "format": "json"}}
