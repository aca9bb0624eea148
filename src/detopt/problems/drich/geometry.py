"""dRICH geometry (ePIC 24.x): vessel, aerogel and filter, mirror and sensor spheres; ray helpers.

Coordinates: cm, z from the IP along the beam; sector 0 is centred on +x. All six sectors are
identical, so every calculation happens in the frame of one sector and photons that cross into
a neighbour are rotated by 60 degrees (the symmetry is exact).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .parameters import resolve

# --- vessel -------------------------------------------------------------------------------------
Z_FRONT = 198.0  #: vessel front plane (ForwardRICHRegion_zmin 195 + 3)
Z_BACK = 318.0  #: vessel back plane
WINDOW = 0.3  #: entrance/exit window thickness
WALL = 1.0  #: radial wall thickness
BORE_R0, BORE_R1 = 8.6, 15.5  #: bore radius at front and back
SNOUT_R0 = 90.0  #: snout outer radius at the front
SNOUT_SLOPE = math.tan(0.2 + math.atan(SNOUT_R0 / Z_FRONT))  #: dr/dz of the snout cone
TANK_R = 180.0  #: tank outer radius
SECTOR = math.pi / 3.0  #: azimuthal width of a sector
# sensor-box extrusion (inner gas side), from the DD4hep placement
BOX_Z = (208.6, 258.0)
BOX_R = (108.0, 184.0)

# --- radiator -----------------------------------------------------------------------------------
Z_AEROGEL = Z_FRONT + WINDOW  #: aerogel front face
AEROGEL_RMIN0 = BORE_R0 + WALL + 0.2
AEROGEL_RMAX0 = SNOUT_R0 - WALL - 0.2
AIRGAP = 0.001  #: 10 um air gap
FILTER = 0.3  #: acrylic filter thickness
N_AIR = 1.00029

# --- mirror and sensors -------------------------------------------------------------------------
MIRROR_POLE_Z = 313.7  #: mirror kept attached to the back plane: z_c = 313.7 - R
MIRROR_RMIN, MIRROR_RMAX = 15.5, 176.0
MIRROR_PHIW = math.radians(59.5) / 2.0
SENSOR_POLE_Z0 = 238.0  #: sensor-sphere pole at z = 238 + sensor_dz
PATCH_PHIW = math.radians(18.0)
PATCH_RMIN, PATCH_RMAX = 111.0, 179.0
PATCH_DZ = 4.0  #: patch starts at z_front + snout_length + 4
PDU_HALF = 2.76  #: half side of a photodetector unit (PDU)
SERVICES_DEPTH = 13.0  #: cooling + boards + sockets behind each PDU


def bore_radius(z: np.ndarray | float) -> np.ndarray | float:
    """Outer radius of the beam bore at z."""
    return BORE_R0 + (z - Z_FRONT) * (BORE_R1 - BORE_R0) / (Z_BACK - Z_FRONT)


@dataclass(frozen=True)
class Design:
    """Derived geometry of one design (all lengths in cm)."""

    mirror_radius: float
    mirror_centerx: float
    sensor_radius: float
    sensor_centerx: float
    sensor_dz: float
    snout_length: float
    aerogel_thickness: float
    aerogel_index: float

    @classmethod
    def from_params(cls, params: Mapping[str, float] | None = None) -> Design:
        """Build a design from (possibly partial) parameters; missing ones are nominal."""
        return cls(**resolve(params))

    # -- radiator planes --
    @property
    def z_aerogel_back(self) -> float:
        return Z_AEROGEL + self.aerogel_thickness

    @property
    def z_filter_front(self) -> float:
        return self.z_aerogel_back + AIRGAP

    @property
    def z_gas(self) -> float:
        """Start of the gas radiator (behind the filter)."""
        return self.z_filter_front + FILTER

    def aerogel_rmax(self, z: np.ndarray | float) -> np.ndarray | float:
        """Outer radial bound of the aerogel (conical, following the snout)."""
        return AEROGEL_RMAX0 + (z - Z_AEROGEL) * SNOUT_SLOPE

    def aerogel_rmin(self, z: np.ndarray | float) -> np.ndarray | float:
        """Inner radial bound of the aerogel (conical, following the bore)."""
        return AEROGEL_RMIN0 + (z - Z_AEROGEL) * (BORE_R1 - BORE_R0) / (Z_BACK - Z_FRONT)

    # -- spheres --
    @property
    def mirror_center(self) -> np.ndarray:
        return np.array([self.mirror_centerx, 0.0, MIRROR_POLE_Z - self.mirror_radius])

    @property
    def sensor_center(self) -> np.ndarray:
        z = SENSOR_POLE_Z0 + self.sensor_dz - self.sensor_radius
        return np.array([self.sensor_centerx, 0.0, z])

    @property
    def patch_zmin(self) -> float:
        return Z_FRONT + self.snout_length + PATCH_DZ

    def in_mirror_patch(self, points: np.ndarray) -> np.ndarray:
        """Points (in the sector frame) inside the mirror's radial and azimuthal limits."""
        r = np.hypot(points[:, 0], points[:, 1])
        phi = np.arctan2(points[:, 1], points[:, 0])
        return (r >= MIRROR_RMIN) & (r <= MIRROR_RMAX) & (np.abs(phi) < MIRROR_PHIW)

    def in_sensor_patch(self, points: np.ndarray) -> np.ndarray:
        """Points (in the sector frame) inside the photosensor patch cuts."""
        r = np.hypot(points[:, 0], points[:, 1])
        phi = np.arctan2(points[:, 1], points[:, 0])
        return (
            (np.abs(phi) < PATCH_PHIW) & (r > PATCH_RMIN) & (r < PATCH_RMAX)
            & (points[:, 2] > self.patch_zmin)
        )

    def vessel_rmax(self, z: np.ndarray | float) -> np.ndarray | float:
        """Inner radius of the outer vessel wall at z: snout cone, then the tank cylinder."""
        z = np.asarray(z, dtype=float)
        snout = SNOUT_R0 - WALL + (z - Z_FRONT) * SNOUT_SLOPE
        return np.where(z < Z_FRONT + self.snout_length, snout, TANK_R - WALL)


