"""examples/drich_pipeline: the dRICH as a pipeline (geometry edit -> overlap gate -> 8
simulate jobs -> analysis) gives exactly what the fast model gives in one process."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pipekit import run, stored

from detopt.problems import drich
from detopt.trial import TrialStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "drich_pipeline"
TRACKS = 100


def test_the_pipeline_reproduces_the_fast_model_and_gates_overlaps(tmp_path):
    cfg = yaml.safe_load((EXAMPLE / "study.yaml").read_text())
    cfg["storage"] = str(tmp_path / "drich.db")
    cfg["problem"]["pipeline"]["workdir"] = str(tmp_path / "work")
    simulate = cfg["problem"]["pipeline"]["stages"][1]
    simulate["command"][simulate["command"].index("--tracks") + 1] = str(TRACKS)
    nominal = cfg["study"]["initial_designs"][0]
    overlapping = {**nominal, "sensor_centerx": 215.0}  # a photodetector leaves the vessel
    cfg["optimizer"] = {"name": "sobol"}
    cfg["runner"] = {"kind": "local", "workers": 2}
    cfg["study"] = {"max_trials": 2, "initial_designs": [nominal, overlapping]}
    run(cfg, EXAMPLE)
    trials, attempts, states = stored(cfg)

    t = trials[0]
    assert t.status == TrialStatus.COMPLETED, t.error
    expected = drich.evaluate(nominal, tracks_per_point=TRACKS, seed=12345)
    for name, (mean, sem) in expected.items():
        assert t.metrics[name] == (pytest.approx(mean, rel=1e-12), pytest.approx(sem, rel=1e-12))
    jobs = states[0]["stages"]["simulate"]["jobs"]
    assert [(j["payload"]["point"], j["payload"]["species"]) for j in jobs] == \
        [(p, s) for p in (0, 1, 6, 7) for s in ("pi", "K")]
    assert all(j["outputs"]["photons"] > 0 for j in jobs)
    root = tmp_path / "work" / "t0" / "a1"
    assert 'radius="219.8*cm"' in (root / "geometry" / "compact" / "drich.xml").read_text()
    assert not list(root.glob("simulate/*/sim.root"))  # cleaned up after collection
    assert (root / "analyse" / "j0" / "metrics.json").is_file()

    bad = trials[1]
    assert bad.status == TrialStatus.FAILED and len([a for a in attempts if a["trial_index"] == 1]) == 1
    assert "infeasible design: constraint 'overlaps' violated: the geometry has overlaps" in bad.error
    assert "simulate" not in states[1]["stages"]
    out = (tmp_path / "work" / "t1" / "a1" / "overlaps" / "j0" / "stdout.txt").read_text()
    assert "Overlap: pdu_in_vessel" in out and "Number of illegal overlaps/extrusions : 1" in out
