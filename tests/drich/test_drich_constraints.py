"""Geometric constraint proxies and the fail-fast policy of ``evaluate``."""

from __future__ import annotations

import time

import pytest

from detopt.errors import DetoptError, InfeasibleDesignError
from detopt.problems import drich
from detopt.problems.drich import model


def test_nominal_design_is_feasible_with_the_reference_sensor_area():
    margins = drich.constraint_margins({})
    assert set(margins) == set(drich.CONSTRAINTS)
    assert min(margins.values()) >= 0
    # reference 4.8: 0.64 m^2 per sector, 3.8 m^2 in total
    assert drich.patch_area_m2({}) == pytest.approx(0.64, rel=0.02)


@pytest.mark.parametrize("params, violated", [
    ({"snout_length": 10.0}, "pdu_in_vessel"),  # services poke through the snout cone
    ({"snout_length": 17.5}, "pdu_in_vessel"),
    ({"sensor_centerx": 215.0}, "pdu_in_vessel"),  # sensors leave the sensor box
    ({"sensor_centerx": 200.0}, "pdu_in_vessel"),
    ({"mirror_centerx": 160.0, "mirror_radius": 180.0}, "mirror_behind_sensor_box"),
])
def test_known_bad_geometries_are_rejected(params, violated):
    margins = drich.constraint_margins(params)
    assert margins[violated] < 0
    with pytest.raises(InfeasibleDesignError) as err:
        drich.evaluate(params)
    assert err.value.constraint in {k for k, v in margins.items() if v < 0}
    assert err.value.margin < 0
    assert not err.value.retryable


@pytest.mark.parametrize("params", [
    {"snout_length": 20.0}, {"snout_length": 25.0}, {"sensor_centerx": 185.0},
    {"mirror_centerx": 160.0}, {"mirror_radius": 180.0}, {"sensor_radius": 500.0},
    {"sensor_dz": 0.0}, {"aerogel_thickness": 6.0},
])
def test_reference_feasible_designs_are_accepted(params):
    # reference 5.7: only snout < 20 cm and sensor_centerx 200/215 fail among the scans
    assert min(drich.constraint_margins(params).values()) >= 0


def test_infeasible_design_fails_before_any_tracing(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("simulation must not start for an infeasible design")

    monkeypatch.setattr(model, "simulate", boom)
    start = time.perf_counter()
    with pytest.raises(InfeasibleDesignError):
        drich.evaluate({"snout_length": 10.0})
    assert time.perf_counter() - start < 5.0  # generous: only catches an accidental trace


def test_margins_are_continuous_in_the_parameters():
    values = [drich.constraint_margins({"snout_length": s})["pdu_in_vessel"]
              for s in (17.0, 17.01, 17.02)]
    assert abs(values[1] - values[0]) < 0.05 and abs(values[2] - values[1]) < 0.05
    assert values[0] < values[1] < values[2]  # a longer snout moves the PDUs downstream


def test_outcome_mode_returns_margins_instead_of_raising():
    result = drich.evaluate({"snout_length": 10.0}, tracks_per_point=50, constraints="outcome",
                            sem="none")
    assert result["margin_pdu_in_vessel"][0] < 0
    assert result["margin_pdu_in_vessel"][1] == 0.0
    assert {"piKsep_etalow", "piKsep_etahigh", "acceptance"} <= set(result)


@pytest.mark.parametrize("kwargs, field", [
    ({"params": {"mirror_radiuss": 200}}, "params.mirror_radiuss"),
    ({"params": {"mirror_radius": 300}}, "params.mirror_radius"),
    ({"params": {"mirror_radius": "big"}}, "params.mirror_radius"),
    ({"preset": "calibrated"}, "preset"),
    ({"objectives": ["pion_kaon"]}, "objectives"),
    ({"sem": "jackknife"}, "sem"),
    ({"constraints": "penalty"}, "constraints"),
])
def test_user_errors_name_the_field_and_the_fix(kwargs, field):
    params = kwargs.pop("params", {})
    with pytest.raises(DetoptError) as err:
        drich.evaluate(params, tracks_per_point=50, **kwargs)
    assert err.value.field == field
    assert err.value.fix
    with pytest.raises(DetoptError):
        drich.constraint_margins({"not_a_parameter": 1.0})


def test_design_check_agrees_with_evaluate():
    assert drich.design_check(drich.NOMINAL) is None
    reason = drich.design_check({"snout_length": 10.0})
    assert reason.startswith("constraint 'pdu_in_vessel' violated (margin -")
    with pytest.raises(InfeasibleDesignError):
        drich.evaluate({"snout_length": 10.0}, tracks_per_point=50)


@pytest.mark.parametrize("method", ["sobol", "nsga2"])
def test_default_problem_proposes_no_overlapping_design(method):
    """constraints: check (the default) makes the overlap proxies the space's design check."""
    from detopt.optimizers.base import make_optimizer
    from detopt.problems.registry import build_problem
    from detopt.trial import Trial, TrialStatus

    problem = build_problem("drich", {})
    assert problem.evaluate_options["constraints"] == "fail"  # a design run anyway still fails fast
    opt = make_optimizer(method, problem.space, problem.objectives, seed=2,
                         options={"pop_size": 8} if method == "nsga2" else None)
    for i in range(40):
        params = opt.ask(1, [])[0]
        assert drich.design_check(params) is None, params
        # cheap stand-in metrics: only the proposals are under test here
        values = {"piKsep_etalow": params["mirror_centerx"] / 30,
                  "piKsep_etahigh": 300 / params["mirror_centerx"], "acceptance": 0.9}
        opt.tell([Trial(index=i, params=params, status=TrialStatus.COMPLETED,
                        metrics={k: (v, None) for k, v in values.items()})])
    unchecked = build_problem("drich", {"constraints": "fail"}).space
    assert unchecked.check is None
    assert sum(drich.design_check(p) is not None for p in unchecked.sample(64)) > 0