# --- ray helpers (vectorised; rows are rays) ------------------------------------------------------


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of (n, 3) arrays."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def sphere_exit(origin: np.ndarray, direction: np.ndarray, center: np.ndarray, radius: float
                ) -> np.ndarray:
    """Distance to the far intersection with a sphere (NaN if the line misses it)."""
    oc = origin - center
    b = dot(oc, direction)
    disc = b * b - (dot(oc, oc) - radius * radius)
    with np.errstate(invalid="ignore"):
        return -b + np.sqrt(disc)


def sphere_hits(origin: np.ndarray, direction: np.ndarray, center: np.ndarray, radius: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Both intersection distances (near, far) with a sphere; NaN where the line misses it."""
    oc = origin - center
    b = dot(oc, direction)
    disc = b * b - (dot(oc, oc) - radius * radius)
    with np.errstate(invalid="ignore"):
        root = np.sqrt(disc)
    return -b - root, -b + root


def rotate_z(v: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate row vectors about the z axis by ``angle`` (scalar or per row)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.empty_like(v)
    out[:, 0] = c * v[:, 0] - s * v[:, 1]
    out[:, 1] = s * v[:, 0] + c * v[:, 1]
    out[:, 2] = v[:, 2]
    return out


def orthonormal_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to the unit rows of ``d`` (and to each other)."""
    # e1 lies in the plane of d and z (radial direction for a track from the IP)
    e1 = np.empty_like(d)
    rho = np.hypot(d[:, 0], d[:, 1])
    safe = rho > 1e-12
    cphi = np.where(safe, d[:, 0] / np.where(safe, rho, 1.0), 1.0)
    sphi = np.where(safe, d[:, 1] / np.where(safe, rho, 1.0), 0.0)
    e1[:, 0] = d[:, 2] * cphi
    e1[:, 1] = d[:, 2] * sphi
    e1[:, 2] = -rho
    e2 = np.cross(d, e1)
    return e1, e2
