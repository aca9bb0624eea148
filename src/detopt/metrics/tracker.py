"""Incremental Pareto set and hypervolume as trials finish."""

from __future__ import annotations

import numpy as np

from detopt.metrics.indicators import hypervolume


class HypervolumeTracker:
    """Keeps the non-dominated set of the points seen so far and its hypervolume.

    Adding a dominated point costs one vectorized comparison against the current front; the
    hypervolume is recomputed only when the front changes. The cost therefore scales with the
    size of the front, never with the number of points added.

    Args:
        ref: reference point (minimization form), or ``None`` to track the front only.
        true_hypervolume: hypervolume of the true front, if known, for :attr:`normalized`.
    """

    def __init__(self, ref: np.ndarray | None, true_hypervolume: float | None = None):
        self.ref = None if ref is None else np.asarray(ref, dtype=float)
        self.true_hypervolume = true_hypervolume
        self.front = np.empty((0, 0))
        self.front_ids: list[int] = []
        self.hypervolume = 0.0
        self.count = 0

    def add(self, point: np.ndarray, point_id: int = -1, *, update: bool = True) -> bool:
        """Add one point; returns True when it entered the front.

        Args:
            update: recompute the hypervolume now (False defers it to :meth:`refresh`).
        """
        point = np.asarray(point, dtype=float)
        self.count += 1
        if self.front.size == 0:
            self.front, self.front_ids = point[None, :], [point_id]
        elif np.any(np.all(self.front <= point, axis=1)):
            return False
        else:
            keep = ~np.all(point <= self.front, axis=1)
            self.front = np.vstack([self.front[keep], point])
            self.front_ids = [i for i, k in zip(self.front_ids, keep) if k] + [point_id]
        if update:
            self.refresh()
        return True

    def add_many(self, points: np.ndarray, point_ids: list[int] | None = None) -> None:
        """Add many points at once (e.g. when rebuilding from storage); one HV computation."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        if points.size == 0:
            return
        ids = list(point_ids) if point_ids is not None else [-1] * len(points)
        for p, i in zip(points, ids):
            self.add(p, i, update=False)
        self.refresh()

    def refresh(self) -> None:
        if self.ref is not None and self.front.size:
            self.hypervolume = hypervolume(self.front, self.ref)

    @property
    def normalized(self) -> float | None:
        """Hypervolume divided by the true front's, when that is known."""
        if self.true_hypervolume is None or self.ref is None:
            return None
        return self.hypervolume / self.true_hypervolume
