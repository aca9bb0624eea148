"""AID2E optimizer and scheduler sections → detopt ``optimizer``, ``runner`` and ``study``.

- Ax (``name``/``type`` tokens ax, bo, mobo, bayesian) → ``mobo``: ``n_iterations`` (AID2E's
  total evaluations) → ``max_trials``, ``batch_size`` → ``concurrency`` (detopt keeps that many
  trials in flight, without AID2E's batch barrier), ``n_initial_samples`` → ``n_initial``,
  ``objective_thresholds`` → the objectives' thresholds (reference point).
- pymoo (pymoo, ga, nsga2, nsga3, evolutionary) → ``nsga2``/``nsga3`` with AID2E's evaluation
  budget ``pop_size + (n_iterations - 1) * n_offsprings``.
- JobLibRunner → ``local``; SlurmRunner → ``slurm``; PanDAiDDSRunner → ``panda`` when that
  runner is installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_AX = {"ax", "bo", "mobo", "bayesian", "bayes"}
_PYMOO = {"pymoo", "ga", "nsga2", "nsga3", "moead", "evolutionary", "ea"}
_MOBO_ACQUISITIONS = {"qlognoisyexpectedhypervolumeimprovement": "qlognehvi",
                      "qnoisyexpectedhypervolumeimprovement": "qlognehvi",
                      "qlognehvi": "qlognehvi", "qnehvi": "qlognehvi",
                      "qlognoisyexpectedimprovement": "qlognei", "qlognei": "qlognei",
                      "qnoisyexpectedimprovement": "qlognei"}


def _tokens(opt: Mapping[str, Any]) -> set[str]:
    params = opt.get("parameters") or {}
    words = [opt.get("name"), opt.get("type"), opt.get("kind"), params.get("algorithm")]
    return {str(w).lower() for w in words if w}


def optimizer_section(opt: Mapping[str, Any] | None, source: Path, objectives: Sequence[str],
                      notes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(optimizer section, study section)`` of an AID2E optimizer section."""
    if not opt:
        notes.cannot(source, "optimizer", "no optimizer section: Sobol sampling is used")
        return {"name": "sobol"}, {}
    tokens = _tokens(opt)
    if tokens & _AX:
        return _ax(opt, source, objectives, notes)
    if tokens & _PYMOO:
        return _pymoo(opt, source, objectives, notes)
    notes.cannot(source, "optimizer", f"unknown optimizer {sorted(tokens)}: Sobol sampling is used")
    return {"name": "sobol"}, {}


def _thresholds(values: Any, objectives: Sequence[str], source: Path, key: str, notes: Any
                ) -> dict[str, float]:
    if isinstance(values, Mapping):
        return {str(k): float(v) for k, v in values.items()}
    if isinstance(values, list) and len(values) == len(objectives):
        return dict(zip(objectives, map(float, values)))
    if values is not None:
        notes.cannot(source, key, f"thresholds {values!r} do not match the objectives")
    return {}


