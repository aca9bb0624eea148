"""The seams issue 9 settled: one reference point, provenance of every trial, immutable trial
snapshots for optimizers, @task retries honoured, read-only views that import nothing of the
study's own code, and the one vocabulary of time limits."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from detopt.config import parse_config
from detopt.errors import ConfigError
from detopt.launch import new_study, open_readonly
from detopt.optimizers.base import make_optimizer
from detopt.problems.registry import build_problem
from detopt.runners.inline import InlineRunner
from detopt.settings import StudySettings
from detopt.storage import Storage
from detopt.study import Study
from detopt.trial import TrialStatus, TrialView


def _config(tmp_path: Path, **changes) -> dict:
    base = {"name": "seams", "storage": str(tmp_path / "seams.db"),
            "problem": {"builtin": "dtlz2", "options": {"n_objectives": 2, "n_variables": 3}},
            "optimizer": {"name": "sobol", "seed": 1}, "runner": {"kind": "inline"},
            "study": {"max_trials": 6}}
    for key, value in changes.items():
        base[key] = value
    return base


def test_the_optimizer_aims_at_the_reference_point_the_study_measures_with(tmp_path):
    # a reference point different from the thresholds (1.1 for DTLZ2 with 2 objectives)
    config = parse_config(_config(tmp_path, optimizer={"name": "mobo", "seed": 0},
                                  study={"max_trials": 3, "reference_point": [2.5, 3.0]}))
    study = new_study(config)
    try:
        assert np.allclose(study.reference_point, [2.5, 3.0])
        assert np.allclose(study.optimizer.reference_point, study.reference_point)
        assert np.allclose(study.optimizer._reference_point(), study.reference_point)  # mobo's use
        assert np.allclose(study.tracker.ref, study.reference_point)
    finally:
        study.close()


def test_every_trial_records_what_proposed_it_and_export_shows_it(tmp_path):
    config = _config(tmp_path, optimizer={"name": "mobo", "seed": 0, "options": {"n_initial": 4}},
                     study={"max_trials": 7, "initial_designs": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]})
    study = new_study(parse_config(config))
    try:
        study.run()
    finally:
        study.close()
    out = tmp_path / "t.csv"
    result = subprocess.run([sys.executable, "-m", "detopt", "export", str(tmp_path / "seams.db"),
                             "--csv", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    generators = [row["generator"] for row in csv.DictReader(open(out))]
    # the initial design, mobo's 4 Sobol designs (n_initial counts results: the initial one is
    # a result too, so 3 more Sobol designs follow it), then model proposals
    assert generators[0] == "initial"
    assert generators[1:4] == ["sobol"] * 3
    # a Sobol design prepared ahead during the initial phase may still be used right after it
    assert generators[-1] == "mobo" and set(generators[4:]) <= {"sobol", "mobo"}


def test_a_failing_optimizer_is_replaced_by_fallback_designs_marked_as_such(tmp_path):
    problem = build_problem("dtlz2", {"n_objectives": 2, "n_variables": 3})
    optimizer = make_optimizer("sobol", problem.space, problem.objectives)

    def broken_ask(n, pending):
        raise RuntimeError("model exploded")

    optimizer.ask = broken_ask  # type: ignore[method-assign]
    study = Study.create("broken", problem, optimizer, InlineRunner(),
                         Storage(tmp_path / "b.db"), StudySettings(max_trials=3), {"test": True})
    try:
        study.run()
        assert [t.generator for t in study.trials.values()] == ["fallback"] * 3
        assert all(t.status == TrialStatus.COMPLETED for t in study.trials.values())
    finally:
        study.close()


def test_optimizers_receive_immutable_snapshots_not_the_live_trials(tmp_path):
    problem = build_problem("dtlz2", {"n_objectives": 2, "n_variables": 3})
    optimizer = make_optimizer("sobol", problem.space, problem.objectives)
    seen: list = []
    tell = optimizer.tell

    def spying_tell(trials):
        seen.extend(trials)
        tell(trials)

    optimizer.tell = spying_tell  # type: ignore[method-assign]
    study = Study.create("snap", problem, optimizer, InlineRunner(), Storage(tmp_path / "s.db"),
                         StudySettings(max_trials=4), {"test": True})
    try:
        study.run()
    finally:
        study.close()
    # the last result is queued for the next ask, which never came: 3 of 4 were told
    assert len(seen) >= 3 and all(isinstance(t, TrialView) for t in seen)
    live = set(map(id, study.trials.values()))
    assert not any(id(t) in live for t in seen)
    with pytest.raises(TypeError):
        seen[0].params["x1"] = 0.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        seen[0].status = TrialStatus.FAILED  # type: ignore[misc]


def test_task_retries_are_used_when_the_study_sets_none(tmp_path):
    (tmp_path / "flakymod.py").write_text(textwrap.dedent('''
        from pathlib import Path
        import detopt

        @detopt.task(retries=2)
        def run(params, marker):
            path = Path(marker)
            count = int(path.read_text()) if path.exists() else 0
            path.write_text(str(count + 1))
            if count < 2:
                raise RuntimeError("flaky")
            return {"f": params["x"]}
    '''))
    config = {"name": "flaky", "storage": str(tmp_path / "f.db"),
              "problem": {"evaluate": "flakymod:run",
                          "evaluate_options": {"marker": str(tmp_path / "count")},
                          "parameters": [{"name": "x", "low": 0, "high": 1}],
                          "objectives": [{"name": "f"}]},
              "runner": {"kind": "local", "workers": 1}, "study": {"max_trials": 1}}
    study = new_study(parse_config(config, base_dir=tmp_path))
    try:
        study.run()
        (trial,) = study.trials.values()
        assert trial.status == TrialStatus.COMPLETED and trial.attempts == 3
    finally:
        study.close()
    assert str(tmp_path) not in sys.path  # the user's folder was used for the import only


def test_read_only_views_import_neither_torch_nor_the_studys_code(tmp_path):
    (tmp_path / "mysim.py").write_text("def run(params):\n    return {'f': params['x']}\n")
    config = {"name": "own", "storage": "own.db",
              "problem": {"evaluate": "mysim:run", "parameters": [{"name": "x", "low": 0, "high": 1,
                                                                   "unit": "cm"}],
                          "objectives": [{"name": "f", "threshold": 2.0}]},
              "optimizer": {"name": "mobo"}, "runner": {"kind": "inline"},
              "study": {"max_trials": 3}}
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run([sys.executable, "-m", "detopt", "run", str(tmp_path / "own.yaml"),
                          "--no-progress", "--no-report"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    # the module now raises on import: a read-only command must never import it
    (tmp_path / "mysim.py").write_text("raise SystemExit('imported!')\n")
    probe = textwrap.dedent(f'''
        import sys
        from detopt.cli import app
        for args in (["status", "{tmp_path}/own.db"], ["export", "{tmp_path}/own.db", "--csv",
                     "{tmp_path}/own.csv"]):
            try:
                app(args)
            except SystemExit as exc:
                assert exc.code in (0, None), exc.code
        print("torch" in sys.modules, "mysim" in sys.modules, "botorch" in sys.modules)
    ''')
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False False", result.stdout
    assert "3 completed" in result.stdout
    study = open_readonly(tmp_path / "own.db")
    try:
        assert study.problem.space["x"].unit == "cm" and study.optimizer is None
    finally:
        study.storage.close()


@pytest.mark.parametrize("section, value, field, fragment", [
    ("runner", {"kind": "local", "timeout": "1h"}, "runner.timeout", "now called 'walltime'"),
    ("runner", {"kind": "local", "walltime": "inf"}, "runner.walltime", "finite"),
    ("runner", {"kind": "local", "walltime": 1e999}, "runner.walltime", "finite"),
    ("study", {"max_trials": 3, "max_wall_time": "nan"}, "study.max_wall_time", "finite"),
    ("study", {"target_hv": float("nan")}, "study.target_hv", "finite"),
    ("runner", {"kind": "local", "output": 3}, "runner.output", "valid string"),
])
def test_time_limits_have_one_vocabulary_and_must_be_finite(tmp_path, section, value, field, fragment):
    config = _config(tmp_path, **{section: value})
    with pytest.raises(ConfigError) as info:
        from detopt.config import validate

        validate(parse_config(config))
    assert field in str(info.value) and fragment in str(info.value), str(info.value)
