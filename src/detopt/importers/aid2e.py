"""Import AID2E configurations: ``detopt import aid2e FILES... -o study.yaml``.

Reads any mix of AID2E files — ``design.params`` (generic ``design_space`` and ePIC
``epic_design_space``), ``problem.config``, full configurations with ``optimizer``,
``scheduler`` and ``workflows`` (a dRICH ``workflow.yml``) — and writes one detopt study. What
cannot be mapped is listed with the reason (:attr:`Conversion.not_mapped`); mappings that
change behaviour are listed too (:attr:`Conversion.changed`). Formats: aid2e-upstream reference
§3 (configuration schema) and §2.4 (workflows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detopt.errors import ConfigError, DetoptError


@dataclass(frozen=True)
class Note:
    """One remark about the conversion: where (file and key) and what."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


@dataclass
class Conversion:
    """The converted study and what the conversion could not map or changed."""

    study: dict[str, Any]
    not_mapped: list[Note] = field(default_factory=list)
    changed: list[Note] = field(default_factory=list)


class _Notes:
    """Collects notes; the same message about several keys of a file becomes one note."""

    def __init__(self) -> None:
        self.not_mapped: list[Note] = []
        self.changed: list[Note] = []

    @staticmethod
    def _add(notes: list[Note], source: Path | str, key: str, message: str) -> None:
        name = Path(source).name
        for i, n in enumerate(notes):
            if n.source == name and n.message == message:
                if key not in n.key.split("; "):
                    notes[i] = Note(name, f"{n.key}; {key}", message)
                return
        notes.append(Note(name, key, message))

    def cannot(self, source: Path | str, key: str, message: str) -> None:
        self._add(self.not_mapped, source, key, message)

    def changed_(self, source: Path | str, key: str, message: str) -> None:
        self._add(self.changed, source, key, message)


@dataclass
class _Inputs:
    configs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    designs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}.", field="FILES", fix="give AID2E YAML files")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}.", field="FILES",
                          fix="give AID2E configuration files (YAML)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} does not hold a mapping of sections.", field="FILES",
                          fix="give design.params, problem.config or a full configuration")
    return data


_CONFIG_KEYS = {"problem", "optimizer", "scheduler", "workflows", "optimization", "workflow"}
_DESIGN_KEYS = {"design_space", "epic_design_space"}


def _classify(paths: Sequence[Path]) -> _Inputs:
    inputs = _Inputs()
    for path in paths:
        data = _load(path)
        if _CONFIG_KEYS & set(data):
            inputs.configs.append((path, data))
        elif _DESIGN_KEYS & set(data):
            inputs.designs.append((path, data))
        else:
            raise ConfigError(f"{path.name} is neither a design space nor a configuration "
                              f"(top-level keys: {', '.join(map(str, data)) or 'none'}).",
                              field="FILES", fix="give design.params, problem.config or a full "
                                                 "AID2E configuration")
    return inputs


def find_referenced(path_text: str, relative_to: Path) -> Path | None:
    """A file an AID2E config names: relative to the config's folder, or to one of its parents
    (the AID2E examples give paths relative to their repository's root)."""
    candidate = Path(path_text).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in [relative_to, *relative_to.parents]:
        if (base / candidate).is_file():
            return (base / candidate).resolve()
    return None


