"""Separation metrics: the AID2E metric (reference 1.4, reproduced literally) and the per-track
physics N-sigma, with bootstrap standard errors.

AID2E, per scan point and species pair (a, b), over tracks with a PID object ("events"):
  <N> = mean window photons per event, <theta> = mean angle over all window photons,
  MAE = mean |theta - theta_exp| over window photons (fixed reference index), acc = P(N > 5);
  N-sigma = |<theta>_a - <theta>_b| sqrt((<N>_a + <N>_b)/2) / ((MAE_a + MAE_b)/2),
  acceptance = (acc_a + acc_b)/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scan import Sample

IQR_TO_SIGMA = 1.3489795003921634
DETECTED_MIN = 5  #: a track is detected if N > 5


@dataclass(frozen=True)
class PairMetric:
    """AID2E metric of one scan point: point estimates, bootstrap SEM and components."""

    nsigma: float
    nsigma_sem: float
    acceptance: float
    acceptance_sem: float
    n_mean: tuple[float, float]
    theta_mean: tuple[float, float]
    mae: tuple[float, float]
    acc: tuple[float, float]


def _stats(n: np.ndarray, s: np.ndarray, a: np.ndarray, det: np.ndarray, n_ev: np.ndarray):
    """<N>, <theta>, MAE, acc from (weighted) sums; arrays broadcast over bootstrap replicas."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return n / n_ev, s / n, a / n, det / n_ev


def _nsigma(ta, tb, na, nb, ma, mb):
    """AID2E N-sigma; 0 where undefined (a species without window photons: no separation)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.abs(ta - tb) * np.sqrt(0.5 * (na + nb)) / (0.5 * (ma + mb))
    return np.nan_to_num(value, nan=0.0, posinf=0.0)


def aid2e_pair(a: Sample, b: Sample, *, n_boot: int = 200, seed: int = 0, paired: bool = True
               ) -> PairMetric:
    """AID2E N-sigma and acceptance of a species pair, with a bootstrap over tracks.

    The bootstrap draws events with replacement (multinomial weights over the thrown tracks,
    restricted to events); with ``paired`` samples the same draw is used for both species.
    """
    out = []
    rng = np.random.default_rng([seed, 0xB007])
    w_a = bootstrap_weights(rng, len(a.n_win), n_boot)
    same = paired and len(a.n_win) == len(b.n_win)
    w_b = w_a if same else bootstrap_weights(rng, len(b.n_win), n_boot)
    for smp, w in ((a, w_a), (b, w_b)):
        ev = smp.event.astype(float)
        det = ev * (smp.n_win > DETECTED_MIN)
        sums = np.stack([smp.n_win * ev, smp.sum_theta * ev, smp.sum_abs * ev, det, ev])
        point = _stats(*sums.sum(axis=1))
        boot = _stats(*(sums @ w.T)) if n_boot else None
        out.append((point, boot))
    (pa, ba), (pb, bb) = out
    ns = float(_nsigma(pa[1], pb[1], pa[0], pb[0], pa[2], pb[2]))
    acc = 0.5 * (pa[3] + pb[3])
    if n_boot:
        ns_b = _nsigma(ba[1], bb[1], ba[0], bb[0], ba[2], bb[2])
        ns_sem, acc_sem = float(np.nanstd(ns_b)), float(np.nanstd(0.5 * (ba[3] + bb[3])))
    else:
        ns_sem = acc_sem = 0.0
    return PairMetric(ns, ns_sem, float(acc), acc_sem, (pa[0], pb[0]), (pa[1], pb[1]),
                      (pa[2], pb[2]), (pa[3], pb[3]))


def bootstrap_weights(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """(n_boot, n) resampling counts: n draws with replacement per replica."""
    if n_boot == 0 or n == 0:
        return np.zeros((0, n))
    draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def weighted_quantiles(x: np.ndarray, weights: np.ndarray | None, qs: tuple[float, ...]
                       ) -> np.ndarray:
    """Quantiles of ``x`` with weights; ``weights`` may be (n,) or (replicas, n).

    Returns an array of shape (len(qs),) or (replicas, len(qs)). One sort serves all replicas,
    which keeps bootstrap errors of robust widths cheap.
    """
    order = np.argsort(x)
    xs = x[order]
    if weights is None:
        weights = np.ones_like(x)
    w = np.atleast_2d(weights)[:, order]
    cw = np.cumsum(w, axis=1)
    total = cw[:, -1:]
    out = np.empty((w.shape[0], len(qs)))
    for j, q in enumerate(qs):
        idx = np.minimum((cw < q * total).sum(axis=1), xs.size - 1)
        out[:, j] = xs[idx]
    return out if np.ndim(weights) == 2 else out[0]


def robust_center_width(x: np.ndarray, weights: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Median and Gaussian-equivalent width IQR/1.349 (the robust core of a distribution)."""
    if x.size == 0:
        shape = np.shape(weights)[0] if weights is not None and np.ndim(weights) == 2 else ()
        nan = np.full(shape, np.nan)
        return nan, nan
    q = weighted_quantiles(x, weights, (0.25, 0.5, 0.75))
    return q[..., 1], (q[..., 2] - q[..., 0]) / IQR_TO_SIGMA


def track_means(smp: Sample, min_photons: int = 3) -> np.ndarray:
    """Per-track mean window angle for events with at least ``min_photons`` window photons."""
    sel = smp.event & (smp.n_win >= min_photons)
    return smp.sum_theta[sel] / smp.n_win[sel]


def per_track_nsigma(a: Sample, b: Sample, min_photons: int = 3) -> float:
    """Physics N-sigma: |theta_a - theta_b| / mean robust width of the per-track mean angles."""
    ca, wa = robust_center_width(track_means(a, min_photons))
    cb, wb = robust_center_width(track_means(b, min_photons))
    return float(abs(ca - cb) / (0.5 * (wa + wb)))


def photon_core_width(smp: Sample) -> float:
    """Robust single-photon resolution: IQR width of (theta - theta_exp) over window photons."""
    th = smp.theta[smp.in_window]
    return float(robust_center_width(th - smp.theta_exp)[1])
