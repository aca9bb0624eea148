"""Showers of single electrons, photons and negative pions in the BIC (per event, vectorized).

For each event the model gives

* ``cells``: energy (EM scale, GeV) deposited in the ScFi readout cells, 12 layers x 8 phi
  cells around the shower axis (48 sectors x 5 cells in phi, each cell a whole layer deep and
  the full length in z, as ePIC's ``grid`` readout); sampling fluctuations are applied later
  (:mod:`.readout`);
* ``mip_visible``: visible energy of a pion's minimum-ionizing track in each layer (central
  cell, already fluctuated);
* ``counts``: charged particles crossing each of the six imaging planes, whether the plane's
  stave is on or not (the analysis masks the disabled ones), and how many of them are primary
  tracks (``primaries``).

Physics: an EM shower is one Grindhammer-Peters profile (:mod:`.gflash`) starting at the
upstream material (electrons), at an exponential conversion depth with mean 9/7 X0 (photons,
and the pi0 part of pion showers). The number of charged particles crossing a plane at depth
t is (E/E_c) f(t) (the total charged track length of a shower is E/E_c in X0). A pi- travels
as a MIP until its first inelastic interaction (exponential in lambda_I = 34.2 cm of Pb/ScFi),
then deposits an EM fraction f_em (Beta distributed around Groom's mean, with a floor) as an
EM shower and the rest, weighted by h/e, with an exponential profile of length lambda_I;
punch-through energy is lost. Material in front (tracker + DIRC) and the aluminium support
absorb the start of the shower; each enabled stave adds 0.017 X0 of dead material.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from . import gflash
from . import materials as mat
from .geometry import Layout
from .physics import Physics
from .rng import Draws

N_CELLS = 8                 # phi cells kept around the axis (about 5 Moliere radii)
_CONVERSION_X0 = 9.0 / 7.0  # mean free path of a photon for pair production
_GROOM_E0, _GROOM_EXP = 0.96, -0.184   # <f_em> = 1 - (E/E0)^(k-1) for pions (Groom 2007)


@dataclass
class Sample:
    """One simulated sample: a species at one energy, ``n`` events."""

    species: str
    energy: float
    eta: np.ndarray                 # (n,)
    counts: np.ndarray              # (n, 6) charged crossings of the imaging planes
    primaries: np.ndarray           # (n, 6) primary tracks among them
    em_energy: np.ndarray           # (n,) energy of the EM shower (0: none)
    em_start: np.ndarray            # (n,) its start depth (X0 along the track)
    alpha: np.ndarray               # (n,) its Gamma profile
    beta: np.ndarray
    primary_sigma_cm: np.ndarray    # (n, 6) spread of the primary tracks on the plane (z)
    cells: np.ndarray | None = None         # (n, 12, N_CELLS) EM-scale GeV
    mip_visible: np.ndarray | None = None   # (n, 12) visible GeV

    @property
    def n(self) -> int:
        return len(self.eta)


def _poisson(u: np.ndarray, mean: np.ndarray, exact_below: float = 30.0) -> np.ndarray:
    """Poisson quantiles of fixed uniforms (monotone in the mean: common random numbers).

    Exact (cumulative sum of the pmf) for means below ``exact_below``; above, the normal
    approximation with continuity correction (relative error of the quantile < 1 %)."""
    mean = np.asarray(mean, dtype=float)
    out = np.zeros(mean.shape)
    small = (mean > 1e-9) & (mean < exact_below)
    mu, uu = mean[small], u[small]
    pmf = np.exp(-mu)
    cdf = pmf.copy()
    k = np.zeros(mu.shape)
    for i in range(1, int(3 * exact_below)):
        below = cdf < uu
        if not below.any():
            break
        k += below
        pmf = pmf * mu / i
        cdf = cdf + pmf
    out[small] = k
    big = mean >= exact_below
    out[big] = np.maximum(np.floor(mean[big] + np.sqrt(mean[big]) * special.ndtri(u[big]) + 0.5), 0)
    return out


def _em_cells(lay: Layout, ph: Physics, energy: np.ndarray, start: np.ndarray, alpha, beta,
              ceta: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """EM-scale energy per (layer, phi cell) of one GFlash shower per event."""
    t0 = lay.scfi_start[None, :] * ceta[:, None] - start[:, None]
    t1 = lay.scfi_end[None, :] * ceta[:, None] - start[:, None]
    frac = gflash.fraction_between(alpha[:, None], beta[:, None], t0, t1)
    tmax = (alpha - 1.0) / beta
    tau = np.maximum(0.5 * (t0 + t1), 0.0) / tmax[:, None]
    r_core, r_tail, w_core = gflash.lateral(np.maximum(energy, 1e-3)[:, None], tau)
    lateral = (w_core[..., None] * _strips(lay, ph, phase, r_core * mat.MOLIERE_CM)
               + (1 - w_core[..., None]) * _strips(lay, ph, phase, r_tail * mat.MOLIERE_CM))
    return (energy[:, None] * frac)[..., None] * lateral


def _strips(lay: Layout, ph: Physics, phase: np.ndarray, radius_cm: np.ndarray) -> np.ndarray:
    """Fraction of a lateral profile in each of the N_CELLS phi cells of every layer."""
    width = 2 * np.pi * lay.scfi_mid_radius / ph.phi_cells                  # (12,)
    c = np.arange(-N_CELLS // 2, N_CELLS // 2 + 1)                           # 9 edges
    edges = (c[None, None, :] - phase[:, None, None]) * width[None, :, None]  # (n, 12, 9)
    radius = np.broadcast_to(np.asarray(radius_cm, dtype=float), edges.shape[:2])[..., None]
    return gflash.strip_fractions(edges, radius)


def simulate(lay: Layout, ph: Physics, species: str, energy: float, draws: Draws,
             eta_range: tuple[float, float], need_cells: bool = True) -> Sample:
    """Simulate ``draws.n`` events of ``species`` ("electron", "gamma", "pion") at ``energy``."""
    n = draws.n
    eta = eta_range[0] + (eta_range[1] - eta_range[0]) * draws.uniform("track")
    ceta = np.cosh(eta)
    e_tot = np.full(n, float(energy))
    sensor_t = lay.sensor_depth[None, :] * ceta[:, None]                       # (n, 6)
    z1, z2 = draws.normal("profile1"), draws.normal("profile2")
    up_x0 = ph.upstream_x0 * ceta
    # primaries spread on the planes by multiple scattering in the upstream material
    theta0 = mat.multiple_scattering_angle(energy, np.maximum(up_x0, 1e-6))
    ms_sigma = (theta0 * ceta ** 2)[:, None] * np.maximum(
        lay.sensor_radius[None, :] - ph.upstream_radius_cm, 0.0)
    ms_sigma = np.where(up_x0[:, None] > 0, ms_sigma, 0.0) + 0.002
    depth_cm = lay.scfi_cm_end[-1] * ceta
    s_int = np.full(n, np.inf)
    mu_had = np.zeros((n, 6))
    if species == "electron":
        start = np.zeros(n)
        em_energy = e_tot
        primaries = ((sensor_t - start[:, None]) < 1.0).astype(float)
    elif species == "gamma":
        start = -_CONVERSION_X0 * np.log(draws.uniform("start"))
        em_energy = e_tot
        rel = sensor_t - start[:, None]
        primaries = 2.0 * ((rel > 0) & (rel < 1.0))
        ms_sigma = np.full_like(ms_sigma, 0.02)
    elif species == "pion":
        s_int = -mat.LAMBDA_I_CM * np.log(draws.uniform("interaction"))
        interacts = s_int < depth_cm
        start = _x0_depth(lay, s_int, ceta) - _CONVERSION_X0 * np.log(draws.uniform("conv2"))
        fem = _em_fraction(ph, energy, draws.uniform("fem"))
        em_energy = np.where(interacts, fem * energy, 0.0)
        sensor_cm = lay.scfi_cm_start[None, :6] * ceta[:, None]   # sensor k precedes layer k
        primaries = (sensor_cm < s_int[:, None]).astype(float)
        after = np.maximum(sensor_cm - s_int[:, None], 0.0)
        mu_had = np.where(sensor_cm > s_int[:, None], (1.0 + 0.5 * np.log1p(energy))
                          * np.exp(-after / mat.LAMBDA_I_CM), 0.0)
    else:
        raise ValueError(f"unknown species {species!r}")
    alpha, beta = gflash.longitudinal(np.maximum(em_energy, 1e-3), z1, z2)
    mu_em = (em_energy / mat.CRITICAL_GEV)[:, None] * gflash.density(
        alpha[:, None], beta[:, None], sensor_t - start[:, None])
    counts = primaries + _poisson(draws.uniform("counts", 6), mu_em + mu_had)
    sample = Sample(species, float(energy), eta, counts, primaries, em_energy, start, alpha,
                    beta, ms_sigma)
    if need_cells:
        phase = draws.uniform("phase")
        sample.cells = _em_cells(lay, ph, em_energy, start, alpha, beta, ceta, phase)
        if species == "pion":
            _add_hadronic(sample, lay, ph, energy, s_int, ceta, phase, fem, draws)
    return sample


def _x0_depth(lay: Layout, s_cm: np.ndarray, ceta: np.ndarray) -> np.ndarray:
    """Depth in X0 (along the track) of a point ``s_cm`` of Pb/ScFi path into the calorimeter."""
    s_norm = np.minimum(s_cm / ceta, lay.scfi_cm_end[-1])
    j = np.clip(np.searchsorted(lay.scfi_cm_end, s_norm, side="right"), 0, len(lay.scfi_cm_end) - 1)
    t_norm = lay.scfi_start[j] + (s_norm - lay.scfi_cm_start[j]) / mat.X0_CM
    return t_norm * ceta


def _em_fraction(ph: Physics, energy: float, u: np.ndarray) -> np.ndarray:
    """EM fraction of a pion shower: Beta around max(Groom's mean, floor), fixed uniforms."""
    mean = max(1.0 - (energy / _GROOM_E0) ** _GROOM_EXP, ph.fem_floor)
    k = ph.fem_concentration
    return special.betaincinv(mean * k, (1.0 - mean) * k, u)


def _add_hadronic(sample: Sample, lay: Layout, ph: Physics, energy: float, s_int: np.ndarray,
                  ceta: np.ndarray, phase: np.ndarray, fem: np.ndarray, draws: Draws) -> None:
    """Non-EM part of the pion shower and the MIP track before the interaction."""
    c0 = lay.scfi_cm_start[None, :] * ceta[:, None]
    c1 = lay.scfi_cm_end[None, :] * ceta[:, None]
    s = s_int[:, None]
    lam = mat.LAMBDA_I_CM
    frac = np.exp(-np.maximum(c0 - s, 0.0) / lam) - np.exp(-np.maximum(c1 - s, 0.0) / lam)
    frac = np.where(c1 > s, frac, 0.0)
    e_had = np.where(np.isfinite(s_int) & (s_int < c1[:, -1]), (1.0 - fem) * energy * ph.h_over_e,
                     0.0)
    lateral = _strips(lay, ph, phase, ph.hadronic_radius_cm)
    sample.cells = sample.cells + (e_had[:, None] * frac)[..., None] * lateral
    path = np.clip(np.minimum(s, c1) - c0, 0.0, None)
    landau = np.clip(1.0 + 0.12 * draws.normal("mip", 12), 0.5, None)
    sample.mip_visible = path * mat.MIP_VISIBLE_GEV_PER_CM * landau
