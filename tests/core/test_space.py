"""Design space: validation, unit-cube encoding, linear constraints in the cube, Sobol sampling."""

import numpy as np
import pytest

from detopt.errors import ConfigError, DetoptError
from detopt.space import ChoiceParameter, FixedParameter, FloatParameter, IntParameter, Space


def mixed_space(constraints=()):
    return Space([FloatParameter("a", 0.0, 10.0), IntParameter("n", 1, 5),
                  FloatParameter("lr", 1e-4, 1.0, log=True), ChoiceParameter("c", ("x", "y", "z")),
                  FixedParameter("f", 3)], constraints)


def test_encode_decode_round_trip_and_fixed_parameters():
    space = mixed_space()
    assert space.dim == 4
    for params in space.sample(64, seed=3):
        assert params["f"] == 3
        assert space.decode(space.encode(params)) == pytest.approx(params)
        assert np.all((space.encode(params) >= 0) & (space.encode(params) <= 1))


def test_integers_get_equal_shares_of_the_cube():
    space = Space([IntParameter("n", 1, 4)])
    values = [space.decode(np.array([u]))["n"] for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(values)[1:]
    assert counts.min() > 900 and counts.max() < 1100


def test_log_scale_spreads_decades_evenly():
    space = Space([FloatParameter("lr", 1e-4, 1.0, log=True)])
    decades = np.floor(np.log10([p["lr"] for p in space.sample(1024)]))
    assert set(np.unique(decades)) == {-4, -3, -2, -1}
    assert np.bincount((decades + 4).astype(int)).min() > 200


def test_sobol_samples_honour_linear_constraints_and_are_reproducible():
    space = mixed_space(["a + 2*n <= 8", "a >= 1"])
    first = space.sample(200, seed=5)
    assert all(p["a"] + 2 * p["n"] <= 8 + 1e-9 and p["a"] >= 1 for p in first)
    assert first == space.sample(200, seed=5)
    assert first != space.sample(200, seed=6)
    stream = space.sobol(5)
    assert stream.params(150) == first[150]


def test_linear_constraints_map_exactly_into_the_unit_cube():
    space = Space([FloatParameter("x", 100, 200), FloatParameter("y", -5, 5)], ["x + 10*y <= 180"])
    A, b = space.linear_constraints_unit()
    rng = np.random.default_rng(0)
    for u in rng.random((500, 2)):
        params = space.decode(u)
        assert (A @ u <= b + 1e-9)[0] == space.is_feasible(params)


def test_validate_names_the_offending_parameter():
    space = mixed_space()
    good = {"a": 1.0, "n": 2, "lr": 0.01, "c": "y"}
    assert space.validate(good)["f"] == 3
    cases = [({**good, "a": 11.0}, "params.a"), ({**good, "n": 2.5}, "params.n"),
             ({**good, "c": "w"}, "params.c"), ({**good, "zzz": 1}, "unknown parameter 'zzz'"),
             ({k: v for k, v in good.items() if k != "lr"}, "params.lr"),
             ({**good, "a": "1"}, "expected a number")]
    for params, fragment in cases:
        with pytest.raises(DetoptError, match=fragment.replace(".", r"\.")):
            space.validate(params)


@pytest.mark.parametrize("parameters, constraints, fragment", [
    ([FloatParameter("a", 1, 0)], [], "low"),
    ([FloatParameter("a", 0, 1, log=True)], [], "log-scale"),
    ([FloatParameter("a", 0, 1), FloatParameter("a", 0, 2)], [], "defined twice"),
    ([ChoiceParameter("c", ("x",))], [], "at least two"),
    ([FixedParameter("f", 1)], [], "no tunable"),
    ([FloatParameter("a", 1e-3, 1, log=True), FloatParameter("b", 0, 1)], ["a + b <= 1"], "log"),
    ([FloatParameter("a", 0, 1)], ["a + q <= 1"], "unknown name"),
    ([FloatParameter("bad name", 0, 1)], [], "identifier"),
])
def test_invalid_spaces_are_config_errors(parameters, constraints, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Space(parameters, constraints)


def test_contradictory_constraints_are_rejected_when_the_space_is_built():
    with pytest.raises(ConfigError, match="cannot all hold"):
        Space([FloatParameter("a", 0, 1), FloatParameter("b", 0, 1)], ["a + b >= 2.5"])


def test_a_sliver_of_feasible_space_fails_with_a_clear_error():
    space = Space([FloatParameter("a", 0, 1), FloatParameter("b", 0, 1)], ["a + b >= 1.99999999"])
    with pytest.raises(DetoptError, match="almost no feasible point"):
        space.sample(1)


def _overlap(params):
    """A design check: a non-linear known constraint (outside the circle of radius 0.5)."""
    return "inside the circle" if (params["a"] - 0.5) ** 2 + (params["b"] - 0.5) ** 2 < 0.25 \
        else None


def test_the_design_check_filters_samples_and_names_its_reason():
    space = Space([FloatParameter("a", 0, 1), FloatParameter("b", 0, 1)], check=_overlap)
    points = space.sample(64, seed=3)
    assert all(_overlap(p) is None for p in points)
    assert not space.is_feasible({"a": 0.5, "b": 0.5})
    mask = space.feasible_mask([{"a": 0.5, "b": 0.5}, {"a": 0.0, "b": 0.0}])
    assert mask.tolist() == [False, True]
    assert space.rejection({"a": 0.5, "b": 0.5}) == "fails the design check: inside the circle"
    with pytest.raises(DetoptError, match="initial.*design check: inside the circle") as err:
        space.validate_design({"a": 0.5, "b": 0.6}, field_prefix="initial")
    assert err.value.field == "initial"


def test_the_design_check_can_be_a_reference_and_a_bad_one_is_a_config_error():
    space = Space([FloatParameter("snout_length", 10, 25)],
                  check="detopt.problems.drich:design_check")
    assert space.rejection({"snout_length": 20.0}) is None
    assert "'pdu_in_vessel' violated" in space.rejection({"snout_length": 10.0})
    with pytest.raises(ConfigError, match="no 'nope'") as err:
        Space([FloatParameter("a", 0, 1)], check="detopt.problems.drich:nope")
    assert err.value.field == "check"


def test_linear_constraints_are_checked_before_the_design_check():
    calls = []

    def check(params):
        calls.append(params)
        return None

    space = Space([FloatParameter("a", 0, 1), FloatParameter("b", 0, 1)], ["a + b <= 1"],
                  check=check)
    assert space.rejection({"a": 0.9, "b": 0.9}) == "breaks the constraint 'a + b <= 1'"
    assert space.feasible_mask([{"a": 0.9, "b": 0.9}]).tolist() == [False]
    assert calls == []
