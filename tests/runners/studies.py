"""One study configuration for every runner, and helpers to run it and read what was stored."""

from __future__ import annotations

import copy
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import detopt
from detopt.storage import Storage
from detopt.trial import Trial

HERE = Path(__file__).resolve().parent

#: DTLZ2 (3 objectives x 12 variables), 20 trials, 2 at a time; only ``runner`` changes
DTLZ2 = {
    "name": "dtlz2",
    "problem": {"builtin": "dtlz2", "options": {"n_objectives": 3, "n_variables": 12}},
    "optimizer": {"name": "sobol", "seed": 7},
    "runner": {"kind": "local", "workers": 2},
    "study": {"max_trials": 20, "concurrency": 2},
}

#: a custom problem whose evaluation lives in tests/runners/runner_funcs.py
CUSTOM = {
    "name": "custom",
    "problem": {
        "evaluate": "runner_funcs:where",
        "evaluate_options": {"seconds": 0.0},
        "parameters": [{"name": "x", "low": 0.0, "high": 1.0},
                       {"name": "y", "low": 0.0, "high": 1.0}],
        "objectives": [{"name": "f1", "threshold": 3.0}, {"name": "f2", "threshold": 3.0}],
    },
    "optimizer": {"name": "sobol", "seed": 3},
    "study": {"max_trials": 4, "concurrency": 2},
}


def slurm_runner(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """The runner section for the test cluster (partition debug, fast polling)."""
    return {"kind": "slurm", "partition": "debug", "walltime": "00:10:00", "memory": "500MB",
            "workdir": str(tmp_path / "jobs"), "poll_interval": 0.25, "state_interval": 1.0,
            **extra}


def config(base: dict[str, Any], tmp_path: Path, runner: dict[str, Any],
           **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` with a unique name, storage under ``tmp_path`` and ``runner``."""
    out = copy.deepcopy(base)
    out["name"] = f"{base['name']}-{uuid.uuid4().hex[:8]}"
    out["storage"] = str(tmp_path / f"{out['name']}.db")
    out["runner"] = runner
    for section, values in changes.items():
        out.setdefault(section, {}).update(values)
    return out


def run(cfg: dict[str, Any], base_dir: Path) -> tuple[Any, Any]:
    """Create and run the study; returns ``(study, outcome)`` (the study is closed, its
    trials stay readable)."""
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=base_dir))
    try:
        outcome = study.run()
    finally:
        study.close()
    return study, outcome


def stored(cfg: dict[str, Any]) -> tuple[dict[int, Trial], list[dict[str, Any]]]:
    """Trials by index and attempt rows of the study ``cfg`` names."""
    with Storage(cfg["storage"]) as storage:
        record = storage.get_study(cfg["name"])
        if record is None:
            return {}, []
        trials = {t.index: t for t in storage.load_trials(record.id)}
        return trials, storage.load_attempts(record.id)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def sacct_jobs(name_prefix: str) -> list[dict[str, str]]:
    """Every SLURM job whose name starts with ``name_prefix`` (from accounting)."""
    out = subprocess.run(["sacct", "--noheader", "--parsable2", "--allocations",
                          "--starttime=now-1days", "--format=JobIDRaw,JobName,State"],
                         capture_output=True, text=True, check=True, env=os.environ).stdout
    rows = [dict(zip(("job_id", "name", "state"), line.split("|"), strict=True))
            for line in out.splitlines()]
    return [r for r in rows if r.get("name", "").startswith(name_prefix)]