def slug(text: str) -> str:
    """A detopt study name from an AID2E problem name."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return out[:200] or "imported"


# ------------------------------------------------------------------------------ design
@dataclass
class _Parameter:
    qualified: str
    spec: dict[str, Any]
    group: str
    file_path: str | None
    source: Path


def _design_groups(doc: Mapping[str, Any], source: Path, notes: _Notes
                   ) -> tuple[list[_Parameter], list[dict[str, Any]]]:
    """Parameters (qualified ``group.param``) and constraint rules of a design document."""
    params: list[_Parameter] = []
    constraints: list[dict[str, Any]] = []
    if "epic_design_space" in doc:
        space = doc["epic_design_space"] or {}
        groups = space.get("epic_design_parameters") or {}
        if space.get("optimization_groups"):
            notes.cannot(source, "epic_design_space.optimization_groups",
                         "optimization groups are not mapped: every parameter is optimized")
    elif "design_space" in doc:
        space = doc["design_space"] or {}
        groups = space.get("design_parameters") or {}
    else:  # older inline form: {groups: {...}, constraints: [...]}
        space = doc
        groups = doc.get("groups") or {}
    for group, body in groups.items():
        body = body or {}
        for name, spec in (body.get("parameters") or {}).items():
            params.append(_Parameter(f"{group}.{name}", dict(spec or {}), str(group),
                                     body.get("file_path"), source))
    for key in ("parameter_constraints", "constraints", "design_constraints"):
        for rule in space.get(key) or []:
            constraints.append({**dict(rule), "_source": source, "_key": key})
    return params, constraints


def _identifier(text: str) -> str:
    out = re.sub(r"\W+", "_", text).strip("_") or "p"
    return f"p_{out}" if out[0].isdigit() else out


def _names(params: Sequence[_Parameter]) -> dict[str, str]:
    """detopt names: the short name when it is unique across groups, else ``group_param``."""
    short = [p.qualified.split(".", 1)[1] for p in params]
    return {p.qualified: _identifier(s if short.count(s) == 1 else p.qualified)
            for p, s in zip(params, short)}


_DETECTOR_PATH = re.compile(r"^\$\{?DETECTOR_PATH\}?/")


def to_xpath(path: str) -> str:
    """ElementTree paths as AID2E writes them (``.//mirror/[@centerx]``) as XPath 1.0."""
    return re.sub(r"/\[", "[", path.strip())


def _parameter(p: _Parameter, name: str, geometry: Path | None, xml_file: str | None,
               notes: _Notes) -> tuple[dict[str, Any] | None, Any]:
    """The detopt parameter of an AID2E one, and its nominal value (``None`` if unusable)."""
    spec, key = p.spec, f"{p.group}.parameters.{p.qualified.split('.', 1)[1]}"
    out: dict[str, Any] = {"name": name}
    value = spec.get("value")
    if "values" in spec and "choices" not in spec:
        notes.changed_(p.source, key, "retired key 'values' read as 'choices'")
        spec = {**spec, "choices": spec["values"]}
    if "bounds" in spec:
        lo, hi = (spec["bounds"] + [None, None])[:2] if isinstance(spec["bounds"], list) else (None, None)
        if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)) or lo >= hi:
            notes.cannot(p.source, key, f"bounds {spec['bounds']!r} are not [low, high] with "
                                        "low < high; parameter left out")
            return None, None
        integral = spec.get("value_type") == "int" and float(lo).is_integer() and float(hi).is_integer()
        out.update(type="int" if integral else "float", low=float(lo), high=float(hi))
        if value is not None and not (isinstance(value, (int, float)) and lo <= value <= hi):
            notes.cannot(p.source, f"{key}.value", f"value {value!r} lies outside its bounds "
                                                   f"[{lo}, {hi}]; not used as the nominal design")
            value = None
    elif "choices" in spec:
        choices = list(spec["choices"] or [])
        if len(set(map(str, choices))) < 2:
            notes.changed_(p.source, key, "fewer than two choices: a fixed parameter")
            out.update(type="fixed", value=choices[0] if choices else value)
        else:
            out.update(type="choice", values=choices)
            if all(isinstance(c, (int, float)) for c in choices):
                out["ordered"] = True
                notes.changed_(p.source, key, "numeric choices are ordered (AID2E/Ax treats "
                                              "them as unordered strings)")
        if value is not None and value not in choices:
            notes.cannot(p.source, f"{key}.value", f"value {value!r} is not one of the choices; "
                                                   "not used as the nominal design")
            value = None
    else:
        notes.cannot(p.source, key, "neither 'bounds' nor 'choices': parameter left out")
        return None, None
    if spec.get("unit"):
        out["unit"] = str(spec["unit"])
    xml_path = spec.get("xml_path")
    if xml_path:
        attribute = spec.get("attribute") or spec.get("element")
        file = p.file_path or xml_file
        where = f"XML edit ({xml_path}, {attribute or 'text'})"
        if geometry is None:
            notes.cannot(p.source, f"{key}.xml_path", f"{where} not applied: no geometry folder "
                         "given (use --geometry DIR and, without file_path, --xml-file FILE)")
            out["description"] = f"AID2E: {where}"
        elif not file:
            notes.cannot(p.source, f"{key}.xml_path", f"{where} not applied: no file_path in the "
                         "design and no --xml-file")
        else:
            out.update(file=_DETECTOR_PATH.sub("", str(file)), xpath=to_xpath(str(xml_path)))
            if attribute:
                out["attribute"] = str(attribute)
            if to_xpath(str(xml_path)) != str(xml_path).strip():
                notes.changed_(p.source, f"{key}.xml_path", f"ElementTree path {xml_path!r} "
                               f"written as XPath {out['xpath']!r}")
    return out, value