def _ax(opt: Mapping[str, Any], source: Path, objectives: Sequence[str], notes: Any
        ) -> tuple[dict[str, Any], dict[str, Any]]:
    p = dict(opt.get("parameters") or {})
    key = "optimizer.parameters"
    if "bo" in opt and isinstance(opt["bo"], Mapping):  # the older {kind: BO, bo: {...}} schema
        notes.changed_(source, "optimizer.kind", "older schema (kind: BO) read; retired upstream")
        bo = opt["bo"]
        p = {**(bo.get("parameters") or {}), "n_iterations": opt.get("max_iterations")}
        acq = bo.get("acquisition_function") or {}
        if acq:
            p["generator_kwargs"] = {"botorch_acqf_class": acq.get("name")}
            if (acq.get("parameters") or {}).get("objective_thresholds") is not None:
                p["objective_thresholds"] = acq["parameters"]["objective_thresholds"]
        if bo.get("surrogate_model"):
            notes.cannot(source, "optimizer.bo.surrogate_model", "mobo chooses its own Gaussian "
                         "process (Matern kernel, fitted noise); the surrogate settings are not used")
        for k in ("initial_design", "parallel_evaluations"):
            if k in p:
                notes.changed_(source, f"optimizer.bo.parameters.{k}", "initial_design lhs → "
                               "Sobol" if k == "initial_design" else "read as the concurrency")
        if "parallel_evaluations" in p:
            p.setdefault("batch_size", p.pop("parallel_evaluations"))
        key = "optimizer.bo"
    options: dict[str, Any] = {}
    study: dict[str, Any] = {}
    optimizer: dict[str, Any] = {"name": "mobo"}
    if p.get("seed") is not None:
        optimizer["seed"] = int(p["seed"])
    if p.get("n_initial_samples"):
        options["n_initial"] = int(p["n_initial_samples"])
    if p.get("n_iterations"):
        study["max_trials"] = int(p["n_iterations"])
        notes.changed_(source, f"{key}.n_iterations", "total evaluations → study.max_trials")
    if p.get("batch_size"):
        study["concurrency"] = int(p["batch_size"])
        notes.changed_(source, f"{key}.batch_size", "→ study.concurrency: that many trials in "
                       "flight, a free slot is refilled at once (no batch barrier)")
    init = str(p.get("initialization_strategy") or "sobol").lower()
    if init not in ("sobol", "lhs"):
        notes.cannot(source, f"{key}.initialization_strategy", f"{init!r}: mobo starts with Sobol")
    acqf = ((p.get("generator_kwargs") or {}).get("botorch_acqf_class") or "")
    if acqf:
        mapped = _MOBO_ACQUISITIONS.get(str(acqf).lower())
        if mapped is None:
            notes.cannot(source, f"{key}.generator_kwargs.botorch_acqf_class", f"{acqf!r} is not "
                         "available in mobo (qlognehvi, qlognparego, qlognei); mobo picks one")
        else:
            options["acquisition"] = mapped if len(objectives) > 1 or mapped == "qlognei" else "auto"
    extra = {k: v for k, v in (p.get("generator_kwargs") or {}).items() if k != "botorch_acqf_class"}
    if extra:
        notes.cannot(source, f"{key}.generator_kwargs", f"{', '.join(extra)}: BoTorch/Ax model "
                     "settings mobo does not take")
    gen_options = (p.get("generator_gen_kwargs") or {}).get("model_gen_options") or {}
    gen = gen_options.get("optimizer_kwargs") or {}
    if gen.get("num_restarts"):
        options["num_restarts"] = int(gen["num_restarts"])
    if set(gen) - {"num_restarts"}:
        others = ", ".join(sorted(set(gen) - {"num_restarts"}))
        notes.cannot(source, f"{key}.generator_gen_kwargs", f"{others}: not mobo options")
    if p.get("generator") not in (None, "BOTORCH_MODULAR"):
        notes.cannot(source, f"{key}.generator", f"{p['generator']!r}: mobo is detopt's BoTorch "
                     "optimizer")
    if p.get("warm_start_path"):
        notes.cannot(source, f"{key}.warm_start_path", "Ax client states are not imported")
    for k in ("surrogate_spec", "transforms", "surrogate_model", "acquisition_function"):
        if p.get(k):
            notes.cannot(source, f"{key}.{k}", "model settings mobo does not take")
    if options:
        optimizer["options"] = options
    thresholds = _thresholds(p.get("objective_thresholds"), objectives, source,
                             f"{key}.objective_thresholds", notes)
    study["_thresholds"] = thresholds
    return optimizer, study


