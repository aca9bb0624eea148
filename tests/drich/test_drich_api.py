"""Public API of detopt.problems.drich: declarations, determinism, common random numbers, PNG."""

from __future__ import annotations

import math

import numpy as np

from detopt.problems import drich

SEVEN = ["mirror_radius", "mirror_centerx", "sensor_radius", "sensor_centerx", "sensor_dz",
         "snout_length", "aerogel_thickness"]


def test_parameter_and_objective_declarations():
    assert [p["name"] for p in drich.PARAMETERS] == SEVEN
    for p in drich.PARAMETERS + drich.OPTIONAL_PARAMETERS:
        assert {"name", "low", "high", "nominal", "unit", "description"} <= set(p)
        assert p["low"] <= p["nominal"] <= p["high"]
    assert [p["name"] for p in drich.OPTIONAL_PARAMETERS] == ["aerogel_index"]
    assert drich.NOMINAL == {p["name"]: p["nominal"] for p in drich.PARAMETERS}
    assert drich.DEFAULT_OBJECTIVES == ("piKsep_etalow", "piKsep_etahigh", "acceptance")
    thresholds = {k: drich.OBJECTIVES[k]["threshold"] for k in drich.DEFAULT_OBJECTIVES}
    assert thresholds == {"piKsep_etalow": 3.62, "piKsep_etahigh": 4.04, "acceptance": 0.80}
    assert all(o["direction"] == "maximize" and o["description"] for o in drich.OBJECTIVES.values())


def test_same_seed_same_result_and_seeds_differ():
    a = drich.evaluate({}, tracks_per_point=200)
    b = drich.evaluate({}, tracks_per_point=200)
    c = drich.evaluate({}, tracks_per_point=200, seed=7)
    assert a == b
    assert a != c
    assert set(a) == {"piKsep_etalow", "piKsep_etahigh", "acceptance"}


def test_missing_parameters_take_nominal_values():
    explicit = drich.evaluate(dict(drich.NOMINAL), tracks_per_point=150)
    assert drich.evaluate({}, tracks_per_point=150) == explicit


def test_common_random_numbers_make_the_surface_smooth():
    """A 0.5 mm mirror move changes the objectives by far less than the seed noise (~0.03)."""
    base = drich.evaluate({}, tracks_per_point=400, sem="none")
    moved = drich.evaluate({"mirror_centerx": 114.65}, tracks_per_point=400, sem="none")
    for name in base:
        assert abs(moved[name][0] - base[name][0]) < 0.01, name
    # and the objective is not flat: a 5 cm move changes it clearly
    far = drich.evaluate({"mirror_centerx": 119.6}, tracks_per_point=400, sem="none")
    assert abs(far["piKsep_etahigh"][0] - base["piKsep_etahigh"][0]) > 0.05


def test_optional_objectives():
    names = [k for k in drich.OBJECTIVES if k not in drich.DEFAULT_OBJECTIVES]
    result = drich.evaluate({}, tracks_per_point=300, objectives=names)
    assert set(result) == set(names)
    for name, (mean, sem) in result.items():
        assert math.isfinite(mean) and mean > 0 and 0 <= sem < 0.2 * mean, name
    assert result["kp_reach_gas"][0] > result["pik_reach_gas"][0] > result["pik_reach_aerogel"][0]
    assert result["kp_sep_etalow"][0] > 5.0  # K/p is easy at 15 GeV/c in the aerogel


def test_bootstrap_sem_is_a_sensible_noise_estimate():
    seeds = [drich.evaluate({}, tracks_per_point=300, seed=s, sem="none")["piKsep_etahigh"][0]
             for s in range(6)]
    sem = drich.evaluate({}, tracks_per_point=300)["piKsep_etahigh"][1]
    # stratified sampling makes the bootstrap (which assumes iid tracks) conservative
    assert 0.5 * np.std(seeds, ddof=1) < sem < 4.0 * np.std(seeds, ddof=1)


def test_draw_design_writes_a_png(tmp_path):
    out = drich.draw_design({"mirror_radius": 200.0}, tmp_path / "design.png", n_photons_shown=50,
                            tracks_per_bunch=5)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000
