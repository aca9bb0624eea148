"""Geometric proxies for the Geant4 overlap check (reference 4.8); margins in cm, >= 0 feasible.

They reproduce the failure modes of ``checkOverlaps``: a short snout lets the photodetector
services poke through the snout cone, sensors moved outwards leave the sensor-box extrusion,
and a small mirror radius or a large mirror x brings the mirror edge forward. Each margin is a
continuous function of the parameters (minimum over a fixed sample of boundary points), so it
can also be modelled as an outcome constraint. Cost: about a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from . import geometry as geo
from .geometry import Design

#: constraint name -> what it checks
CONSTRAINTS: dict[str, str] = {
    "mirror_span": "the mirror sphere spans its patch (R > largest distance of the patch "
                   "from the sphere axis)",
    "mirror_behind_sensor_box": "the most upstream mirror point lies behind the sensor-box end "
                                "(z >= 259.3 cm)",
    "mirror_in_vessel": "the mirror lies inside the vessel (exit window and tank wall)",
    "sensor_area": "sensor patch area >= 0.25 m^2 per sector (margin: sqrt(area) - 50 cm)",
    "pdu_in_vessel": "every PDU and its 13 cm of services lie inside the gas envelope or the "
                     "sensor box",
    "mirror_behind_sensors": "the mirror lies >= 2 cm downstream of the photodetector units",
}
MIRROR_MIN_Z = 259.3
MIN_AREA_CM2 = 2500.0
MIRROR_SENSOR_GAP = 2.0
BOX_PHIW = math.radians(21.0)
_N_PHI = 121


def _mirror_extent(d: Design) -> tuple[float, float]:
    """Largest distance max|r - x_m| of the mirror patch from the sphere axis (in the sector's
    mid-plane, as the reference; DD4hep cuts the patch by polar angles about that plane), and
    the lowest (most upstream) mirror z."""
    dist = max(abs(geo.MIRROR_RMIN - d.mirror_centerx), abs(geo.MIRROR_RMAX - d.mirror_centerx))
    zc = d.mirror_center[2]
    zmin = zc + math.sqrt(max(d.mirror_radius**2 - dist**2, 0.0))
    return float(dist), float(zmin)


def patch_bounds(d: Design, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radial range [r_lo, r_hi] of the sensor patch at azimuth phi (empty where r_lo > r_hi)."""
    xs, zs = d.sensor_centerx, d.sensor_center[2]
    k = d.sensor_radius**2 - max(d.patch_zmin - zs, 0.0) ** 2  # z > zmin <=> inside this circle
    disc = k - (xs * np.sin(phi)) ** 2
    root = np.sqrt(np.clip(disc, 0.0, None))
    r_lo = np.maximum(geo.PATCH_RMIN, xs * np.cos(phi) - root)
    r_hi = np.minimum(geo.PATCH_RMAX, xs * np.cos(phi) + root)
    return np.where(disc > 0, r_lo, np.inf), np.where(disc > 0, r_hi, -np.inf)


def sensor_sphere_z(d: Design, r: np.ndarray, phi: np.ndarray) -> np.ndarray:
    xs, zs = d.sensor_centerx, d.sensor_center[2]
    rho2 = (r * np.cos(phi) - xs) ** 2 + (r * np.sin(phi)) ** 2
    return zs + np.sqrt(np.clip(d.sensor_radius**2 - rho2, 0, None))


def _patch_area(d: Design) -> float:
    """Area of the sensor patch [cm^2] (midpoint rule in r and phi; dA = R/(z - zs) r dr dphi)."""
    phi = (np.arange(_N_PHI) + 0.5) / _N_PHI * 2 * geo.PATCH_PHIW - geo.PATCH_PHIW
    r_lo, r_hi = patch_bounds(d, phi)
    width = np.clip(r_hi - r_lo, 0.0, None)
    u = (np.arange(40) + 0.5) / 40
    r = np.where(width[:, None] > 0, r_lo[:, None] + u[None, :] * width[:, None], 0.0)
    z = sensor_sphere_z(d, r, phi[:, None])
    jac = d.sensor_radius / np.maximum(z - d.sensor_center[2], 1e-9) * r
    return float(np.sum(jac.mean(axis=1) * width) * (2 * geo.PATCH_PHIW / _N_PHI))


