"""Hypervolume as a function of the number of finished trials, replayed from stored trials."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detopt.metrics import HypervolumeTracker
from detopt.objectives import ObjectiveSet
from detopt.trial import Trial, TrialStatus


def finished_in_order(trials: Sequence[Trial]) -> list[Trial]:
    """Finished trials in the order they finished (index order for ties and unknown times)."""
    done = [t for t in trials if t.status.is_finished]
    return sorted(done, key=lambda t: (t.finished_at or float("inf"), t.index))


def hypervolume_history(trials: Sequence[Trial], objectives: ObjectiveSet, ref: np.ndarray,
                        true_hypervolume: float | None = None) -> np.ndarray:
    """Array of shape (n_finished, 2): finished-trial count and hypervolume after it
    (normalized by ``true_hypervolume`` when given). Infeasible and penalized trials add no volume."""
    tracker = HypervolumeTracker(ref, true_hypervolume)
    rows = []
    for count, t in enumerate(finished_in_order(trials), start=1):
        if t.status == TrialStatus.COMPLETED and not t.penalized and objectives.is_feasible(
                {m: v[0] for m, v in t.metrics.items()}):
            tracker.add(objectives.to_minimization(t.values(objectives.names)), t.index)
        value = tracker.normalized if true_hypervolume else tracker.hypervolume
        rows.append((count, value))
    return np.array(rows, dtype=float).reshape(-1, 2)
