"""Tracks and Cherenkov photons: generation and transport through the radiators.

Aerogel photons are traced photon by photon: absorption, one Rayleigh scatter with the
(1 + cos^2) phase function (a second scatter is dropped), exit through the back face, refraction
and unpolarised Fresnel losses at aerogel -> air gap -> acrylic filter -> gas. Gas photons are
emitted uniformly along the track from behind the filter to the mirror.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from . import geometry as geo
from .geometry import Design, orthonormal_basis
from .optics import (Optics, aerogel_absorption, aerogel_rayleigh, fresnel_transmission,
                     wavelength_nm)
from .presets import Preset
from .rng import Stream
from .tables import FILTER_INDEX

# purpose codes of the counter-based random numbers (see rng.py)
P_ETA, P_PHI, P_TRK, P_NPHOT, P_LHS, P_TRK2, P_NPERM = 0, 1, 2, 3, 15, 16, 17
P_POS, P_ENERGY, P_AZIM, P_ABS, P_RAY, P_SCOS, P_SPHI, P_ABS2, P_RAY2, P_FRESNEL = range(4, 14)
MAX_PHOTONS = 1 << 10  # photon slots per track (rng.SLOT_BITS)


@dataclass
class Tracks:
    """Straight tracks from the IP in sector 0 (|phi| < 30 deg) at fixed momentum."""

    p: float
    mass: float
    eta: np.ndarray
    direction: np.ndarray  #: true unit direction (n, 3)
    measured: np.ndarray  #: smeared (reconstructed) unit direction (n, 3)

    @property
    def beta(self) -> float:
        return self.p / float(np.hypot(self.p, self.mass))

    def __len__(self) -> int:
        return self.eta.size


def make_tracks(stream: Stream, n: int, p: float, mass: float, eta_range: tuple[float, float],
                preset: Preset, stratified: bool = True) -> Tracks:
    """Uniform in eta inside the bin and in phi inside one sector; smeared measured direction."""
    keys = stream.keys(np.arange(n))
    u_eta, u_phi = stream.uniform(keys, P_ETA), stream.uniform(keys, P_PHI)
    if stratified:
        # Latin hypercube in (eta, phi): same distribution, less kinematic sampling noise
        order = np.argsort(stream.uniform(keys, P_LHS))
        u_eta = (np.arange(n) + u_eta) / n
        u_phi = (order + u_phi) / n
    eta = eta_range[0] + (eta_range[1] - eta_range[0]) * u_eta
    phi = (u_phi - 0.5) * geo.SECTOR
    theta = 2.0 * np.arctan(np.exp(-eta))
    d = np.column_stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    meas = d
    if preset.effects.tracking:
        sigma = np.hypot(preset.tracking_const, preset.tracking_msc / p)
        e1, e2 = orthonormal_basis(d)
        g1 = stream.normal(keys, P_TRK)[:, None]
        g2 = stream.normal(keys, P_TRK2)[:, None]
        meas = d + sigma * (g1 * e1 + g2 * e2)
        meas /= np.linalg.norm(meas, axis=1)[:, None]
    return Tracks(p, mass, eta, d, meas)


def stratified_uniform(stream: Stream, n: int, purpose: int, perm_purpose: int) -> np.ndarray:
    """One uniform per track, stratified over the n tracks (a random, design-independent
    permutation of the strata): each value is still U(0, 1), but their sum fluctuates far less."""
    keys = stream.keys(np.arange(n))
    order = np.argsort(stream.uniform(keys, perm_purpose))
    return (order + stream.uniform(keys, purpose)) / n


def poisson_icdf(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson quantile for uniforms ``u`` (inverse CDF: smooth in mu for common random numbers)."""
    mu = np.asarray(mu, dtype=float)
    out = np.zeros(mu.shape, dtype=np.int64)
    pos = mu > 0
    if not pos.any():
        return out
    m = mu[pos]
    kmax = int(m.max() + 10.0 * np.sqrt(m.max()) + 20)
    k = np.arange(kmax)
    logp = k[None, :] * np.log(m)[:, None] - m[:, None] - gammaln(k + 1.0)[None, :]
    cdf = np.cumsum(np.exp(logp), axis=1)
    out[pos] = np.minimum((cdf < u[pos, None]).sum(axis=1), MAX_PHOTONS - 1)
    return out


