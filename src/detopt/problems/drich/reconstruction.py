"""IRT-like inverse reconstruction of the Cherenkov angle of each hit.

Given the assumed emission point E on the measured track and the pixel position H, the reflection
point P on the spherical mirror satisfies the reflection law and lies in the plane (C, E, H).
We solve for its polar angle psi in that plane with Newton's method and an analytic derivative
(the naive bisector fixed-point iteration diverges here: its gain is ~2). For the aerogel the
photon also crossed the air gap and the filter: the gas-side start point X depends on the photon
direction, so X and P are iterated (the map contracts by ~thickness/lever arm ~ 0.03). The gas
direction is then un-refracted with the reference indices (n sin(alpha) is conserved across the
parallel planes), and theta is the angle to the measured track.
"""

from __future__ import annotations

import numpy as np

from . import geometry as geo
from .geometry import Design, dot, rotate_z
from .tables import FILTER_INDEX


def reflection_point(center: np.ndarray, radius: float, start: np.ndarray, hit: np.ndarray,
                     iterations: int = 6, psi0: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Point on the sphere reflecting a ray from ``start`` into ``hit`` (both inside the sphere).

    Returns (P, psi); ``psi0`` warm-starts the Newton iteration.
    """
    a = start - center
    h = hit - center
    la = np.sqrt(dot(a, a))
    e1 = a / la[:, None]
    h1 = dot(h, e1)
    hp = h - h1[:, None] * e1
    h2 = np.sqrt(dot(hp, hp))
    e2 = hp / np.maximum(h2, 1e-300)[:, None]
    lh2 = h1 * h1 + h2 * h2
    r2 = radius * radius
    if psi0 is None:
        # paraxial guess: equal-angle condition with rho ~ R - |.|
        wa = la / np.maximum(radius - la, 1e-9)
        lh = np.sqrt(lh2)
        wh = lh / np.maximum(radius - lh, 1e-9)
        psi = np.arctan2(h2, h1) * wh / (wa + wh)
    else:
        psi = psi0
    # the root is bracketed by the directions of the two points seen from the centre:
    # f(0) > 0 and f(psi_H) < 0; a Newton step leaving the bracket is replaced by bisection
    # (needed when the start point is within millimetres of the mirror)
    lo = np.zeros_like(psi)
    hi = np.arctan2(h2, h1)
    psi = np.clip(psi, lo, hi)
    for _ in range(iterations):
        c, s = np.cos(psi), np.sin(psi)
        rho_a = np.sqrt(la * la + r2 - 2.0 * radius * la * c)
        rho_h = np.sqrt(lh2 + r2 - 2.0 * radius * (h1 * c + h2 * s))
        ga = -la * s
        gh = h2 * c - h1 * s
        f = ga / rho_a + gh / rho_h
        fp = (-la * c / rho_a + radius * ga * ga / rho_a**3
              + (-h2 * s - h1 * c) / rho_h + radius * gh * gh / rho_h**3)
        pos = f > 0
        lo = np.where(pos, psi, lo)
        hi = np.where(pos, hi, psi)
        step = psi - f / fp
        psi = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
    p = center + radius * (np.cos(psi)[:, None] * e1 + np.sin(psi)[:, None] * e2)
    return p, psi


def _tangential_scale(d: np.ndarray, ratio) -> np.ndarray:
    """Direction after crossing a z-plane with n_from/n_to = ``ratio`` (tangential part scales)."""
    out = np.empty_like(d)
    out[:, 0] = d[:, 0] * ratio
    out[:, 1] = d[:, 1] * ratio
    out[:, 2] = np.sqrt(np.clip(1.0 - out[:, 0] ** 2 - out[:, 1] ** 2, 0.0, None))
    return out


def aerogel_exit_point(design: Design, emission: np.ndarray, d_gas: np.ndarray, n_aerogel, n_gas
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Gas-side start point X and aerogel direction of a photon with gas direction ``d_gas``."""
    d_a = _tangential_scale(d_gas, np.asarray(n_gas) / np.asarray(n_aerogel))
    d_air = _tangential_scale(d_gas, np.asarray(n_gas) / geo.N_AIR)
    d_f = _tangential_scale(d_gas, np.asarray(n_gas) / FILTER_INDEX)
    x = (emission + ((design.z_aerogel_back - emission[:, 2]) / d_a[:, 2])[:, None] * d_a
         + (geo.AIRGAP / d_air[:, 2])[:, None] * d_air + (geo.FILTER / d_f[:, 2])[:, None] * d_f)
    return x, d_a


def assumed_emission(design: Design, measured: np.ndarray, radiator: int, attenuation: float
                     ) -> np.ndarray:
    """Assumed emission point on each measured track (global frame).

    Aerogel: attenuation-weighted mean depth (as IRT); gas: middle of the gas path to the mirror.
    """
    if radiator == 0:
        t = design.aerogel_thickness
        depth = attenuation - t / np.expm1(t / attenuation)  # mean distance from the back face
        return measured * ((design.z_aerogel_back - depth) / measured[:, 2])[:, None]
    t0 = design.z_gas / measured[:, 2]
    t1 = geo.sphere_exit(np.zeros_like(measured), measured, design.mirror_center,
                         design.mirror_radius)
    return measured * (0.5 * (t0 + t1))[:, None]


def reconstruct_theta(design: Design, hypothesis: int, hit: np.ndarray, sector: np.ndarray,
                      track_dir: np.ndarray, emission: np.ndarray, n_aerogel, n_gas,
                      outer: int = 4) -> np.ndarray:
    """Cherenkov angle [rad] of each hit under a radiator hypothesis (0 aerogel, 1 gas).

    Args:
        hit: pixel positions in the frame of the hit's sector (n, 3).
        sector: -1/0/+1, sector of the hit relative to the track's sector (frame rotation).
        track_dir: measured track direction per hit, global (track) frame (n, 3).
        emission: emission point per hit (assumed or true), global frame (n, 3).
        n_aerogel, n_gas: reference indices (scalars) or per-hit arrays (closure tests).
    """
    angle = -sector * geo.SECTOR
    t_hat = rotate_z(track_dir, angle)
    e = rotate_z(emission, angle)
    c, r = design.mirror_center, design.mirror_radius
    if hypothesis == 1:
        p, _ = reflection_point(c, r, e, hit, iterations=6)
        d = p - e
    else:
        p, psi = reflection_point(c, r, e, hit, iterations=5)
        for i in range(outer):
            d_g = p - (e if i == 0 else x)
            d_g /= np.sqrt(dot(d_g, d_g))[:, None]
            x, _ = aerogel_exit_point(design, e, d_g, n_aerogel, n_gas)
            p, psi = reflection_point(c, r, x, hit, iterations=3, psi0=psi)
        d_g = p - x
        d_g /= np.sqrt(dot(d_g, d_g))[:, None]
        _, d = aerogel_exit_point(design, e, d_g, n_aerogel, n_gas)
    cross = np.cross(d, t_hat)
    return np.arctan2(np.sqrt(dot(cross, cross)), dot(d, t_hat))
