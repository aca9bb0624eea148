"""Estimators of the BIC objectives, with bootstrap replicates for the standard errors.

* :func:`core_width` — the Gaussian-equivalent width of a distribution (AID2E fits a Gaussian
  to the peak): half the central 68.3 % interval, which is sigma for a Gaussian, is robust
  to tails and, unlike a fit inside a clipping window, continuous in the data.
* :func:`fisher_direction` — the imaging-layer profile score is Fisher's linear discriminant
  of the per-layer log hit counts, trained per energy on the electrons against the pions
  that pass the full-depth E/p cut (the ones the profile must reject).
* :func:`best_rejection` — AID2E's ``BICEPScan`` recipe extended by the imaging layers: for
  every integration depth (first d of the 12 ScFi layers) cut on E/p to keep a fraction eps1
  of the electrons, then on the profile score to keep 97 %/eps1 of those (eps1 up to 0.995);
  the pion survival is the fraction of pions passing both. eps1 = 0.97 is the E/p-only cut of
  the original study. The depth and eps1 that minimize the survival are chosen on the sample
  itself (as AID2E chooses the depth), then kept fixed for the bootstrap replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_Q_LOW, _Q_HIGH = 0.15866, 0.84134     # +-1 sigma of a Gaussian
#: E/p efficiencies tried; 0.97 is the E/p-only cut (no profile cut)
EPS1_CHOICES = (0.97, 0.975, 0.98, 0.985, 0.99, 0.995)


@lru_cache(maxsize=256)
def bootstrap_weights(seed: int, purpose: int, n: int, replicates: int) -> np.ndarray:
    """Poisson(1) bootstrap weights ``(replicates, n)``, the same for every design (cached;
    do not modify the returned array)."""
    w = np.random.default_rng([seed, 0xB007, purpose]).poisson(1.0, (replicates, n)).astype(float)
    w.flags.writeable = False
    return w


def weighted_quantiles(x: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` of ``x`` for every weight row ``(B, n)``: ``(B, len(qs))``.

    The inverse of the weighted empirical CDF with linear interpolation between the points
    (so a quantile moves continuously when the values do)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    w = weights[:, order]
    cum = np.cumsum(w, axis=1) - 0.5 * w
    cum /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    out = np.empty((len(w), len(qs)))
    for b in range(len(w)):
        out[b] = np.interp(qs, cum[b], xs)
    return out


def core_center_width(x: np.ndarray, weights: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(median, half-width of the central 68.3 % interval) of ``x``, one per weight row.

    For a Gaussian the half-width is sigma; unlike a Gaussian fit in a clipping window it
    moves continuously with the data, so under common random numbers a small design change
    makes a small change of the objective. NaNs are ignored."""
    x = np.asarray(x, dtype=float)
    keep = np.isfinite(x)
    x = x[keep]
    w = np.ones((1, len(x))) if weights is None else np.asarray(weights)[:, keep]
    if len(x) < 5:
        return np.full(len(w), np.nan), np.full(len(w), np.nan)
    q = weighted_quantiles(x, w, (_Q_LOW, 0.5, _Q_HIGH))
    return q[:, 1], 0.5 * (q[:, 2] - q[:, 0])


def core_width(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Gaussian-equivalent width (see :func:`core_center_width`)."""
    return core_center_width(x, weights)[1]


def gaussian_core(x: np.ndarray, n_iter: int = 8) -> tuple[float, float]:
    """(mean, sigma) of a Gaussian fitted to the peak, as a test-beam analysis does: iterated
    mean and RMS inside +-2 sigma, corrected for the truncation (a Gaussian truncated at
    +-2 sigma has an RMS of 0.8796 sigma). Used for the validation against test beams."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    center = float(np.median(x))
    width = max(1.4826 * float(np.median(np.abs(x - center))), 1e-12)
    for _ in range(n_iter):
        sel = x[np.abs(x - center) < 2.0 * width]
        center, width = float(sel.mean()), max(float(sel.std()) / 0.8796, 1e-12)
    return center, width


def fisher_direction(f_e: np.ndarray, f_pi: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Fisher's discriminant direction (Sigma_e + Sigma_pi + ridge)^-1 (mu_e - mu_pi)."""
    m = f_e.shape[1]
    if m == 0 or len(f_e) < 2 or len(f_pi) < 2:
        return np.zeros(m)
    cov = np.atleast_2d(np.cov(f_e, rowvar=False)) + np.atleast_2d(np.cov(f_pi, rowvar=False))
    return np.linalg.solve(cov + ridge * np.eye(m), f_e.mean(axis=0) - f_pi.mean(axis=0))


def keep_cut(x: np.ndarray, w: np.ndarray, eff: float) -> float:
    """The highest cut c with weighted fraction(x >= c) >= eff."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    below = np.cumsum(ws) - ws                     # weight strictly before each element
    allowed = below <= (1.0 - eff) * ws.sum() + 1e-9
    return float(xs[np.flatnonzero(allowed)[-1]]) if allowed.any() else float(xs[0])


def survival(ep_e: np.ndarray, score_e: np.ndarray, ep_pi: np.ndarray, score_pi: np.ndarray,
             eps1: float, eff: float = 0.97, w_e: np.ndarray | None = None,
             w_pi: np.ndarray | None = None) -> float:
    """Pion survival after the two cuts (E/p keeps eps1 of the electrons, the profile score
    keeps eff/eps1 of those; eps1 == eff: E/p only)."""
    w_e = np.ones(len(ep_e)) if w_e is None else w_e
    w_pi = np.ones(len(ep_pi)) if w_pi is None else w_pi
    cut1 = keep_cut(ep_e, w_e, eps1)
    passed = ep_e >= cut1
    cut2 = -np.inf
    if eps1 > eff and passed.any():
        cut2 = keep_cut(score_e[passed], w_e[passed], eff / eps1)
    surv = (ep_pi >= cut1) & (score_pi >= cut2)
    return float((w_pi * surv).sum() / max(w_pi.sum(), 1e-12))


@dataclass(frozen=True)
class RejectionChoice:
    survival: float
    depth: int        # ScFi layers summed (1-12)
    eps1: float


def best_rejection(ep_e: np.ndarray, score_e: np.ndarray, ep_pi: np.ndarray,
                   score_pi: np.ndarray, eff: float = 0.97, use_profile: bool = True
                   ) -> RejectionChoice:
    """The depth and eps1 with the lowest pion survival (``ep_*``: ``(n, 12)`` E/p per depth)."""
    best = RejectionChoice(np.inf, 0, eff)
    n_e = len(score_e)
    for d in range(ep_e.shape[1]):
        order = np.argsort(ep_e[:, d], kind="stable")
        xs = ep_e[order, d]
        for eps1 in (EPS1_CHOICES if use_profile else (eff,)):
            # the same cut as keep_cut with unit weights, from the sorted column
            cut1 = xs[min(int(np.floor((1.0 - eps1) * n_e + 1e-9)), n_e - 1)]
            cut2 = -np.inf
            if eps1 > eff:
                passed = score_e[ep_e[:, d] >= cut1]
                cut2 = keep_cut(passed, np.ones(len(passed)), eff / eps1)
            s = float(np.mean((ep_pi[:, d] >= cut1) & (score_pi >= cut2)))
            if s < best.survival:
                best = RejectionChoice(s, d + 1, eps1)
    return best
