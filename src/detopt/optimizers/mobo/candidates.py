"""From acquisition optima to a valid design: rounding, feasibility, duplicates, the design check.

The acquisition is optimized in the continuous unit cube. A proposal must be a design the
space accepts (ints and choices decoded, linear constraints met, the design check passed)
and new (neither pending nor finished). These helpers turn a ranked list of optima into such
a design, or say that none of them is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from detopt.space import ChoiceParameter, IntParameter, Space


def design_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """Hashable identity of a design (floats rounded to ignore encoding noise)."""
    return tuple((k, round(v, 12) if isinstance(v, float) else v) for k, v in sorted(params.items()))


#: a proposal closer than this (unit-cube distance) to a design in flight or run is a repeat
MIN_SPACING = 1e-3


def first_valid(space: Space, candidates: Iterable[np.ndarray], taken: set,
                avoid: np.ndarray | None = None) -> dict[str, Any] | None:
    """The first candidate (unit-cube row) that, once decoded, is feasible and new: not in
    ``taken`` and (with ``avoid``, unit-cube rows) not within :data:`MIN_SPACING` of one of
    them (an optimizer that converges back onto a pending design would otherwise propose it
    again, shifted by rounding noise)."""
    for u in candidates:
        params = space.decode(u)
        if design_key(params) in taken or not space.is_feasible(params):
            continue
        if avoid is not None and len(avoid) and \
                np.min(np.linalg.norm(avoid - space.encode(params), axis=1)) < MIN_SPACING:
            continue
        return params
    return None


def discrete_neighbours(space: Space, u: np.ndarray) -> np.ndarray:
    """Unit-cube rows of the designs one discrete step away from ``decode(u)``: each int
    parameter one up or down, each ordered choice to an adjacent value, each unordered choice
    to any other value (continuous coordinates kept).

    When rounding makes every optimum a design already run or pending (common in mostly
    discrete spaces late in a study), the best of these is a new design next to the
    acquisition's optimum, better than a random one.
    """
    base = space.decode(u)
    rows = []
    for p in space.tunable:
        value = base[p.name]
        if isinstance(p, IntParameter):
            others = [v for v in (value - 1, value + 1) if p.low <= v <= p.high]
        elif isinstance(p, ChoiceParameter):
            k = p.values.index(value)
            others = [p.values[j] for j in (k - 1, k + 1) if 0 <= j < len(p.values)] \
                if p.is_ordered else [v for v in p.values if v != value]
        else:
            continue
        for v in others:
            rows.append(space.encode({**base, p.name: v}))
    return np.array(rows).reshape(len(rows), space.dim)


def pull_back(space: Space, score: Callable[[np.ndarray], np.ndarray], optimum: np.ndarray,
              pool: np.ndarray, taken: set) -> dict[str, Any] | None:
    """A design that passes the space's design check, when no optimum does.

    The acquisition's optima often lie past a known-constraint boundary (the dRICH trade-off
    runs along the overlap limits). Start from the best-scoring row of ``pool`` that passes
    the check and move towards ``optimum`` as far as the check allows (12 bisection steps on
    the segment): the result lies on the boundary in the direction the acquisition improves.

    Args:
        score: acquisition values of unit-cube rows.
        pool: starting points (candidate starts and designs already run).

    Returns:
        the design, or ``None`` when no row of ``pool`` passes or the result is taken.
    """
    ok = space.feasible_mask(space.decode_many(pool))
    if not ok.any():
        return None
    start = pool[ok][int(np.argmax(score(pool[ok])))]
    params = space.decode(start)  # passes the check; the furthest passing point so far
    inside, outside = 0.0, 1.0  # fractions of the way from start to optimum
    for _ in range(12):
        mid = 0.5 * (inside + outside)
        probe = space.decode(start + mid * (optimum - start))
        if space.is_feasible(probe):
            inside, params = mid, probe
        else:
            outside = mid
    return None if design_key(params) in taken else params


def sobol_fallback(sobol: Any, position: int, taken: set) -> dict[str, Any]:
    """A fresh design of the space's Sobol stream (e.g. a converged small discrete space)."""
    for probe in range(position, position + 10_000):
        params = sobol.params(probe)
        if design_key(params) not in taken:
            return params
    return sobol.params(position)
