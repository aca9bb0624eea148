"""Estimators of the BIC objectives, with bootstrap replicates for the standard errors.

* :func:`core_width` — the width of the Gaussian core of a distribution (AID2E fits a Gaussian
  to the peak): iterated mean and RMS inside +-2 sigma, corrected for the truncation
  (a Gaussian truncated at +-2 sigma has an RMS of 0.8796 sigma).
* :func:`fisher_direction` — the imaging-layer profile score is Fisher's linear discriminant
  of the per-layer log hit counts, trained per energy on the electrons against the pions
  that pass the full-depth E/p cut (the ones the profile must reject).
* :func:`best_rejection` — AID2E's ``BICEPScan`` recipe extended by the imaging layers: for every
  integration depth (first d of the 12 ScFi layers) cut on E/p to keep a fraction eps1 of the
  electrons, then on the profile score to keep 97 %/eps1 of those (eps1 up to 0.995); the pion survival is the
  fraction of pions passing both. eps1 = 0.97 is the E/p-only cut of the original study.
  The depth and eps1 that minimize the survival are chosen on the sample itself (as AID2E
  chooses the depth), then kept fixed for the bootstrap replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_TRUNCATED_RMS = 0.8796
#: E/p efficiencies tried; 0.97 is the E/p-only cut (no profile cut)
EPS1_CHOICES = (0.97, 0.975, 0.98, 0.985, 0.99, 0.995)


@lru_cache(maxsize=256)
def bootstrap_weights(seed: int, purpose: int, n: int, replicates: int) -> np.ndarray:
    """Poisson(1) bootstrap weights ``(replicates, n)``, the same for every design (cached;
    do not modify the returned array)."""
    w = np.random.default_rng([seed, 0xB007, purpose]).poisson(1.0, (replicates, n)).astype(float)
    w.flags.writeable = False
    return w


def core_width(x: np.ndarray, weights: np.ndarray | None = None, n_iter: int = 6
               ) -> np.ndarray:
    """Gaussian-core sigma of ``x`` (NaNs ignored); with ``weights`` ``(B, n)``, one per row."""
    return core_center_width(x, weights, n_iter)[1]


def core_center_width(x: np.ndarray, weights: np.ndarray | None = None, n_iter: int = 6
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(center, sigma) of the Gaussian core of ``x``, one per weight row."""
    x = np.asarray(x, dtype=float)
    keep = np.isfinite(x)
    x = x[keep]
    w = np.ones((1, len(x))) if weights is None else np.asarray(weights)[:, keep]
    if len(x) < 5:
        return np.full(len(w), np.nan), np.full(len(w), np.nan)
    med = np.median(x)
    center = np.full(len(w), med)
    width = np.full(len(w), max(1.4826 * np.median(np.abs(x - med)), 1e-9))
    for _ in range(n_iter):
        sel = w * (np.abs(x[None, :] - center[:, None]) < 2.0 * width[:, None])
        total = np.maximum(sel.sum(axis=1), 1e-12)
        center = (sel * x).sum(axis=1) / total
        var = (sel * (x[None, :] - center[:, None]) ** 2).sum(axis=1) / total
        width = np.maximum(np.sqrt(var) / _TRUNCATED_RMS, 1e-12)
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
    for d in range(ep_e.shape[1]):
        for eps1 in (EPS1_CHOICES if use_profile else (eff,)):
            s = survival(ep_e[:, d], score_e, ep_pi[:, d], score_pi, eps1, eff)
            if s < best.survival:
                best = RejectionChoice(s, d + 1, eps1)
    return best
