"""Semi-analytic momentum reach (reference 4.7, hybrid mode).

One MC sample per (eta bin, radiator) gives the window photon yield N_ref, the single-photon
core width sigma_1pe and the non-averaging per-track term sigma_x
(sigma_track^2 = sigma_1pe^2 <1/N> + sigma_x^2). They are extrapolated in momentum with
  N(p) = N_ref sin^2 theta(p) / sin^2 theta(p_ref),
  sigma(p) = sqrt(sigma_1pe^2 / N(p) + sigma_x^2),
  N-sigma(p) = |theta_a - theta_b| / ((sigma_a + sigma_b)/2)      (both above threshold),
  N-sigma(p) = (N_a - N_b) / sqrt(N_a)                              (b below threshold),
and the 3-sigma reach is the highest momentum with N-sigma >= 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import robust_center_width
from .scan import Sample

P_GRID = np.geomspace(0.5, 400.0, 1200)


@dataclass(frozen=True)
class Response:
    """Radiator response at one eta bin (arrays: one entry per bootstrap replica, or scalars)."""

    n_ref: np.ndarray  #: window photons per event at the reference momentum
    sin2_ref: float  #: sin^2 theta at the reference momentum (reference index)
    sigma_1pe: np.ndarray  #: single-photon core width [rad]
    sigma_x: np.ndarray  #: non-averaging per-track width [rad]
    nref: float  #: reference refractive index


def response(smp: Sample, weights: np.ndarray | None = None, min_photons: int = 3) -> Response:
    """Measure N_ref, sigma_1pe and sigma_x from one species' sample (weights: (B, tracks))."""
    w = np.ones((1, len(smp.n_win))) if weights is None else np.atleast_2d(weights)
    ev = smp.event.astype(float)
    n_ref = (w @ (smp.n_win * ev)) / np.maximum(w @ ev, 1e-300)
    owner = smp.hit_track[smp.in_window]
    x = smp.theta[smp.in_window] - smp.theta_exp
    _, s1 = robust_center_width(x, w[:, owner])
    sel = smp.event & (smp.n_win >= min_photons)
    means = smp.sum_theta[sel] / smp.n_win[sel]
    ws = w[:, sel]
    _, s_trk = robust_center_width(means, ws)
    inv_n = (ws @ (1.0 / smp.n_win[sel])) / np.maximum(ws.sum(axis=1), 1e-300)
    sx = np.sqrt(np.clip(s_trk**2 - s1**2 * inv_n, 0.0, None))
    sin2_ref = 1.0 - 1.0 / (smp.nref * smp.tracks.beta) ** 2
    if weights is None:
        return Response(n_ref[0], sin2_ref, s1[0], sx[0], smp.nref)
    return Response(n_ref, sin2_ref, s1, sx, smp.nref)


def nsigma_curve(resp: Response, m_a: float, m_b: float, p: np.ndarray = P_GRID) -> np.ndarray:
    """N-sigma between masses m_a < m_b versus momentum (rows: replicas, columns: p)."""
    def angle_and_n(m):
        beta = p / np.sqrt(p * p + m * m)
        sin2 = np.clip(1.0 - 1.0 / (resp.nref * beta) ** 2, 0.0, None)
        return np.arccos(np.minimum(1.0 / (resp.nref * beta), 1.0)), sin2

    th_a, s2a = angle_and_n(m_a)
    th_b, s2b = angle_and_n(m_b)
    scale = (np.atleast_1d(resp.n_ref) / resp.sin2_ref)[:, None]
    n_a, n_b = scale * s2a, scale * s2b
    s1 = np.atleast_1d(resp.sigma_1pe)[:, None]
    sx = np.atleast_1d(resp.sigma_x)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        sig_a = np.sqrt(s1**2 / n_a + sx**2)
        sig_b = np.sqrt(s1**2 / n_b + sx**2)
        ring = np.abs(th_a - th_b) / (0.5 * (sig_a + sig_b))
        threshold = (n_a - n_b) / np.sqrt(n_a)
    out = np.where(s2b > 0, ring, threshold)
    return np.where(s2a > 0, np.nan_to_num(out), 0.0)


def reach(resp: Response, m_a: float, m_b: float, level: float = 3.0) -> np.ndarray:
    """Highest momentum [GeV/c] with N-sigma >= ``level`` (log-interpolated; one per replica)."""
    ns = nsigma_curve(resp, m_a, m_b)
    above = ns >= level
    # last grid index above the level (N-sigma falls as 1/p^2 at high momentum)
    last = np.where(above.any(axis=1), P_GRID.size - 1 - np.argmax(above[:, ::-1], axis=1), -1)
    out = np.zeros(ns.shape[0])
    for r, i in enumerate(last):
        if i < 0:
            continue
        if i == P_GRID.size - 1:
            out[r] = P_GRID[-1]
            continue
        y0, y1 = ns[r, i], ns[r, i + 1]
        f = (y0 - level) / (y0 - y1) if y0 != y1 else 0.0
        out[r] = np.exp(np.log(P_GRID[i]) + f * (np.log(P_GRID[i + 1]) - np.log(P_GRID[i])))
    return out
