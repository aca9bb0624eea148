"""Helpers of the pipeline tests: a study around a list of stages, running it, reading back."""

from __future__ import annotations

import copy
import sys
import uuid
from pathlib import Path
from typing import Any

import detopt
from detopt.storage import Storage
from detopt.trial import Trial

HERE = Path(__file__).resolve().parent
TOOL = str(HERE / "tool.py")


def tool(*args: str) -> list[str]:
    """A stage command running tests/pipeline/tool.py with the driver's interpreter."""
    return ["{{ python }}", TOOL, *args]


METRICS_STAGE = {"name": "evaluate", "command": tool("metrics", "{{ params.x }}"),
                 "outputs": {"metrics": {"path": "metrics.json"}}}


def study(tmp_path: Path, stages: list[dict[str, Any]], *, parameters: list[dict] | None = None,
          pipeline: dict[str, Any] | None = None, runner: dict[str, Any] | None = None,
          trials: int = 1, **study_options: Any) -> dict[str, Any]:
    """A study config dict: objectives f1, f2 (minimized), a Sobol optimizer, the local runner."""
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    return {
        "name": name,
        "storage": str(tmp_path / f"{name}.db"),
        "problem": {
            "parameters": copy.deepcopy(parameters or [{"name": "x", "low": 0.0, "high": 1.0}]),
            "objectives": [{"name": "f1"}, {"name": "f2"}],
            "pipeline": {"stages": copy.deepcopy(stages), "workdir": str(tmp_path / "work"),
                         **(pipeline or {})},
        },
        "optimizer": {"name": "sobol", "seed": 1},
        "runner": runner or {"kind": "local", "workers": 2},
        "study": {"max_trials": trials, "concurrency": 1, **study_options},
    }


def run(cfg: dict[str, Any], base_dir: Path) -> tuple[Any, Any]:
    s = detopt.new_study(detopt.parse_config(cfg, base_dir=base_dir))
    try:
        outcome = s.run()
    finally:
        s.close()
    return s, outcome


def stored(cfg: dict[str, Any]) -> tuple[dict[int, Trial], list[dict], dict[int, dict]]:
    """Trials, attempt rows and pipeline states of the study."""
    with Storage(cfg["storage"]) as storage:
        record = storage.get_study(cfg["name"])
        trials = {t.index: t for t in storage.load_trials(record.id)}
        saved = storage.load_trial_states(record.id)
        states = {i: saved.get(i, {}) for i in trials}
        return trials, storage.load_attempts(record.id), states


def python() -> str:
    return sys.executable


def cli(*args: str) -> tuple[int, str, str]:
    """Run the ``detopt`` command in this process (as a user would, without the interpreter's
    start-up cost): ``(exit code, stdout, stderr)``."""
    from typer.testing import CliRunner

    from detopt.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
