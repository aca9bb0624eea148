"""Pareto filtering (minimization)."""

from __future__ import annotations

import moocore
import numpy as np


def non_dominated_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``points`` that no other row dominates (duplicates kept once)."""
    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return np.zeros(len(points), dtype=bool)
    return np.asarray(moocore.is_nondominated(points, keep_weakly=False), dtype=bool)


def pareto_front(points: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``points``."""
    points = np.asarray(points, dtype=float)
    return points[non_dominated_mask(points)] if points.size else points
