"""The linear-constraint parser: valid forms become coefficients and a bound; malformed or
non-linear text is rejected with a message naming the problem (never evaluated as Python)."""

import pytest

from detopt.errors import ConstraintSyntaxError
from detopt.expressions import parse_inequality

NAMES = ["mirror_radius", "snout_length", "a", "b", "x1", "x2"]


@pytest.mark.parametrize("text, coefficients, sense, bound", [
    ("mirror_radius + 2*snout_length <= 300", {"mirror_radius": 1, "snout_length": 2}, "<=", 300),
    ("a >= -1.5", {"a": 1}, ">=", -1.5),
    ("-a - b >= -10", {"a": -1, "b": -1}, ">=", -10),
    ("2*(a + b)/4 <= 1 + a", {"a": -0.5, "b": 0.5}, "<=", 1),
    ("3 <= a", {"a": -1}, "<=", -3),
    ("a * 2 - 0.5e1 < b", {"a": 2, "b": -1}, "<=", 5),
    ("x1 + x2 ≤ 1", {"x1": 1, "x2": 1}, "<=", 1),
    ("a - -b >= +2", {"a": 1, "b": 1}, ">=", 2),
    ("1e-3*a + .5*b <= 7", {"a": 1e-3, "b": 0.5}, "<=", 7),
])
def test_valid_constraints(text, coefficients, sense, bound):
    ineq = parse_inequality(text, known_names=NAMES)
    assert dict(ineq.coefficients) == pytest.approx(coefficients)
    assert ineq.sense == sense
    assert ineq.bound == pytest.approx(bound)


def test_slack_sign_follows_satisfaction():
    ineq = parse_inequality("mirror_radius + 2*snout_length <= 300")
    assert ineq.slack({"mirror_radius": 250, "snout_length": 20}) == pytest.approx(10)
    assert ineq.slack({"mirror_radius": 280, "snout_length": 20}) == pytest.approx(-20)
    assert not ineq.is_satisfied({"mirror_radius": 280, "snout_length": 20})
    coefs, bound = parse_inequality("a >= 2").as_less_equal()
    assert coefs == {"a": -1.0} and bound == -2.0


@pytest.mark.parametrize("text, fragment", [
    ("a*b <= 1", "product of two parameters"),
    ("a/b <= 1", "dividing by a parameter"),
    ("a/0 <= 1", "division by zero"),
    ("a + * b <= 2", "unexpected '*'"),
    ("a + b", "ends before the comparison"),
    ("a <= ", "ends before the comparison"),
    ("a == 1", "equality"),
    ("2 a <= 1", "unexpected 'a'"),
    ("a <= 1 <= 2", "unexpected"),
    ("a - a <= 1", "involves no parameter"),
    ("__import__('os') <= 1", "unexpected"),
    ("a ** 2 <= 1", "unexpected"),
    ("", "non-empty"),
    ("c + a <= 1", "unknown name 'c'"),
    ("a <= 1; b <= 2", "unexpected character"),
])
def test_malformed_constraints_are_rejected_with_a_reason(text, fragment):
    with pytest.raises(ConstraintSyntaxError) as info:
        parse_inequality(text, known_names=NAMES, field="constraints[0]")
    message = str(info.value)
    assert fragment in message
    assert message.startswith("constraints[0]:")
    assert "Fix:" in message