def _constraint(rule: Mapping[str, Any], names: Mapping[str, str], known: Sequence[str],
                notes: _Notes) -> str | None:
    from detopt.expressions import parse_inequality

    text = str(rule.get("rule") or "")
    key = f"{rule['_key']}.{rule.get('name') or text}"
    if rule["_key"] == "design_constraints":
        notes.changed_(rule["_source"], key, "retired key 'design_constraints' read")
    for qualified in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(qualified)}(?![\w.])", names[qualified], text)
    try:
        parse_inequality(text, known_names=list(known), field="constraint")
    except DetoptError as exc:
        notes.cannot(rule["_source"], key, f"rule {rule.get('rule')!r} is not a linear "
                     f"inequality of the parameters ({exc.message.rstrip('.')}); "
                     "detopt constraints must be linear")
        return None
    if re.search(r"(?<![<>=])[<>](?!=)", text):
        notes.changed_(rule["_source"], key, f"strict inequality {rule.get('rule')!r} is "
                                             "enforced as non-strict")
    return text


# ------------------------------------------------------------------------- the study
def convert(files: Sequence[str | Path], *, name: str | None = None,
            geometry: str | Path | None = None, xml_file: str | None = None,
            workflow: str | None = None) -> Conversion:
    """Convert AID2E files into one detopt study (a dict ready for YAML).

    Args:
        files: AID2E files (any order).
        name: study name (default: from ``problem.name``).
        geometry: the detector description folder that XML edits apply to (an ePIC
            ``share/epic``); without it, XML edits are reported and left out.
        xml_file: the XML file (relative to ``geometry``) for parameters without ``file_path``.
        workflow: which workflow of ``workflows.workflows`` to convert (default: the first).
    """
    from detopt.importers.aid2e_run import optimizer_section, runner_section
    from detopt.importers.aid2e_workflow import pipeline_section, select_workflow, stage_scheduler

    notes = _Notes()
    paths = [Path(f).resolve() for f in files]
    inputs = _classify(paths)
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path, data in inputs.configs:
        for key, value in data.items():
            if key in merged and key != "metadata":
                notes.cannot(path, key, f"also given in {origin[key].name}; that one is used")
                continue
            merged.setdefault(key, value)
            origin.setdefault(key, path)
    geometry_dir = Path(geometry).resolve() if geometry is not None else None
    if geometry_dir is not None and not geometry_dir.is_dir():
        raise ConfigError(f"the geometry folder {geometry_dir} does not exist.", field="--geometry",
                          fix="give the detector description folder (e.g. <epic install>/share/epic)")

    if "optimization" in merged:
        notes.changed_(origin["optimization"], "optimization", "retired top-level key read as "
                                                               "'optimizer'")
        merged.setdefault("optimizer", (merged["optimization"] or {}).get("optimizer", {}))
    problem = dict(merged.get("problem") or {})
    psrc = origin.get("problem", inputs.designs[0][0] if inputs.designs else paths[0])
    if not problem:
        what = "only a design space" if inputs.designs else "no problem section"
        raise ConfigError(f"the files hold {what}: no objectives, nothing to optimize.",
                          field="FILES", fix="give the problem too (problem.config or a full "
                                             "AID2E configuration)")

    design_docs = _design_documents(inputs, problem, psrc, notes)
    params: list[_Parameter] = []
    rules: list[dict[str, Any]] = []
    for source, doc in design_docs:
        p, c = _design_groups(doc, source, notes)
        params += p
        rules += c
    if not params:
        raise ConfigError("the design space has no parameters.", field="FILES",
                          fix="give the design.params file the problem names")
    names = _names(params)
    parameters, nominal = [], {}
    for p in params:
        built, value = _parameter(p, names[p.qualified], geometry_dir, xml_file, notes)
        if built is not None:
            parameters.append(built)
            nominal[built["name"]] = value if built["type"] != "fixed" else None
    known = [p["name"] for p in parameters]
    constraints = [c for c in (_constraint(r, names, known, notes) for r in rules) if c]

    objectives, thresholds = _objectives(problem, psrc, notes)
    optimizer, study_loop = optimizer_section(merged.get("optimizer"), origin.get("optimizer", psrc),
                                              [o["name"] for o in objectives], notes)
    thresholds.update(study_loop.pop("_thresholds", {}))
    for o in objectives:
        if o["name"] in thresholds:
            o["threshold"] = float(thresholds[o["name"]])
    chosen = select_workflow(merged, workflow)
    wsource = origin.get("workflows", psrc)
    scheduler = merged.get("scheduler")
    if scheduler is None and isinstance(merged.get("workflows"), Mapping):
        scheduler = merged["workflows"].get("global_scheduler")
    runner, runner_study = runner_section(scheduler, origin.get("scheduler", wsource),
                                          stage_scheduler(chosen), wsource, notes)
    for key, value in runner_study.items():
        study_loop.setdefault(key, value)
    study_loop.update(_failure_policy(problem, psrc, [o["name"] for o in objectives], notes))
    if "max_trials" not in study_loop:
        study_loop["max_trials"] = 50
        notes.changed_(origin.get("optimizer", psrc), "optimizer", "no evaluation budget given: "
                       "max_trials 50 (AID2E's default n_iterations)")
    if nominal and all(v is not None for k, v in nominal.items()
                       if next(p for p in parameters if p["name"] == k)["type"] != "fixed"):
        design = {k: v for k, v in nominal.items() if v is not None}
        study_loop["initial_designs"] = [design]
        notes.changed_(psrc, "design parameters' value", "the nominal design (every parameter's "
                                                         "'value') is evaluated first")
    elif nominal:
        notes.cannot(psrc, "design parameters' value", "no nominal design: some values are "
                                                       "missing or invalid (see above)")

    if problem.get("type") and not problem.get("problem_type"):
        notes.changed_(psrc, "problem.type", "retired key read as problem_type")
    problem_out: dict[str, Any] = {
        "name": str(problem.get("name") or problem.get("problem_type") or problem.get("type")
                    or "aid2e"),
        "parameters": parameters, "objectives": objectives}
    if constraints:
        problem_out["constraints"] = constraints
    pipeline = pipeline_section(merged, chosen, wsource, problem, psrc,
                                [o["name"] for o in objectives], names, geometry_dir,
                                runner["kind"], notes)
    problem_out["pipeline"] = pipeline
    for key in ("observations", "combined_objectives"):
        if problem.get(key):
            notes.cannot(psrc, f"problem.{key}", "not mapped: prior observations are not imported"
                         if key == "observations" else "combined objective plans are not mapped")
    if merged.get("metadata"):
        notes.changed_(origin["metadata"], "metadata", "free text, not imported")
    study_name = name or slug(str(problem.get("name") or paths[0].stem))
    if "workdir" in pipeline:
        pipeline["workdir"] = pipeline["workdir"].replace("{study}", study_name)
        notes.changed_(psrc, "problem.work_location", f"trials work in {pipeline['workdir']}")
    study = {"name": study_name,
             "problem": problem_out, "optimizer": optimizer, "runner": runner,
             "study": study_loop}
    return Conversion(study, notes.not_mapped, notes.changed)


