"""The design space: parameters, linear constraints, a design check, unit-cube encoding and
sampling.

Every optimizer works in the unit cube ``[0, 1]^d`` of the *tunable* parameters (fixed ones
are carried along but never encoded). The encoding is affine for linear-scale floats and
integers, so linear constraints between them stay linear in the cube
(:meth:`Space.linear_constraints_unit`), which model-based optimizers can use directly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import numpy as np
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass as validated_dataclass

from detopt.errors import ConfigError, DetoptError
from detopt.expressions import LinearInequality, parse_inequality


#: the parameter classes are also the config schema (``problem.parameters`` entries): one
#: definition of every field and default, validated the same way from YAML and from Python
_SCHEMA = ConfigDict(extra="forbid")


@validated_dataclass(frozen=True, config=_SCHEMA)
class FloatParameter:
    """A continuous parameter in ``[low, high]``, optionally sampled on a log scale."""

    name: str
    low: float
    high: float
    log: bool = False
    unit: str = ""
    description: str = ""
    type: Literal["float"] = "float"

    kind = "float"


@validated_dataclass(frozen=True, config=_SCHEMA)
class IntParameter:
    """An integer parameter in ``[low, high]`` (both inclusive), optionally on a log scale."""

    name: str
    low: int
    high: int
    log: bool = False
    unit: str = ""
    description: str = ""
    type: Literal["int"] = "int"

    kind = "int"


@validated_dataclass(frozen=True, config=_SCHEMA)
class ChoiceParameter:
    """One of a list of values (numbers or strings).

    ``ordered`` says the list order means something (e.g. ``[1, 2, 4, 8]``); it is the default
    when every value is a number. Unordered choices are still encoded on one unit-cube axis;
    model-based optimizers may expand them to one-hot.
    """

    name: str
    values: tuple[Any, ...]
    ordered: bool | None = None
    description: str = ""
    unit: str = ""
    type: Literal["choice"] = "choice"

    kind = "choice"

    @property
    def is_ordered(self) -> bool:
        if self.ordered is not None:
            return self.ordered
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


@validated_dataclass(frozen=True, config=_SCHEMA)
class FixedParameter:
    """A parameter held at one value; passed to the evaluation but never optimized."""

    name: str
    value: Any
    description: str = ""
    unit: str = ""
    type: Literal["fixed"] = "fixed"

    kind = "fixed"


Parameter = Union[FloatParameter, IntParameter, ChoiceParameter, FixedParameter]
TunableParameter = Union[FloatParameter, IntParameter, ChoiceParameter]


def _check_parameter(p: Parameter, where: str) -> None:
    if not p.name.isidentifier():
        raise ConfigError(f"parameter name {p.name!r} is not a valid identifier.", field=where,
                          fix="use letters, digits and underscores, starting with a letter")
    if isinstance(p, (FloatParameter, IntParameter)):
        if not (math.isfinite(p.low) and math.isfinite(p.high)):
            raise ConfigError("bounds must be finite numbers.", field=where, fix="set finite low/high")
        if not p.low < p.high:
            raise ConfigError(f"low ({p.low}) must be below high ({p.high}).", field=where,
                              fix="swap the bounds, or use a fixed parameter for a single value")
        if p.log and p.low <= 0:
            raise ConfigError(f"a log-scale parameter needs low > 0 (got {p.low}).", field=where,
                              fix="raise low above zero or set log: false")
    if isinstance(p, ChoiceParameter):
        if len(p.values) < 2:
            raise ConfigError("a choice needs at least two values.", field=where,
                              fix="add values, or use a fixed parameter")
        if len(set(map(repr, p.values))) != len(p.values):
            raise ConfigError("choice values must be distinct.", field=where, fix="remove duplicates")


@dataclass
class Space:
    """An ordered set of parameters plus the constraints a design must meet before it is run.

    Args:
        parameters: the parameters, in the order used for encoding.
        constraints: linear inequalities, as text (``"a + 2*b <= 3"``) or parsed objects.
            They may involve float and int parameters on a linear scale.
        check: a cheap *design check* for known constraints that are not linear (a geometry
            overlap test, say): a function, or its ``"module:function"`` reference, called
            with a design's parameter values; it returns ``None`` for an allowed design and
            the reason otherwise. Every optimizer proposes only designs that pass it, so it
            must be fast (it runs on many candidates, in the driver process).
    """

    parameters: Sequence[Parameter]
    constraints: Sequence[LinearInequality | str] = field(default_factory=tuple)
    check: str | Callable[[Mapping[str, Any]], str | None] | None = None

    def __post_init__(self) -> None:
        self.parameters = tuple(self.parameters)
        names = [p.name for p in self.parameters]
        for i, p in enumerate(self.parameters):
            _check_parameter(p, f"parameters[{i}] ({p.name})")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"parameter {duplicates[0]!r} is defined twice.", field="parameters",
                              fix="give every parameter a unique name")
        self.tunable: tuple[TunableParameter, ...] = tuple(
            p for p in self.parameters if not isinstance(p, FixedParameter))
        if not self.tunable:
            raise ConfigError("the space has no tunable parameter.", field="parameters",
                              fix="add at least one float, int or choice parameter")
        self._by_name = {p.name: p for p in self.parameters}
        parsed = []
        for i, c in enumerate(self.constraints):
            where = f"constraints[{i}]"
            ineq = c if isinstance(c, LinearInequality) else parse_inequality(
                c, known_names=names, field=where)
            for name in ineq.names:
                p = self._by_name[name]
                if not isinstance(p, (FloatParameter, IntParameter)) or p.log:
                    raise ConfigError(
                        f"'{ineq.text}' uses {name!r}, which is not a linear-scale float or int.",
                        field=where, fix="constrain only float/int parameters without log: true")
            parsed.append(ineq)
        self.constraints = tuple(parsed)
        if self.constraints:
            self._check_feasible_region()
        self._check_fn: Callable[[Mapping[str, Any]], str | None] | None = None
        #: the design check as text (``"module:function"``), for listings and reports
        self.check_reference: str | None = self.check if isinstance(self.check, str) else (
            None if self.check is None else
            f"{getattr(self.check, '__module__', '?')}:{getattr(self.check, '__qualname__', '?')}")
        if self.check is not None:
            self._check_fn = self._resolve_check(self.check)

    @staticmethod
    def _resolve_check(check: Any) -> Callable[[Mapping[str, Any]], str | None]:
        from detopt.task import resolve  # task -> problem -> space: import here

        if not isinstance(check, str):
            if not callable(check):
                raise ConfigError(f"the design check {check!r} is not callable.", field="check",
                                  fix="give a function or a 'module:function' reference")
            return check
        try:
            return resolve(check)
        except ConfigError as exc:
            raise ConfigError(exc.message, field="check", fix=exc.fix) from None

    def _check_feasible_region(self) -> None:
        """Fail at once (not after a long sampling search) when the constraints exclude every point."""
        A, b = self.linear_constraints_unit()
        from scipy.optimize import linprog  # lazy: scipy costs ~0.3 s at start-up

        result = linprog(np.zeros(self.dim), A_ub=A, b_ub=b, bounds=[(0.0, 1.0)] * self.dim,
                         method="highs")
        if result.status == 2:
            raise ConfigError("the linear constraints cannot all hold inside the parameter bounds.",
                              field="constraints", fix="check the constraint directions and bounds")

    # ----------------------------------------------------------------------------- basics
    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def tunable_names(self) -> list[str]:
        return [p.name for p in self.tunable]

    @property
    def dim(self) -> int:
        """Number of unit-cube dimensions (one per tunable parameter)."""
        return len(self.tunable)

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    # --------------------------------------------------------------------------- validation
    def validate(self, params: Mapping[str, Any], *, field_prefix: str = "params") -> dict[str, Any]:
        """Check and normalize user-given parameter values; fills fixed parameters.

        Raises:
            DetoptError: naming the parameter that is missing, unknown or out of range.
        """
        unknown = [k for k in params if k not in self._by_name]
        if unknown:
            raise DetoptError(f"unknown parameter {unknown[0]!r}.", field=field_prefix,
                              fix=f"use one of: {', '.join(self.names)}")
        out: dict[str, Any] = {}
        for p in self.parameters:
            where = f"{field_prefix}.{p.name}"
            if isinstance(p, FixedParameter):
                out[p.name] = p.value
                continue
            if p.name not in params:
                raise DetoptError("missing value.", field=where, fix="give a value for every parameter")
            v = params[p.name]
            if isinstance(p, ChoiceParameter):
                if v not in p.values:
                    raise DetoptError(f"{v!r} is not one of {list(p.values)}.", field=where,
                                      fix="pick one of the listed values")
                out[p.name] = v
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise DetoptError(f"expected a number, got {v!r}.", field=where, fix="give a number")
            if isinstance(p, IntParameter):
                if float(v) != round(float(v)):
                    raise DetoptError(f"expected an integer, got {v!r}.", field=where,
                                      fix="give a whole number")
                v = int(round(float(v)))
            else:
                v = float(v)
            if not p.low <= v <= p.high:
                raise DetoptError(f"{v} is outside [{p.low}, {p.high}].", field=where,
                                  fix="give a value inside the bounds")
            out[p.name] = v
        return out

    def constraint_slacks(self, params: Mapping[str, Any]) -> list[float]:
        return [c.slack(params) for c in self.constraints]

    def feasible_mask(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Vectorized :meth:`is_feasible` over many parameter dicts (the design check, if
        any, runs only on the rows that meet the linear constraints)."""
        mask = np.ones(len(rows), dtype=bool)
        for c in self.constraints:
            lhs = sum(coef * np.array([float(r[n]) for r in rows]) for n, coef in c.coefficients.items())
            slack = c.bound - lhs if c.sense == "<=" else lhs - c.bound
            mask &= slack >= -1e-9 * max(1.0, abs(c.bound))
        if self._check_fn is not None:
            for i in np.flatnonzero(mask):
                mask[i] = self._check_fn(rows[i]) is None
        return mask

    def is_feasible(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` satisfies every linear constraint and the design check."""
        return self.rejection(params) is None

    def rejection(self, params: Mapping[str, Any]) -> str | None:
        """Why ``params`` may not be run (the first linear constraint it breaks, or the design
        check's reason), or ``None`` when it may."""
        for c in self.constraints:
            if not c.is_satisfied(params):
                return f"breaks the constraint '{c.text}'"
        if self._check_fn is not None:
            reason = self._check_fn(params)
            if reason is not None:
                return f"fails the design check: {reason}"
        return None

    def validate_design(self, params: Mapping[str, Any], *, field_prefix: str = "params"
                        ) -> dict[str, Any]:
        """:meth:`validate`, and the design must also meet the constraints and the check
        (for user-given designs, e.g. a study's initial designs)."""
        values = self.validate(params, field_prefix=field_prefix)
        reason = self.rejection(values)
        if reason is not None:
            raise DetoptError(f"the design {reason}.", field=field_prefix,
                              fix="change the design, or leave it to the optimizer")
        return values

    # ----------------------------------------------------------------------------- encoding
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Map parameter values to a point of the unit cube (tunable parameters only)."""
        return np.array([_encode_one(p, params[p.name]) for p in self.tunable], dtype=float)

    def encode_many(self, rows: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = list(rows)
        if not rows:
            return np.empty((0, self.dim))
        return np.stack([self.encode(r) for r in rows])

    def decode(self, u: np.ndarray) -> dict[str, Any]:
        """Map a unit-cube point to parameter values (rounding ints and choices; adds fixed)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        values = {p.name: _decode_one(p, float(x)) for p, x in zip(self.tunable, u)}
        return {p.name: (p.value if isinstance(p, FixedParameter) else values[p.name])
                for p in self.parameters}

    def decode_many(self, U: np.ndarray) -> list[dict[str, Any]]:
        return [self.decode(u) for u in np.atleast_2d(U)]

    def linear_constraints_unit(self) -> tuple[np.ndarray, np.ndarray]:
        """Linear constraints as ``A @ u <= b`` in the unit cube.

        Exact for floats; for integers it constrains the continuous relaxation, so a decoded
        (rounded) point must still be checked with :meth:`is_feasible`.
        """
        index = {p.name: i for i, p in enumerate(self.tunable)}
        A = np.zeros((len(self.constraints), self.dim))
        b = np.zeros(len(self.constraints))
        for row, c in enumerate(self.constraints):
            coefs, bound = c.as_less_equal()
            for name, a in coefs.items():
                p = self._by_name[name]
                offset, scale = _affine(p)  # x = offset + scale * u
                A[row, index[name]] += a * scale
                bound -= a * offset
            b[row] = bound
        return A, b

    # ----------------------------------------------------------------------------- sampling
    def sobol(self, seed: int = 0) -> SobolStream:
        """A reproducible stream of feasible scrambled-Sobol points (see :class:`SobolStream`)."""
        return SobolStream(self, seed)

    def sample(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` feasible quasi-random points (scrambled Sobol with rejection of infeasible ones)."""
        stream = self.sobol(seed)
        return [stream.params(i) for i in range(n)]


def _affine(p: FloatParameter | IntParameter) -> tuple[float, float]:
    """``(offset, scale)`` with value = offset + scale * u for linear-scale parameters."""
    if isinstance(p, IntParameter):
        # integers own equal-width bins of the unit interval; u maps to the bin-centre line
        return p.low - 0.5, (p.high - p.low + 1.0)
    return p.low, p.high - p.low


def _encode_one(p: TunableParameter, v: Any) -> float:
    if isinstance(p, ChoiceParameter):
        return (p.values.index(v) + 0.5) / len(p.values)
    if p.log:
        lo, hi = math.log(p.low), math.log(p.high)
        if isinstance(p, IntParameter):
            lo, hi = math.log(p.low - 0.5 if p.low > 0.5 else p.low), math.log(p.high + 0.5)
        return (math.log(float(v)) - lo) / (hi - lo)
    offset, scale = _affine(p)
    return (float(v) - offset) / scale


def _decode_one(p: TunableParameter, u: float) -> Any:
    if isinstance(p, ChoiceParameter):
        return p.values[min(int(u * len(p.values)), len(p.values) - 1)]
    if p.log:
        lo, hi = math.log(p.low), math.log(p.high)
        if isinstance(p, IntParameter):
            lo, hi = math.log(p.low - 0.5 if p.low > 0.5 else p.low), math.log(p.high + 0.5)
            return int(min(max(round(math.exp(lo + u * (hi - lo))), p.low), p.high))
        return float(min(max(math.exp(lo + u * (hi - lo)), p.low), p.high))
    offset, scale = _affine(p)
    if isinstance(p, IntParameter):
        return int(min(max(math.floor(p.low + u * scale), p.low), p.high))
    return float(min(max(offset + u * scale, p.low), p.high))


class SobolStream:
    """Scrambled Sobol points of a space, filtered by its constraints and design check.

    Point ``i`` of the stream is always the same for a given space and seed, which lets an
    optimizer be rebuilt from storage (it only needs to know how many points it handed out).
    Points are generated in blocks and kept, so handing out the i-th point costs O(1).
    """

    _BLOCK = 256
    _MAX_DRAWS = 2**18

    def __init__(self, space: Space, seed: int = 0):
        self.space = space
        from scipy.stats import qmc  # lazy: read-only commands never sample

        self._engine = qmc.Sobol(d=space.dim, scramble=True, seed=seed)
        self._unit: list[np.ndarray] = []
        self._params: list[dict[str, Any]] = []
        self._draws = 0

    def unit(self, i: int) -> np.ndarray:
        """The i-th feasible point in the unit cube (after decode/encode round trip)."""
        self._fill(i + 1)
        return self._unit[i]

    def params(self, i: int) -> dict[str, Any]:
        """The i-th feasible point as parameter values."""
        self._fill(i + 1)
        return dict(self._params[i])

    def _fill(self, count: int) -> None:
        while len(self._params) < count:
            with warnings.catch_warnings():  # balance warnings: we use the sequence in order
                warnings.simplefilter("ignore", category=UserWarning)
                block = self._engine.random(self._BLOCK)
            self._draws += self._BLOCK
            rows = self.space.decode_many(block)
            feasible = self.space.feasible_mask(rows)
            for params, ok in zip(rows, feasible):
                if ok:
                    self._params.append(params)
                    self._unit.append(self.space.encode(params))
            if self._draws >= self._MAX_DRAWS and len(self._params) < count:
                raise DetoptError(
                    f"the constraints and design check leave almost no feasible point "
                    f"({len(self._params)} of {self._draws} quasi-random draws).",
                    field="constraints", fix="check the constraint directions and bounds")