@dataclass
class Photons:
    """Photons entering the gas volume (rows), with truth for diagnostics and closure tests."""

    track: np.ndarray  #: index of the parent track
    slot: np.ndarray  #: photon number within the track (counter key)
    origin: np.ndarray  #: start of the optical trace in the gas (n, 3)
    direction: np.ndarray  #: direction in the gas (n, 3)
    emission: np.ndarray  #: true emission point (n, 3)
    lam: np.ndarray  #: wavelength [nm]
    n_rad: np.ndarray  #: index of the emitting radiator at lam
    n_gas: np.ndarray  #: gas index at lam
    radiator: int  #: 0 aerogel, 1 gas
    scattered: np.ndarray  #: Rayleigh-scattered in the aerogel

    def __len__(self) -> int:
        return self.track.size


def _emit(stream: Stream, counts: np.ndarray, track_ids: np.ndarray):
    """Expand per-track photon counts into (track, slot, keys) rows."""
    track = np.repeat(track_ids, counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    slot = np.arange(track.size) - starts
    return track, slot, stream.keys(track, slot)


def _cone(tracks: Tracks, track: np.ndarray, cos_t: np.ndarray, azim: np.ndarray) -> np.ndarray:
    """Directions at polar angle acos(cos_t), azimuth ``azim`` around the true track directions."""
    d = tracks.direction[track]
    e1, e2 = orthonormal_basis(d)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return ((sin_t * np.cos(azim))[:, None] * e1 + (sin_t * np.sin(azim))[:, None] * e2
            + cos_t[:, None] * d)


def aerogel_crossing(design: Design, tracks: Tracks) -> np.ndarray:
    """Tracks that enter the aerogel within its radial bounds (these have a PID object)."""
    d = tracks.direction
    entry = d * (geo.Z_AEROGEL / d[:, 2])[:, None]
    r_in = np.hypot(entry[:, 0], entry[:, 1])
    z0 = geo.Z_AEROGEL
    return (r_in >= design.aerogel_rmin(z0)) & (r_in <= design.aerogel_rmax(z0))


def aerogel_photons(design: Design, optics: Optics, preset: Preset, tracks: Tracks, stream: Stream
                    ) -> tuple[Photons, np.ndarray]:
    """Generate and transport aerogel photons; returns the photons reaching the gas and the
    mask of tracks that cross the aerogel within its radial bounds (these have a PID object)."""
    d = tracks.direction
    entry = d * (geo.Z_AEROGEL / d[:, 2])[:, None]
    crosses = aerogel_crossing(design, tracks)
    length = design.aerogel_thickness / d[:, 2]
    spec = optics.spectrum("aerogel", tracks.beta)
    mu = np.where(crosses, length * spec.yield_per_cm, 0.0)
    ids = np.arange(len(tracks))
    counts = poisson_icdf(stratified_uniform(stream, len(tracks), P_NPHOT, P_NPERM), mu)
    track, slot, keys = _emit(stream, counts, ids)

    u = stream.uniform(keys, P_POS)
    pos = entry[track] + (u * length[track])[:, None] * d[track]
    lam = wavelength_nm(spec.sample_energy(stream.uniform(keys, P_ENERGY)))
    n_a = optics.n_aerogel(lam)
    cos_t = 1.0 / (n_a * tracks.beta)
    dirs = _cone(tracks, track, cos_t, 2.0 * np.pi * stream.uniform(keys, P_AZIM))

    # absorption and Rayleigh scattering inside the aerogel
    l_abs = aerogel_absorption(lam, optics.aerogel_set)
    s_abs = -l_abs * np.log(stream.uniform(keys, P_ABS))
    s_exit = (design.z_aerogel_back - pos[:, 2]) / dirs[:, 2]
    if preset.effects.scattering:
        l_ray = aerogel_rayleigh(lam, optics.aerogel_set)
        s_ray = -l_ray * np.log(stream.uniform(keys, P_RAY))
    else:
        l_ray = np.full_like(lam, np.inf)
        s_ray = np.full_like(lam, np.inf)
    direct = (s_exit <= s_abs) & (s_exit <= s_ray)
    scat = (s_ray < s_abs) & (s_ray < s_exit)
    alive = direct.copy()
    exit_pt = pos + s_exit[:, None] * dirs
    if scat.any():
        i = np.flatnonzero(scat)
        p1 = pos[i] + s_ray[i, None] * dirs[i]
        new = _rayleigh_direction(dirs[i], stream.uniform(keys[i], P_SCOS),
                                  stream.uniform(keys[i], P_SPHI))
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = np.where(new[:, 2] > 0, (design.z_aerogel_back - p1[:, 2]) / new[:, 2], np.inf)
        s_abs2 = -l_abs[i] * np.log(stream.uniform(keys[i], P_ABS2))
        s_ray2 = -l_ray[i] * np.log(stream.uniform(keys[i], P_RAY2))
        ok = np.isfinite(s2) & (s2 < s_abs2) & (s2 < s_ray2)
        dirs[i] = new
        exit_pt[i] = p1 + np.where(ok, s2, 0.0)[:, None] * new
        alive[i] = ok
    r_out = np.hypot(exit_pt[:, 0], exit_pt[:, 1])
    zb = design.z_aerogel_back
    alive &= (r_out >= design.aerogel_rmin(zb)) & (r_out <= design.aerogel_rmax(zb))

    # aerogel -> air gap -> filter -> gas: refraction, lateral shifts, Fresnel transmission
    n_g = optics.n_gas(lam)
    d_air, t1 = _refract(dirs, n_a, geo.N_AIR)
    d_fil, t2 = _refract(d_air, geo.N_AIR, FILTER_INDEX)
    d_gas, t3 = _refract(d_fil, FILTER_INDEX, n_g)
    trans = t1 * t2 * t3
    alive &= stream.uniform(keys, P_FRESNEL) < trans
    with np.errstate(divide="ignore", invalid="ignore"):
        origin = (exit_pt + (geo.AIRGAP / d_air[:, 2])[:, None] * d_air
                  + (geo.FILTER / d_fil[:, 2])[:, None] * d_fil)
    k = np.flatnonzero(alive)
    photons = Photons(track[k], slot[k], origin[k], d_gas[k], pos[k], lam[k], n_a[k], n_g[k], 0,
                      scat[k])
    return photons, crosses


def gas_photons(design: Design, optics: Optics, tracks: Tracks, stream: Stream) -> Photons:
    """Gas photons, emitted uniformly from behind the filter to the mirror along the true track."""
    d = tracks.direction
    t0 = design.z_gas / d[:, 2]
    zeros = np.zeros_like(d)
    t1 = geo.sphere_exit(zeros, d, design.mirror_center, design.mirror_radius)
    length = np.clip(np.nan_to_num(t1 - t0), 0.0, None)
    spec = optics.spectrum("gas", tracks.beta)
    ids = np.arange(len(tracks))
    u_count = stratified_uniform(stream, len(tracks), P_NPHOT, P_NPERM)
    counts = poisson_icdf(u_count, length * spec.yield_per_cm)
    track, slot, keys = _emit(stream, counts, ids)
    t = t0[track] + stream.uniform(keys, P_POS) * length[track]
    pos = d[track] * t[:, None]
    lam = wavelength_nm(spec.sample_energy(stream.uniform(keys, P_ENERGY)))
    n_g = optics.n_gas(lam)
    azim = 2.0 * np.pi * stream.uniform(keys, P_AZIM)
    dirs = _cone(tracks, track, 1.0 / (n_g * tracks.beta), azim)
    return Photons(track, slot, pos, dirs, pos.copy(), lam, n_g, n_g, 1, np.zeros(track.size, bool))


def _refract(d: np.ndarray, n1, n2) -> tuple[np.ndarray, np.ndarray]:
    """Refract through a plane z = const: tangential part scales by n1/n2; returns (dir, T)."""
    ratio = np.asarray(n1) / np.asarray(n2)
    out = np.empty_like(d)
    out[:, 0] = d[:, 0] * ratio
    out[:, 1] = d[:, 1] * ratio
    out[:, 2] = np.sqrt(np.clip(1.0 - out[:, 0] ** 2 - out[:, 1] ** 2, 0.0, None))
    return out, fresnel_transmission(n1, n2, d[:, 2])


def _rayleigh_direction(d: np.ndarray, u_cos: np.ndarray, u_phi: np.ndarray) -> np.ndarray:
    """New direction after a Rayleigh scatter: cos(psi) from the (1 + cos^2) phase function."""
    # invert the CDF (c + c^3/3 + 4/3) * 3/8 = u: depressed cubic c^3 + 3c + (4 - 8u) = 0
    q = 4.0 - 8.0 * u_cos
    root = np.sqrt(q * q / 4.0 + 1.0)
    c = np.cbrt(-q / 2.0 + root) + np.cbrt(-q / 2.0 - root)
    c = np.clip(c, -1.0, 1.0)
    e1, e2 = orthonormal_basis(d)
    s = np.sqrt(1.0 - c * c)
    phi = 2.0 * np.pi * u_phi
    return (s * np.cos(phi))[:, None] * e1 + (s * np.sin(phi))[:, None] * e2 + c[:, None] * d