def _design_documents(inputs: _Inputs, problem: Mapping[str, Any], psrc: Path, notes: _Notes
                      ) -> list[tuple[Path, dict[str, Any]]]:
    if inputs.designs:
        for key in ("design_parameters_file", "inline_design"):
            if problem.get(key):
                notes.changed_(psrc, f"problem.{key}", "the design file given on the command "
                                                       "line is used instead")
        return inputs.designs
    if problem.get("inline_design"):
        return [(psrc, dict(problem["inline_design"]))]
    reference, key = problem.get("design_parameters_file"), "problem.design_parameters_file"
    if reference is None and isinstance(problem.get("design_space"), Mapping):
        reference, key = problem["design_space"].get("path"), "problem.design_space.path"
        notes.changed_(psrc, key, "retired key read as design_parameters_file")
    if reference is None:
        raise ConfigError("the problem names no design space (design_parameters_file or "
                          "inline_design).", field="FILES", fix="give the design.params file too")
    found = find_referenced(str(reference), psrc.parent)
    if found is None:
        raise ConfigError(f"{psrc.name}: {key} {reference!r} not found next to it or in a "
                          "parent folder.", field="FILES", fix="give the design.params file too")
    if (psrc.parent / str(reference)).resolve() != found:
        notes.changed_(psrc, key, f"{reference!r} is not next to the file; found {found}")
    return [(found, _load(found))]


