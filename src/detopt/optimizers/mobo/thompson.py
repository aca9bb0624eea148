"""Thompson-sampling proposals for large batches.

One proposal: draw one joint posterior sample of every model output at a set of candidate
designs, scalarize the sampled objectives with the proposal's random Chebyshev weights (as
qLogNParEGO does, objectives normalized to the observed range), and rank the candidates by
that value; sampled outcome-constraint violations and sampled failures rank a candidate
after every one that meets them. The sample replaces the acquisition optimization: no
gradient runs, no MC integration, so a proposal costs one joint sample at the candidates
(a Cholesky of ``N × N`` per output). Diversity within a batch comes from the independent
samples, the per-proposal weights and centers, and the model conditioned on the designs
already in flight (:class:`~detopt.optimizers.mobo.pending.InFlight`, ``believer``), whose
uncertainty has collapsed there.

(TuRBO and MORBO propose their batches the same way: Thompson samples on perturbation
candidates inside the trust region.)
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.models.model import Model

from detopt.optimizers.mobo.model import DTYPE

#: rank offset of a candidate whose sample violates a constraint or fails
_INFEASIBLE = 1e6


def thompson_ranking(model: Model, candidates: np.ndarray, weights: np.ndarray, *,
                     n_objectives: int, Y_observed: np.ndarray,
                     success_model: Model | None = None) -> np.ndarray:
    """Candidate rows ordered best first by one posterior sample.

    Args:
        model: GP with outputs ``[-Y, G]`` (maximization form objectives, then constraint
            violations, ``<= 0`` feasible).
        candidates: ``N × d`` unit-cube rows.
        weights: Chebyshev weights (one per objective, summing to 1).
        Y_observed: observed objectives (minimization form) that set the normalization.
        success_model: GP of success (+1) / failure (-1), or ``None``.

    Uses torch's global RNG (the optimizer runs this in a seeded, forked RNG).
    """
    m = n_objectives
    X = torch.tensor(candidates, dtype=DTYPE)
    with torch.no_grad():
        sample = model.posterior(X).rsample(torch.Size([1]))[0].numpy()  # N × (m + c)
        failed = np.zeros(len(candidates), dtype=bool)
        if success_model is not None:
            s = success_model.posterior(X).rsample(torch.Size([1]))[0].numpy()
            failed = s[:, 0] < 0.0
    Y = -sample[:, :m]
    lo, hi = Y_observed.min(axis=0), Y_observed.max(axis=0)
    norm = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    score = np.max(weights * norm, axis=1) + 0.05 * np.sum(weights * norm, axis=1)
    violation = np.maximum(sample[:, m:], 0.0).sum(axis=1) if sample.shape[1] > m else 0.0
    bad = (np.asarray(violation) > 0) | failed
    score = score + np.where(bad, _INFEASIBLE + violation, 0.0)
    return candidates[np.argsort(score, kind="stable")]


def uniform_candidates(bounds: np.ndarray, n: int, rng: np.random.Generator,
                       A: np.ndarray | None = None, b: np.ndarray | None = None) -> np.ndarray:
    """``n`` uniform rows in ``bounds``; with linear constraints ``A u <= b`` only the rows
    that meet them (possibly fewer, never none: the least violating row is kept)."""
    U = bounds[0] + rng.random((n, bounds.shape[1])) * (bounds[1] - bounds[0])
    if A is None or b is None or len(A) == 0:
        return U
    excess = np.maximum(U @ A.T - b, 0.0).sum(axis=1)
    ok = excess <= 1e-12
    return U[ok] if ok.any() else U[[int(np.argmin(excess))]]
