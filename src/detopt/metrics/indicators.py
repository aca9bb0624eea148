"""Hypervolume, IGD+ and their normalized forms against a known front (minimization)."""

from __future__ import annotations

import moocore
import numpy as np


def _inside(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    points = np.atleast_2d(np.asarray(points, dtype=float))
    if points.size == 0:
        return points.reshape(0, len(ref))
    return points[np.all(points < ref, axis=1)]


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by the reference point ``ref``.

    Points that do not strictly dominate ``ref`` contribute nothing.
    """
    ref = np.asarray(ref, dtype=float)
    inside = _inside(points, ref)
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=ref))


def normalized_hypervolume(points: np.ndarray, ref: np.ndarray, true_hypervolume: float) -> float:
    """``HV(points) / HV(true front)``: 1 means the true front is covered."""
    return hypervolume(points, ref) / true_hypervolume


def hypervolume_regret(points: np.ndarray, ref: np.ndarray, true_hypervolume: float) -> float:
    """``HV(true front) - HV(points)``; ``log10`` of it is the usual convergence plot."""
    return true_hypervolume - hypervolume(points, ref)


def igd_plus(points: np.ndarray, reference_front: np.ndarray) -> float:
    """IGD+ of ``points`` with respect to a sample of the true front (lower is better)."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    if points.size == 0:
        return float("inf")
    return float(moocore.igd_plus(points, ref=np.asarray(reference_front, dtype=float)))
