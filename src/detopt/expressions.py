"""Parsing of linear inequalities written as text, e.g. ``"mirror_radius + 2*snout_length <= 300"``.

Constraint strings come from users' YAML files, so they are parsed with a grammar (lark) into
coefficients and a bound. Nothing is ever evaluated as Python. Both sides may hold any linear
expression: sums, differences, products and quotients by numbers, parentheses and unary minus.
A product of two parameters, a division by a parameter or an equality is rejected with a message
that says why and what to write instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

import lark

from detopt.errors import ConstraintSyntaxError

_GRAMMAR = r"""
?start: comparison
comparison: sum COMPARATOR sum
?sum: product
    | sum "+" product   -> add
    | sum "-" product   -> sub
?product: unary
    | product "*" unary -> mul
    | product "/" unary -> div
?unary: atom
    | "-" unary         -> neg
    | "+" unary
?atom: NUMBER           -> number
    | NAME              -> variable
    | "(" sum ")"
COMPARATOR: "<=" | ">=" | "<" | ">" | "==" | "=" | "≤" | "≥"
NAME: /[A-Za-z_][A-Za-z0-9_.]*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/
%import common.WS
%ignore WS
"""

Sense = Literal["<=", ">="]


@dataclass(frozen=True)
class _Linear:
    """A linear form: sum(coefficients[name] * name) + constant."""

    coefficients: tuple[tuple[str, float], ...]
    constant: float

    @property
    def is_constant(self) -> bool:
        return not self.coefficients

    def scaled(self, factor: float) -> _Linear:
        return _Linear(tuple((n, c * factor) for n, c in self.coefficients), self.constant * factor)

    def plus(self, other: _Linear) -> _Linear:
        merged: dict[str, float] = dict(self.coefficients)
        for name, coef in other.coefficients:
            merged[name] = merged.get(name, 0.0) + coef
        return _Linear(tuple(merged.items()), self.constant + other.constant)


class _ToLinear(lark.Transformer):
    """Reduces the parse tree to linear forms, rejecting anything non-linear."""

    def __init__(self, text: str, field: str | None):
        super().__init__()
        self._text = text
        self._field = field

    def _fail(self, message: str, fix: str) -> None:
        raise ConstraintSyntaxError(f"'{self._text}': {message}.", field=self._field, fix=fix)

    def number(self, items):
        return _Linear((), float(items[0]))

    def variable(self, items):
        return _Linear(((str(items[0]), 1.0),), 0.0)

    def neg(self, items):
        return items[0].scaled(-1.0)

    def add(self, items):
        return items[0].plus(items[1])

    def sub(self, items):
        return items[0].plus(items[1].scaled(-1.0))

    def mul(self, items):
        left, right = items
        if not left.is_constant and not right.is_constant:
            self._fail("a product of two parameters is not linear",
                       "write linear terms such as '2*a + b'; model products as a derived parameter")
        if left.is_constant:
            return right.scaled(left.constant)
        return left.scaled(right.constant)

    def div(self, items):
        left, right = items
        if not right.is_constant:
            self._fail("dividing by a parameter is not linear",
                       "multiply both sides by the divisor only if its sign is fixed, e.g. 'a <= 2*b'")
        if right.constant == 0.0:
            self._fail("division by zero", "remove the '/ 0'")
        return left.scaled(1.0 / right.constant)


@dataclass(frozen=True)
class LinearInequality:
    """``sum(coefficients[name] * name)  sense  bound`` with all terms moved to the left.

    Attributes:
        coefficients: parameter name -> coefficient (zero coefficients are dropped).
        sense: ``"<="`` or ``">="``. Strict inequalities are stored as non-strict ones: for
            continuous parameters the difference has measure zero.
        bound: right-hand side constant.
        text: the original text, for messages.
    """

    coefficients: Mapping[str, float]
    sense: Sense
    bound: float
    text: str

    @property
    def names(self) -> list[str]:
        return list(self.coefficients)

    def lhs(self, values: Mapping[str, float]) -> float:
        return sum(coef * float(values[name]) for name, coef in self.coefficients.items())

    def slack(self, values: Mapping[str, float]) -> float:
        """Distance to the boundary: ``>= 0`` when satisfied, negative when violated."""
        lhs = self.lhs(values)
        return self.bound - lhs if self.sense == "<=" else lhs - self.bound

    def is_satisfied(self, values: Mapping[str, float], tolerance: float = 1e-9) -> bool:
        scale = max(1.0, abs(self.bound))
        return self.slack(values) >= -tolerance * scale

    def as_less_equal(self) -> tuple[dict[str, float], float]:
        """Coefficients and bound of the equivalent ``a·x <= b`` form."""
        if self.sense == "<=":
            return dict(self.coefficients), self.bound
        return {n: -c for n, c in self.coefficients.items()}, -self.bound

    def __str__(self) -> str:
        return self.text


@cache
def _parser() -> lark.Lark:
    return lark.Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse_inequality(text: str, *, known_names: Iterable[str] | None = None,
                     field: str | None = None) -> LinearInequality:
    """Parse ``text`` into a :class:`LinearInequality`.

    Args:
        text: e.g. ``"mirror_radius + 2*snout_length <= 300"`` or ``"-x1 >= -0.5*x2 - 3"``.
        known_names: if given, every name must be one of these.
        field: the config field the text came from, named in error messages.

    Raises:
        ConstraintSyntaxError: malformed text, non-linear terms, equalities, unknown names,
            or a constraint without any parameter.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConstraintSyntaxError("a constraint must be a non-empty string.", field=field,
                                    fix="write it like 'a + 2*b <= 10'")
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedCharacters as exc:
        raise ConstraintSyntaxError(
            f"'{text}': unexpected character {text[exc.pos_in_stream]!r} at column {exc.column}.",
            field=field, fix="use names, numbers, + - * / ( ) and one of <=, >=") from None
    except lark.UnexpectedEOF:
        raise ConstraintSyntaxError(f"'{text}': the expression ends too early.", field=field,
                                    fix="complete both sides, e.g. 'a + b <= 10'") from None
    except lark.UnexpectedToken as exc:
        problem = ("the text ends before the comparison is complete" if exc.token.type == "$END"
                   else f"unexpected {exc.token.value!r} at column {exc.column}")
        raise ConstraintSyntaxError(
            f"'{text}': {problem}.", field=field,
            fix="write one comparison with <= or >= between two linear expressions, "
                "with '*' between a number and a name (e.g. '2*a')") from None
    comparator = str(tree.children[1])
    if comparator in ("==", "="):
        raise ConstraintSyntaxError(f"'{text}': equality constraints are not supported.",
                                    field=field, fix="use a fixed parameter, or two inequalities")
    try:
        left = _ToLinear(text, field).transform(tree.children[0])
        right = _ToLinear(text, field).transform(tree.children[2])
    except lark.exceptions.VisitError as exc:  # our own errors arrive wrapped
        if isinstance(exc.orig_exc, ConstraintSyntaxError):
            raise exc.orig_exc from None
        raise
    form = left.plus(right.scaled(-1.0))
    coefficients = {n: c for n, c in form.coefficients if c != 0.0}
    if not coefficients:
        raise ConstraintSyntaxError(f"'{text}': the constraint involves no parameter.",
                                    field=field, fix="remove it or name a parameter")
    bound = -form.constant
    if not all(math.isfinite(c) for c in coefficients.values()) or not math.isfinite(bound):
        raise ConstraintSyntaxError(f"'{text}': coefficients must be finite numbers.", field=field,
                                    fix="check the numbers in the expression")
    if known_names is not None:
        known = set(known_names)
        unknown = [n for n in coefficients if n not in known]
        if unknown:
            raise ConstraintSyntaxError(
                f"'{text}': unknown name {unknown[0]!r}.", field=field,
                fix=f"use one of: {', '.join(sorted(known))}")
    sense: Sense = "<=" if comparator in ("<=", "<", "≤") else ">="
    return LinearInequality(coefficients=coefficients, sense=sense, bound=bound, text=text.strip())
