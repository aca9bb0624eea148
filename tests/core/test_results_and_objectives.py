"""Result parsing (mean/sem forms, NaN, missing or mistyped metrics) and objective conventions."""

import math

import numpy as np
import pytest

from detopt.errors import ConfigError, InvalidResultError
from detopt.objectives import Objective, ObjectiveSet, OutcomeConstraint
from detopt.trial import parse_result


def test_accepted_result_forms():
    raw = {"a": 1, "b": (2.0, 0.1), "c": {"mean": 3.0, "sem": 0.2}, "d": np.float32(4.5),
           "extra": 7.0}
    parsed = parse_result(raw, ["a", "b", "c", "d"])
    assert parsed == {"a": (1.0, None), "b": (2.0, 0.1), "c": (3.0, pytest.approx(0.2)),
                      "d": (4.5, None), "extra": (7.0, None)}


@pytest.mark.parametrize("raw, fragment", [
    ({"a": math.nan}, "metric 'a' is NaN"),
    ({"a": (1.0, math.nan)}, "sem of metric 'a' is NaN"),
    ({"a": math.inf}, "infinite"),
    ({"b": 1.0}, "metric 'a' is missing"),
    ({"a": "1.0"}, "expected a number"),
    ({"a": [1.0, 2.0, 3.0]}, "expected (mean, sem)"),
    ({"a": (1.0, -0.1)}, "negative"),
    ({"a": {"sem": 0.1}}, "without 'mean'"),
    ([1.0], "expected a dict"),
    (None, "expected a dict"),
    ({"a": True}, "expected a number"),
])
def test_unusable_results_fail_with_the_metric_named(raw, fragment):
    with pytest.raises(InvalidResultError) as info:
        parse_result(raw, ["a"])
    assert fragment in str(info.value)


def test_minimization_form_and_reference_point():
    objs = ObjectiveSet([Objective("sep", "maximize", threshold=3.62),
                         Objective("cost", "minimize", threshold=100.0)])
    assert list(objs.to_minimization(np.array([[4.0, 50.0]]))[0]) == [-4.0, 50.0]
    assert list(objs.reference_point()) == [-3.62, 100.0]
    assert list(objs.reference_point([1.0, 2.0])) == [-1.0, 2.0]
    assert ObjectiveSet([Objective("a"), Objective("b", threshold=1.0)]).reference_point() is None
    with pytest.raises(ConfigError, match="one value per objective"):
        objs.reference_point([1.0])


def test_outcome_constraints_parse_and_normalise():
    c = OutcomeConstraint.parse("-2*acceptance <= -1.5")
    assert (c.metric, c.sense, c.bound) == ("acceptance", ">=", pytest.approx(0.75))
    assert c.slack(0.8) == pytest.approx(0.05) and c.violation(0.7) == pytest.approx(0.05)
    objs = ObjectiveSet([Objective("f")], ["acceptance >= 0.75"])
    assert objs.required_metrics == ["f", "acceptance"]
    assert not objs.is_feasible({"f": 1.0, "acceptance": 0.7})
    with pytest.raises(ConfigError, match="exactly one"):
        OutcomeConstraint.parse("a + b <= 1")


def test_objective_validation():
    with pytest.raises(ConfigError, match="direction"):
        Objective("f", "upwards")
    with pytest.raises(ConfigError, match="listed twice"):
        ObjectiveSet([Objective("f"), Objective("f")])
