"""mobo on the BIC's mixed space (choice, log-int, float): a real study to 100 trials.

Only the proposals are under test here, so the simulation runs with few events (100 per
point, about 0.1 s per design; the physics tests use the default 1000), with two of the four
objectives and mobo's cheaper acquisition settings: with all four objectives and the default
settings a proposal costs about 3 s of CPU at 30-40 results on this space (measured on the
shared machine, see docs/benchmarks.md), which is what benchmarks/bench_bic.py runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detopt.config import load_config
from detopt.launch import new_study
from detopt.problems import bic
from detopt.space import ChoiceParameter, FloatParameter, IntParameter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bic.yaml"


CHEAP_MOBO = {"num_restarts": 1, "raw_samples": 32, "mc_samples": 16, "acq_max_iter": 20,
              "fit_max_iter": 50}


def _run_example(tmp_path, *, optimizer: str, max_trials: int, events: int, seed: int = 7,
                 objectives: list[str] | None = None, options: dict | None = None):
    config = load_config(EXAMPLE)
    config.storage = str(tmp_path / "bic.db")
    config.problem.options["events_per_point"] = events
    if objectives:
        config.problem.options["objectives"] = objectives
    config.optimizer.name = optimizer
    config.optimizer.seed = seed
    config.optimizer.options = dict(options or {})
    config.runner = type(config.runner).model_validate({"kind": "inline"})
    config.study.max_trials = max_trials
    study = new_study(config)
    outcome = study.run()
    study.close()
    return study, outcome


def _assert_valid_and_distinct(study, n: int) -> None:
    trials = sorted(study.trials.values(), key=lambda t: t.index)
    assert len(trials) == n
    assert all(t.status.value == "completed" for t in trials)
    keys = set()
    for t in trials:
        p = t.params
        for spec in study.problem.space.tunable:
            v = p[spec.name]
            if isinstance(spec, ChoiceParameter):
                assert v in (0, 1) and type(v) is int, (spec.name, v)
            elif isinstance(spec, IntParameter):
                assert isinstance(v, int) and spec.low <= v <= spec.high, (spec.name, v)
            elif isinstance(spec, FloatParameter):
                assert spec.low <= v <= spec.high, (spec.name, v)
        keys.add(tuple((k, round(v, 9) if isinstance(v, float) else v)
                       for k, v in sorted(p.items())))
    assert len(keys) == n, f"{n - len(keys)} duplicate proposals"
    assert {t.params["capacityADC"] for t in trials} != {16384}   # the int axis is explored
    for s in bic.SWITCHES:                                         # so is every switch
        assert {t.params[s] for t in trials} == {0, 1}


@pytest.mark.slow
@pytest.mark.timeout(3600)   # about 2 CPU minutes; the wall time grows on a shared machine
def test_mobo_runs_100_trials_on_the_mixed_space(tmp_path):
    study, outcome = _run_example(tmp_path, optimizer="mobo", max_trials=100, events=100,
                                  objectives=["energy_resolution", "pion_rejection"],
                                  options=CHEAP_MOBO)
    assert outcome.status == "finished"
    _assert_valid_and_distinct(study, 100)


def test_sobol_proposals_are_valid_on_the_mixed_space(tmp_path):
    """The same checks on a short Sobol study (fast): the encoding of the space is sound."""
    study, outcome = _run_example(tmp_path, optimizer="sobol", max_trials=12, events=50)
    assert outcome.status == "finished"
    _assert_valid_and_distinct(study, 12)
