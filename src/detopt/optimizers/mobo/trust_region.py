"""A trust region for high-dimensional ``mobo`` (TuRBO/MORBO-style success/failure resizing).

In ~100 dimensions a global acquisition optimum usually sits on the boundary of the cube,
where the GP knows nothing. Optimizing inside a box around a good observed point keeps the
proposals where the model is informed. The box edge follows TuRBO's rule: double after
``success_tolerance`` successes in a row, halve after ``failure_tolerance`` failures in a
row, start again at the initial length when it falls below the minimum. A result is a
*success* when it enters the Pareto front of all feasible results (it is dominated by none
of them), and, if it lies inside the reference box, raises the hypervolume by more than a
relative threshold (MORBO's notion of progress). Dominance rather than hypervolume alone
keeps progress visible while no result is inside the reference box yet.

The state changes only in :meth:`TrustRegion.observe`, called from ``tell`` in the order
results arrive, so it is a pure function of what the optimizer was told.
"""

from __future__ import annotations

import numpy as np

from detopt.metrics.indicators import hypervolume


class TrustRegion:
    """Edge length and success/failure counters of one trust region.

    Args:
        length_init, length_min, length_max: edge lengths in the unit cube.
        success_tolerance, failure_tolerance: streaks that double or halve the length.
        success_threshold: relative hypervolume gain that counts as a success.
    """

    def __init__(self, *, length_init: float, length_min: float, length_max: float,
                 success_tolerance: int, failure_tolerance: int, success_threshold: float):
        self.length_init, self.length_min, self.length_max = length_init, length_min, length_max
        self.success_tolerance, self.failure_tolerance = success_tolerance, failure_tolerance
        self.success_threshold = success_threshold
        self.length = length_init
        self.successes = 0
        self.failures = 0
        self.restarts = 0
        self.front = np.empty((0, 0))

    def observe(self, y: np.ndarray | None, ref: np.ndarray | None, *, count: bool = True) -> None:
        """Learn one result.

        Args:
            y: objectives (minimization form) of a feasible result; ``None`` for a failed or
                infeasible one (a failure).
            ref: hypervolume reference point (minimization form), or ``None`` to judge by
                Pareto dominance only.
            count: False while the initial design runs: only the front is updated.
        """
        success = False
        if y is not None:
            y = np.asarray(y, dtype=float)
            before = self._hv(self.front, ref)
            grown = self._add(y)
            success = grown
            if grown and before > 0.0 and np.all(y < ref):  # type: ignore[operator]
                # inside the reference box: it must also add hypervolume
                success = self._hv(self.front, ref) > before * (1.0 + self.success_threshold)
        if not count:
            return
        if success:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1
        if self.successes >= self.success_tolerance:
            self.length = min(2.0 * self.length, self.length_max)
            self.successes = 0
        elif self.failures >= self.failure_tolerance:
            self.length /= 2.0
            self.failures = 0
            if self.length < self.length_min:
                self.length = self.length_init
                self.restarts += 1

    def bounds(self, center: np.ndarray, lengthscales: np.ndarray | None,
               weighting: str = "turbo") -> np.ndarray:
        """``2 × d`` box around ``center``, clipped to the unit cube.

        ``weighting="turbo"`` stretches it along dimensions with long lengthscales (TuRBO's
        rule), ``"inverse"`` along dimensions with short ones (the model resolves those, so
        the acquisition may move them far; the others stay near the center's good values);
        both normalized to the geometric mean; ``"none"`` gives a cube."""
        d = len(center)
        weights = np.ones(d)
        if weighting != "none" and lengthscales is not None and np.all(np.isfinite(lengthscales)):
            ls = np.clip(np.asarray(lengthscales, dtype=float), 1e-6, None)
            if weighting == "inverse":
                ls = 1.0 / ls
            weights = ls / np.exp(np.mean(np.log(ls)))
            weights = np.clip(weights, 0.25, 4.0)  # no axis collapses or explodes
        half = 0.5 * self.length * weights
        lo = np.clip(center - half, 0.0, 1.0)
        hi = np.clip(center + half, 0.0, 1.0)
        return np.vstack([lo, hi])

    # ------------------------------------------------------------------------ internals
    def _add(self, y: np.ndarray) -> bool:
        """Insert into the non-dominated front; False if ``y`` is dominated (or equal)."""
        if self.front.size == 0:
            self.front = y[None, :]
            return True
        if np.any(np.all(self.front <= y, axis=1)):
            return False
        keep = ~np.all(y <= self.front, axis=1)
        self.front = np.vstack([self.front[keep], y])
        return True

    @staticmethod
    def _hv(front: np.ndarray, ref: np.ndarray | None) -> float:
        if ref is None or front.size == 0:
            return 0.0
        return hypervolume(front, ref)
