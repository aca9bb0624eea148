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

from detopt.space import Space


def design_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """Hashable identity of a design (floats rounded to ignore encoding noise)."""
    return tuple((k, round(v, 12) if isinstance(v, float) else v) for k, v in sorted(params.items()))


def first_valid(space: Space, candidates: Iterable[np.ndarray], taken: set
                ) -> dict[str, Any] | None:
    """The first candidate (unit-cube row) that, once decoded, is feasible and new."""
    for u in candidates:
        params = space.decode(u)
        if space.is_feasible(params) and design_key(params) not in taken:
            return params
    return None


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
