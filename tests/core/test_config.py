"""YAML configuration: defaults, built-in overrides, paths, and resuming from the stored copy."""

import pytest
import yaml

from detopt.config import build_problem, load_config, parse_config, storage_target
from detopt.errors import ConfigError
from detopt.launch import new_study, resume_study


def test_builtin_objective_overrides_keep_the_direction():
    config = parse_config({"name": "x", "problem": {
        "builtin": "drich", "objectives": [{"name": "acceptance", "threshold": 0.7}],
        "outcome_constraints": ["piKsep_etalow >= 3"]}})
    objectives = build_problem(config).objectives
    assert [(o.name, o.direction, o.threshold) for o in objectives] == [
        ("piKsep_etalow", "maximize", 3.62), ("piKsep_etahigh", "maximize", 4.04),
        ("acceptance", "maximize", 0.7)]
    assert [str(c) for c in objectives.outcome_constraints] == ["piKsep_etalow >= 3"]


def test_custom_problem_and_default_storage_next_to_the_file(tmp_path):
    path = tmp_path / "sub" / "s.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"name": "custom", "problem": {
        "evaluate": "detopt.problems.synthetic:sphere",
        "parameters": [{"name": "a", "low": 0, "high": 1}, {"name": "n", "type": "int", "low": 1, "high": 3},
                       {"name": "c", "type": "choice", "values": ["x", "y"]},
                       {"name": "k", "type": "fixed", "value": 2}],
        "constraints": ["a + n <= 3"], "objectives": [{"name": "f1"}, {"name": "f2", "threshold": 5}]}}))
    config = load_config(path)
    assert storage_target(config) == f"sqlite:///{tmp_path / 'sub' / 'runs' / 'custom.db'}"
    problem = build_problem(config)
    assert problem.space.dim == 3 and problem.space.names == ["a", "n", "c", "k"]
    assert [o.direction for o in problem.objectives] == ["minimize", "minimize"]
    assert problem.objectives.reference_point() is None  # f1 has no threshold


def test_resume_uses_the_stored_configuration_when_the_file_is_gone(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "stored", "problem": {"builtin": "dtlz2", "options": {"n_objectives": 2, "n_variables": 3}},
        "optimizer": {"name": "nsga2", "seed": 4, "options": {"pop_size": 6}},
        "runner": {"kind": "inline"},
        "study": {"max_trials": 8, "initial_designs": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]}}))
    study = new_study(path)
    assert [t.generator for t in study.trials.values()] == ["initial"]
    study.run()
    study.close()
    path.unlink()
    resumed = resume_study(tmp_path / "runs" / "stored.db", overrides={"max_trials": 12})
    assert resumed.optimizer.name == "nsga2" and resumed.optimizer.pop_size == 6
    assert resumed.run().trials_finished == 4
    assert resumed.trials[0].params == {"x1": 0.5, "x2": 0.5, "x3": 0.5}
    resumed.close()


def test_unknown_builtin_objective_is_named():
    config = parse_config({"name": "x", "problem": {"builtin": "dtlz2", "objectives": [{"name": "g"}]}})
    with pytest.raises(ConfigError, match=r"problem\.objectives\[0\]\.name"):
        build_problem(config)
