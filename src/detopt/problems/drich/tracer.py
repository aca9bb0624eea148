"""Optical trace in the gas: 6-sector spherical mirror -> spherical sensor patch -> pixel.

Per photon (reference 4.5): intersect the mirror sphere of the sector; outside |phi| < 29.75 deg,
rotate into the neighbouring sector and retry. Photons that meet the sensor sphere before the
mirror hit the active face if they enter it through the patch, and are blocked by the backs of the
photodetector units if they leave through it. Reflected photons must enter the sensor patch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry as geo
from .geometry import Design, dot, orthonormal_basis, rotate_z
from .optics import Optics
from .photons import Photons
from .presets import Preset
from .rng import Stream
from .tables import GAS_ABSLENGTH_CM

P_GASABS, P_PIX1, P_PIX2 = 20, 21, 22


@dataclass
class Hits:
    """Detected photons: hit positions in the frame of the sector that saw them, plus truth."""

    photons: Photons  #: the photons that were detected (subset of the traced ones)
    position: np.ndarray  #: pixelised hit position on the sensor (sector frame) (n, 3)
    true_position: np.ndarray  #: exact hit position (sector frame)
    sector: np.ndarray  #: -1, 0, +1: sector of the hit relative to the track's sector
    direct: np.ndarray  #: hit the sensors without reflection (background)
    mirror_point: np.ndarray  #: reflection point (sector frame); NaN for direct hits

    def __len__(self) -> int:
        return self.position.shape[0]


@dataclass
class TraceStats:
    """Photon bookkeeping of one trace (for diagnostics)."""

    entering_gas: int = 0
    on_mirror: int = 0
    blocked: int = 0
    detected: int = 0


def trace(design: Design, optics: Optics, preset: Preset, photons: Photons, stream: Stream,
          stats: TraceStats | None = None) -> Hits:
    """Trace photons from the gas to the sensors (vectorised)."""
    o, d = photons.origin, photons.direction
    c_m, r_m = design.mirror_center, design.mirror_radius
    t_m = geo.sphere_exit(o, d, c_m, r_m)
    m = o + t_m[:, None] * d
    ok = design.in_mirror_patch(m)
    sector = np.zeros(len(photons), dtype=np.int64)
    # retry in the neighbouring sector (exact 6-fold symmetry): rotate the ray by -+60 deg
    phi = np.arctan2(m[:, 1], m[:, 0])
    retry = ~ok & (np.abs(phi) >= geo.MIRROR_PHIW) & np.isfinite(t_m)
    if retry.any():
        i = np.flatnonzero(retry)
        k = np.where(phi[i] > 0, 1, -1)
        o2, d2 = rotate_z(o[i], -k * geo.SECTOR), rotate_z(d[i], -k * geo.SECTOR)
        t2 = geo.sphere_exit(o2, d2, c_m, r_m)
        m2 = o2 + t2[:, None] * d2
        ok2 = design.in_mirror_patch(m2)
        o, d = o.copy(), d.copy()
        o[i], d[i], t_m[i], m[i], sector[i] = o2, d2, t2, m2, k
        ok[i] = ok2
    ok &= np.isfinite(t_m)

    # sensor sphere met before the mirror: direct hit (entering the patch) or blocked (leaving it)
    c_s, r_s = design.sensor_center, design.sensor_radius
    s1, s2 = geo.sphere_hits(o, d, c_s, r_s)
    p1 = o + np.nan_to_num(s1)[:, None] * d
    p2 = o + np.nan_to_num(s2)[:, None] * d
    before1 = (s1 > 0) & (s1 < t_m)
    before2 = (s2 > 0) & (s2 < t_m)
    direct = before1 & design.in_sensor_patch(p1)
    blocked = ~direct & before2 & design.in_sensor_patch(p2)

    # reflection and sensor hit
    normal = (m - c_m) / r_m
    refl = d - 2.0 * dot(d, normal)[:, None] * normal
    h1, _ = geo.sphere_hits(m, refl, c_s, r_s)
    hit = m + np.nan_to_num(h1)[:, None] * refl
    reflected = ok & ~direct & ~blocked & (h1 > 0) & design.in_sensor_patch(hit)

    path = np.where(direct, s1, t_m + h1)
    pos = np.where(direct[:, None], p1, hit)
    good = (direct | reflected)
    good &= np.nan_to_num(path, nan=np.inf) < -GAS_ABSLENGTH_CM * np.log(
        stream.uniform(stream.keys(photons.track, photons.slot), P_GASABS))
    if stats is not None:
        stats.entering_gas += len(photons)
        stats.on_mirror += int(ok.sum())
        stats.blocked += int(blocked.sum())
        stats.detected += int(good.sum())

    idx = np.flatnonzero(good)
    true_pos = pos[idx]
    measured = true_pos
    if preset.effects.pixel and idx.size:
        measured = pixelate(design, preset, true_pos,
                            stream.keys(photons.track[idx], photons.slot[idx]), stream)
    mirror_pt = np.where(direct[idx, None], np.nan, m[idx])
    return Hits(_subset(photons, idx), measured, true_pos, sector[idx], direct[idx], mirror_pt)


def pixelate(design: Design, preset: Preset, true_pos: np.ndarray, keys: np.ndarray,
             stream: Stream) -> np.ndarray:
    """Uniform position error over the pixel, in the sensor tangent plane (sector frame)."""
    e1, e2 = orthonormal_basis((true_pos - design.sensor_center) / design.sensor_radius)
    a = preset.pixel_size
    u1 = (stream.uniform(keys, P_PIX1) - 0.5) * a
    u2 = (stream.uniform(keys, P_PIX2) - 0.5) * a
    return true_pos + u1[:, None] * e1 + u2[:, None] * e2


def _subset(ph: Photons, idx: np.ndarray) -> Photons:
    return Photons(ph.track[idx], ph.slot[idx], ph.origin[idx], ph.direction[idx], ph.emission[idx],
                   ph.lam[idx], ph.n_rad[idx], ph.n_gas[idx], ph.radiator, ph.scattered[idx])