def _pdu_points(d: Design) -> tuple[np.ndarray, np.ndarray]:
    """Corners of PDUs centred on the patch boundary (and a coarse interior grid): fronts, backs."""
    phi = np.linspace(-geo.PATCH_PHIW, geo.PATCH_PHIW, _N_PHI)
    r_lo, r_hi = patch_bounds(d, phi)
    ok = r_hi > r_lo
    if not ok.any():
        return np.zeros((0, 3)), np.zeros((0, 3))
    u = np.linspace(0.0, 1.0, 9)
    rs = r_lo[ok, None] + u[None, :] * (r_hi[ok] - r_lo[ok])[:, None]
    ps = np.broadcast_to(phi[ok, None], rs.shape)
    r, p = rs.ravel(), ps.ravel()
    centers = np.column_stack([r * np.cos(p), r * np.sin(p), sensor_sphere_z(d, r, p)])
    normal = (centers - d.sensor_center) / d.sensor_radius
    e1, e2 = geo.orthonormal_basis(normal)
    fronts = np.concatenate([centers + geo.PDU_HALF * (s1 * e1 + s2 * e2)
                             for s1 in (-1, 1) for s2 in (-1, 1)])
    backs = fronts - geo.SERVICES_DEPTH * np.tile(normal, (4, 1))
    return fronts, backs


def _envelope_margin(d: Design, pts: np.ndarray) -> np.ndarray:
    """Signed distance [cm] of points inside the gas volume or the sensor-box extrusion."""
    r = np.hypot(pts[:, 0], pts[:, 1])
    z = pts[:, 2]
    z_lo, z_hi = geo.Z_FRONT + geo.WINDOW, geo.Z_BACK - geo.WINDOW
    vessel = np.minimum.reduce([d.vessel_rmax(z) - r, z - z_lo, z_hi - z,
                                r - geo.bore_radius(z) - geo.WALL])
    phi = np.abs(np.arctan2(pts[:, 1], pts[:, 0]))
    box = np.minimum.reduce([z - geo.BOX_Z[0], geo.BOX_Z[1] - z, geo.BOX_R[1] - r, r - geo.BOX_R[0],
                             r * np.sin(BOX_PHIW - phi)])
    return np.maximum(vessel, box)


def constraint_margins(params: Mapping[str, float] | None = None) -> dict[str, float]:
    """Margins [cm] of the geometric constraints; every value >= 0 means feasible.

    Missing parameters take their nominal values; unknown names raise DetoptError.
    """
    d = Design.from_params(params)
    dist, zmin_mirror = _mirror_extent(d)
    span = d.mirror_radius - dist
    # mirror inside the vessel: pole (+0.2 cm thickness) before the exit window, edge in the tank
    edge_z = zmin_mirror
    in_vessel = min(geo.Z_BACK - geo.WINDOW - (geo.MIRROR_POLE_Z + 0.2),
                    float(d.vessel_rmax(edge_z)) - geo.MIRROR_RMAX)
    fronts, backs = _pdu_points(d)
    points = np.concatenate([fronts, backs])
    pdu = float(_envelope_margin(d, points).min()) if len(fronts) else -50.0
    z_sensors = float(fronts[:, 2].max()) if len(fronts) else geo.Z_FRONT
    area = _patch_area(d)
    return {
        "mirror_span": float(span),
        "mirror_behind_sensor_box": float(zmin_mirror - MIRROR_MIN_Z) if span >= 0 else float(span),
        "mirror_in_vessel": float(in_vessel),
        "sensor_area": math.sqrt(area) - math.sqrt(MIN_AREA_CM2),
        "pdu_in_vessel": pdu,
        "mirror_behind_sensors": float(zmin_mirror - z_sensors - MIRROR_SENSOR_GAP),
    }


def design_check(params: Mapping[str, float] | None = None) -> str | None:
    """detopt design check: ``None`` for a design that passes every overlap proxy, else the
    most violated constraint with its margin (about a millisecond; see
    :attr:`detopt.space.Space.check`)."""
    margins = constraint_margins(params)
    worst = min(margins, key=margins.__getitem__)
    if margins[worst] >= 0:
        return None
    return f"constraint '{worst}' violated (margin {margins[worst]:.2f} cm): {CONSTRAINTS[worst]}"


def patch_area_m2(params: Mapping[str, float] | None = None) -> float:
    """Sensor patch area of one sector [m^2] (nominal ~0.64)."""
    return _patch_area(Design.from_params(params)) / 1e4
