"""Training data of the ``mobo`` model: inputs, outcomes in maximization form, noise, selection.

BoTorch maximizes, detopt minimizes: the model's first ``m`` outputs are the *negated*
objectives, the remaining ``c`` outputs are the outcome-constraint violations (``<= 0`` is
feasible, which is the sign BoTorch's constraint callables expect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from detopt.objectives import ObjectiveSet
from detopt.trial import Trial


@dataclass(frozen=True)
class TrainingData:
    """What the GP is fit to.

    Attributes:
        X: ``n × d`` unit-cube inputs.
        Y: ``n × m`` objectives, minimization form (as in :meth:`Optimizer.observations`).
        G: ``n × c`` outcome-constraint violations (``<= 0`` feasible).
        var: ``n × (m + c)`` observation variances from the results' standard errors, or
            ``None`` when any of them is missing (then the noise level is inferred).
        indices: trial index of every row.
    """

    X: np.ndarray
    Y: np.ndarray
    G: np.ndarray
    var: np.ndarray | None
    indices: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def feasible(self) -> np.ndarray:
        """Rows meeting every outcome constraint."""
        if self.G.shape[1] == 0:
            return np.ones(self.n, dtype=bool)
        return np.all(self.G <= 0, axis=1)

    def targets(self) -> np.ndarray:
        """Model outputs in maximization form: ``[-Y, G]``."""
        return np.hstack([-self.Y, self.G])

    def subset(self, rows: np.ndarray) -> TrainingData:
        rows = np.asarray(rows, dtype=int)
        return TrainingData(self.X[rows], self.Y[rows], self.G[rows],
                            None if self.var is None else self.var[rows],
                            tuple(self.indices[i] for i in rows))


def variances(trials: Sequence[Trial], objectives: ObjectiveSet) -> np.ndarray | None:
    """Per trial and modeled metric, ``sem²``; ``None`` unless every sem is given.

    A batched GP needs one noise model for all its outputs: fixed noise when the evaluation
    reports standard errors, inferred noise otherwise. (Objective negation and the constraint
    offset do not change a variance.)
    """
    metrics = objectives.names + [c.metric for c in objectives.outcome_constraints]
    out = np.empty((len(trials), len(metrics)))
    for i, t in enumerate(trials):
        for j, name in enumerate(metrics):
            sem = t.metrics[name][1]
            if sem is None:
                return None
            out[i, j] = sem * sem
    return out


def pareto_ranks(Y: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of every row (0 = front); infeasible rows rank after all
    feasible ones."""
    ranks = np.zeros(len(Y), dtype=int)
    for mask, offset in ((feasible, 0), (~feasible, len(Y))):
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        fronts = NonDominatedSorting().do(Y[idx])
        for k, front in enumerate(fronts):
            ranks[idx[front]] = k + offset
    return ranks


def select_training_points(data: TrainingData, cap: int) -> TrainingData:
    """At most ``cap`` rows: the best non-dominated layers first, ties broken by recency.

    Bounds the cost of fitting and of the acquisition (both grow with n² to n³) while keeping
    the points that define the front, where the acquisition needs the model most.
    """
    if data.n <= cap:
        return data
    ranks = pareto_ranks(data.Y, data.feasible)
    order = np.lexsort((-np.arange(data.n), ranks))  # primary: rank; then newest first
    return data.subset(np.sort(order[:cap]))


def inferred_reference(data: TrainingData, front_only: bool = False) -> np.ndarray:
    """Reference point when objectives have no thresholds: the nadir of the feasible results
    pushed out by 10 % of their range (minimization form), as Ax and BoTorch infer it.
    ``front_only``: the nadir of the non-dominated feasible results instead."""
    Y = data.Y[data.feasible] if np.any(data.feasible) else data.Y
    if front_only:
        Y = Y[pareto_ranks(Y, np.ones(len(Y), dtype=bool)) == 0]
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    return hi + 0.1 * np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))


def success_rows(ok: np.ndarray, cap: int) -> np.ndarray:
    """Rows of the success model's training data: beyond ``cap`` trials, the most recent
    failures (at most half of the cap) and the most recent successes (``ok``: completed)."""
    if len(ok) <= cap:
        return np.arange(len(ok))
    bad = np.flatnonzero(~ok)[-(cap // 2):]
    good = np.flatnonzero(ok)[-(cap - len(bad)):]
    return np.sort(np.concatenate([bad, good]))
