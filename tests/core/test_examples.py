"""Every example configuration validates, and the custom-problem example really runs."""

from pathlib import Path

import pytest

from detopt.config import load_config, validate
from detopt.launch import new_study

EXAMPLES = sorted(Path(__file__).resolve().parents[2].glob("examples/**/*.yaml"))


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"dtlz2.yaml", "drich.yaml", "study.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name + "/" + p.name)
def test_example_validates(path):
    validate(load_config(path))


def test_calorimeter_example_runs_with_its_own_module(tmp_path):
    config = load_config(Path(__file__).resolve().parents[2] / "examples/calorimeter/study.yaml")
    config.storage = str(tmp_path / "cal.db")
    config.study.max_trials = 12
    study = new_study(config)
    outcome = study.run()
    study.close()
    assert outcome.status == "finished"
    completed = [t for t in study.trials.values() if t.status.value == "completed"]
    assert len(completed) == 12  # the design check keeps out stacks deeper than the envelope
    assert all(0 < t.value("containment") <= 1 for t in completed)
    assert all(t.params["n_layers"] * (t.params["absorber_mm"] + t.params["active_mm"]) <= 400
               for t in completed)
    assert all(t.metrics["resolution"][1] > 0 for t in completed)  # (mean, sem) from the user code
