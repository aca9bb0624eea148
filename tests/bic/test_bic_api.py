"""The BIC problem plugin: options, space kinds, determinism, common random numbers, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from detopt.cli import app
from detopt.errors import ConfigError, DetoptError
from detopt.problems import bic
from detopt.problems.bic import rng
from detopt.problems.registry import build_problem
from detopt.space import ChoiceParameter, FixedParameter, FloatParameter, IntParameter

from bickit import evaluate


def test_full_space_mixes_choice_int_and_float():
    problem = build_problem("bic")
    kinds = {p.name: type(p) for p in problem.space.parameters}
    assert [kinds[s] for s in bic.SWITCHES] == [ChoiceParameter] * 5
    assert kinds["capacityADC"] is IntParameter and problem.space["capacityADC"].log
    assert kinds["dynamicRangeADC"] is FloatParameter
    assert kinds["imaging_radiator_thickness"] is FloatParameter
    assert problem.objectives.names == ["energy_resolution", "eta_resolution", "pion_rejection",
                                        "cost"]


def test_switch_space_holds_the_rest():
    problem = build_problem("bic", {"space": "switches", "fixed": {"capacityADC": 65536}})
    assert problem.space.tunable_names == list(bic.SWITCHES)
    assert problem.space["capacityADC"] == FixedParameter(
        "capacityADC", 65536, description=problem.space["capacityADC"].description)
    assert problem.space["dynamicRangeADC"].value == 1500.0


@pytest.mark.parametrize("options, field", [
    ({"events_per_point": 10}, "problem.options.events_per_point"),
    ({"objectives": ["resolution"]}, "problem.options.objectives"),
    ({"fixed": {"nope": 1}}, "problem.options.fixed"),
    ({"fixed": {"capacityADC": 10}}, "problem.options.fixed"),
    ({"eta_range": [-3.0, 0.0]}, "problem.options.eta_range"),
    ({"colour": "red"}, "problem.options.colour"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError) as info:
        build_problem("bic", options)
    assert info.value.field == field


def test_evaluate_rejects_bad_values():
    with pytest.raises(DetoptError, match="not 0 or 1"):
        bic.evaluate({"enable_staves_2": 2}, events_per_point=50)
    with pytest.raises(DetoptError, match="outside"):
        bic.evaluate({"dynamicRangeADC": 500.0}, events_per_point=50)


def test_same_seed_same_result_even_from_fresh_draws():
    a = bic.evaluate(seed=7, events_per_point=200)
    rng.draws.cache_clear()
    b = bic.evaluate(seed=7, events_per_point=200)
    c = bic.evaluate(seed=8, events_per_point=200)
    assert a == b
    assert a["energy_resolution"] != c["energy_resolution"]


def test_common_random_numbers_make_small_changes_small():
    """A 0.01 cm change of the radiator moves each resolution by less than half its standard
    error (independent random numbers would move it by about one and a half)."""
    base = evaluate()
    near = evaluate({"imaging_radiator_thickness":
                     bic.NOMINAL["imaging_radiator_thickness"] + 0.01})
    for name in ("energy_resolution", "eta_resolution"):
        assert abs(near[name][0] - base[name][0]) < 0.5 * base[name][1], name


def test_problem_evaluates_through_its_task_reference():
    problem = build_problem("bic", {"events_per_point": 100,
                                    "objectives": ["cost", "eta_resolution"]})
    result = problem.evaluate_here(problem.space.decode(np.full(problem.space.dim, 0.99)))
    assert set(result) == {"cost", "eta_resolution"}
    assert result["cost"][0] == 6.0


def test_show_writes_a_picture(tmp_path):
    out = tmp_path / "bic.png"
    result = CliRunner().invoke(app, ["bic", "show", "-p", "enable_staves_2=1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000


def test_show_rejects_a_bad_override(tmp_path):
    result = CliRunner().invoke(app, ["bic", "show", "-p", "capacityADC=big", "-o",
                                      str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "capacityADC" in result.output