def _objectives(problem: Mapping[str, Any], source: Path, notes: _Notes
                ) -> tuple[list[dict[str, Any]], dict[str, float]]:
    out, thresholds = [], {}
    for i, o in enumerate(problem.get("objectives") or []):
        if isinstance(o, str):  # "minimize:f1" (retired form)
            direction, _, name = o.partition(":")
            o = {"name": name, "direction": direction}
            notes.changed_(source, f"objectives[{i}]", "retired 'direction:name' form read")
        if "minimize" in o and "direction" not in o:
            o = {**o, "direction": "minimize" if o["minimize"] else "maximize"}
            notes.changed_(source, f"objectives[{i}].minimize", "retired key read as direction")
        entry = {"name": str(o["name"]), "direction": str(o.get("direction") or "minimize").lower()}
        if entry["direction"] not in ("minimize", "maximize"):
            raise ConfigError(f"objective {entry['name']!r} has direction {o.get('direction')!r}.",
                              field="FILES", fix="AID2E directions are minimize or maximize")
        if o.get("threshold") is not None:
            thresholds[entry["name"]] = float(o["threshold"])
        if o.get("scheduler"):
            notes.cannot(source, f"objectives[{i}].scheduler", "objective-level schedulers are "
                         "reserved upstream (they raise); not mapped")
        out.append(entry)
    if not out:
        raise ConfigError("the problem has no objectives.", field="FILES",
                          fix="give the problem's objectives (problem.config)")
    return out, thresholds


def _failure_policy(problem: Mapping[str, Any], source: Path, objectives: Sequence[str],
                    notes: _Notes) -> dict[str, Any]:
    cfg = problem.get("evaluation_config") or {}
    out: dict[str, Any] = {}
    policy = cfg.get("trial_failure_policy") or cfg.get("failure_policy")
    penalty = cfg.get("penalty_objectives") or cfg.get("failed_objectives")
    if policy == "penalty":
        if isinstance(penalty, Mapping) and all(o in penalty for o in objectives):
            out.update(on_failure="penalty", penalty={o: float(penalty[o]) for o in objectives})
        else:
            notes.cannot(source, "evaluation_config.failure_policy", "penalty without a value for "
                         "every objective; failed trials stay failed")
    if cfg.get("max_failed_trials"):
        out["max_failed_trials"] = int(cfg["max_failed_trials"])
    rest = sorted(set(cfg) - {"trial_failure_policy", "failure_policy", "penalty_objectives",
                              "failed_objectives", "max_failed_trials"})
    if rest:
        notes.changed_(source, "evaluation_config", f"{', '.join(rest)}: settings of the upstream "
                       "scripts, which read them from the original configuration file")
    return out