def _pymoo(opt: Mapping[str, Any], source: Path, objectives: Sequence[str], notes: Any
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    p = dict(opt.get("parameters") or {})
    key = "optimizer.parameters"
    algorithm = str(p.get("algorithm") or "").lower() or None
    name = "nsga3" if algorithm == "nsga3" else "nsga2"
    if algorithm in ("moead", "ga"):
        notes.cannot(source, f"{key}.algorithm", f"{algorithm}: not in detopt; NSGA-II is used")
    optimizer: dict[str, Any] = {"name": name}
    if p.get("seed") is not None:
        optimizer["seed"] = int(p["seed"])
    options: dict[str, Any] = {}
    pop = p.get("pop_size")
    if pop:
        options["pop_size"] = max(4, int(pop))
    for k in ("crossover_prob", "crossover_eta", "mutation_eta"):
        if p.get(k) is not None:
            options[k] = float(p[k])
    if name == "nsga3" and p.get("n_partitions"):
        options["partitions"] = int(p["n_partitions"])
    study: dict[str, Any] = {}
    generations = p.get("n_iterations")
    if generations:
        size = int(pop or 100)
        offspring = int(p.get("n_offsprings") or size)
        study["max_trials"] = size + (int(generations) - 1) * offspring
        notes.changed_(source, f"{key}.n_iterations", f"{generations} generations → "
                       f"study.max_trials {study['max_trials']} (pop_size + (n_iterations - 1) · "
                       "n_offsprings evaluations)")
    if p.get("n_offsprings"):
        notes.changed_(source, f"{key}.n_offsprings", "detopt's NSGA is steady-state (an "
                       "offspring per free slot); n_offsprings only sets the budget")
    if options:
        optimizer["options"] = options
    return optimizer, study


# ------------------------------------------------------------------------------ runners
_KINDS = {"joblibrunner": "joblib", "joblib": "joblib", "slurmrunner": "slurm", "slurm": "slurm",
          "pandaiddsrunner": "panda", "panda": "panda", "pandaidds": "panda"}
_SLURM_SAME = ("partition", "account", "qos", "constraint", "gres", "poll_interval")
#: AID2E's SLURM parameter -> detopt's option of the same meaning
_SLURM_RENAMED = {"time": "walltime", "mem": "memory", "cpus_per_task": "cores"}


def scheduler_runner(sched: Mapping[str, Any], source: Path, key: str, notes: Any
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(runner section, study settings)`` of one AID2E scheduler section."""
    kind = _KINDS.get(str(sched.get("runner_type") or sched.get("type") or "").lower())
    params = dict(sched.get("parameters") or {})
    for retired in ("joblib", "slurm", "panda"):
        if isinstance(sched.get(retired), Mapping):
            notes.changed_(source, f"{key}.{retired}", "retired key read as parameters")
            params = {**sched[retired], **params}
            kind = kind or retired
    study: dict[str, Any] = {}
    if sched.get("max_retries"):
        study["max_retries"] = int(sched["max_retries"])
        notes.changed_(source, f"{key}.max_retries", "→ study.max_retries (AID2E accepted it "
                                                      "but never retried)")
    for unused in ("monitor_interval", "output_location"):
        if unused in sched:
            notes.changed_(source, f"{key}.{unused}", "unused upstream; not imported")
    if kind == "joblib":
        runner: dict[str, Any] = {"kind": "local"}
        n_jobs = params.get("n_jobs")
        if isinstance(n_jobs, int) and n_jobs > 0:
            runner["workers"] = n_jobs
        if params.get("timeout"):
            runner["walltime"] = float(params["timeout"])
        if params.get("backend") not in (None, "loky", "multiprocessing"):
            notes.changed_(source, f"{key}.parameters.backend", f"{params['backend']!r}: detopt's "
                           "local runner always uses separate worker processes")
        return runner, study
    if kind == "slurm":
        runner = {"kind": "slurm", **{k: params[k] for k in _SLURM_SAME if params.get(k) is not None}}
        for theirs, ours in _SLURM_RENAMED.items():
            if params.get(theirs) is not None:
                runner[ours] = int(params[theirs]) if ours == "cores" else params[theirs]
        if params.get("sacct_poll_interval"):
            runner["state_interval"] = float(params["sacct_poll_interval"])
        if params.get("submit_working_dir"):
            runner["workdir"] = str(params["submit_working_dir"])
        if params.get("sbatch_extra_args"):
            runner["extra"] = [str(a) for a in params["sbatch_extra_args"]]
        for k in ("nodes", "ntasks"):
            if params.get(k) not in (None, 1):
                notes.cannot(source, f"{key}.parameters.{k}", f"{k}={params[k]}: detopt runs one "
                             "task per job; add it to 'extra' if the program needs it")
        reasons = {
            "job_name_prefix": "jobs are named <study>.t<trial>.a<attempt>.<stage>.j<job>",
            "setup_commands": "shell commands are never run from a config; give the stage a "
                              "setup script (setup: {script: ...}) instead",
            "runtime_working_dir": "each job runs in its own pipeline folder",
            "template_file": "sbatch templates are not used; the options above are",
        }
        for k, why in reasons.items():
            if params.get(k):
                notes.cannot(source, f"{key}.parameters.{k}", why)
        return runner, study
    if kind == "panda":
        return _panda(params, source, key, notes), study
    notes.cannot(source, f"{key}.runner_type", f"unknown scheduler {sched.get('runner_type')!r}: "
                                               "the local runner is used")
    return {"kind": "local"}, study


def _panda(params: Mapping[str, Any], source: Path, key: str, notes: Any) -> dict[str, Any]:
    from detopt.errors import DetoptError
    from detopt.runners import runner_class

    try:
        cls = runner_class("panda")
    except DetoptError:
        notes.cannot(source, f"{key}.runner_type", "the PanDA runner is not installed in this "
                     "detopt; the local runner is used (install it and set runner.kind: panda)")
        return {"kind": "local"}
    fields = set(getattr(getattr(cls, "Options", None), "model_fields", {}) or {})
    runner = {"kind": "panda"}
    for k, v in params.items():
        if k in fields and v is not None:
            runner[k] = v
        elif v is not None:
            notes.cannot(source, f"{key}.parameters.{k}", "not an option of detopt's PanDA runner")
    return runner


def runner_section(scheduler: Mapping[str, Any] | None, scheduler_source: Path,
                   stage_scheduler: Mapping[str, Any] | None, stage_source: Path, notes: Any
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The study's runner: the workflow's own scheduler when it has one (its stage jobs run
    there), with the global scheduler's parallelism as the study's concurrency; else the
    global scheduler."""
    if stage_scheduler:
        runner, study = scheduler_runner(stage_scheduler, stage_source, "workflow scheduler", notes)
        if scheduler:
            outer, outer_study = scheduler_runner(scheduler, scheduler_source, "scheduler", _Silent())
            if outer.get("workers") and "concurrency" not in study:
                study["concurrency"] = outer["workers"]
                notes.changed_(scheduler_source, "scheduler", f"runs {outer['workers']} trials at "
                               "once → study.concurrency; the workflow's scheduler runs the jobs")
            study = {**outer_study, **study}
        return runner, study
    if scheduler:
        return scheduler_runner(scheduler, scheduler_source, "scheduler", notes)
    notes.cannot(scheduler_source, "scheduler", "no scheduler: the local runner is used")
    return {"kind": "local"}, {}


class _Silent:
    def cannot(self, *_: Any) -> None:
        pass

    def changed_(self, *_: Any) -> None:
        pass
