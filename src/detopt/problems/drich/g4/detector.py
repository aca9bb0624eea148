"""The dRICH as Geant4 volumes, from the same 7 (+1) parameters as the fast model, and Geant4's
own overlap check as a geometry gate.

All six sectors are built (six mirrors, six photodetector assemblies, six sensor-box
extrusions): photons of tracks near a sector edge reflect off the neighbouring mirror, which the
fast model handles by its exact 6-fold rotation; in Geant4 the extra placements cost nothing per
event. Volume tree (the shapes and numbers are those of :mod:`..geometry`)::

    world (vacuum)
    └── gas (C2F6): snout cone + tank cylinder around the beam bore, U six sensor-box extrusions
        ├── aerogel (cone following snout and bore), air_gap (10 um), filter (3 mm acrylic)
        ├── mirror_k  k = 0..5: spherical shell [R, R + 2 mm] cut to r in [15.5, 176] cm,
        │             |phi - 60k| < 29.75 deg; polished dielectric_metal skin, REFLECTIVITY
        └── pdu_k     photodetector assembly: spherical shell [R_s - 13 cm, R_s] spanning the
            │         sensor patch grown by half a PDU (2.76 cm); no RINDEX (absorbs photons)
            └── sensor_k  active layer [R_s - 5 mm, R_s] over the exact patch
                          (|phi| < 18 deg, r in [111, 179] cm, z > 198 + L + 4 cm); skin with
                          EFFICIENCY = PDE x safety x fill, REFLECTIVITY 0
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
import tempfile

import numpy as np
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterator

from .. import geometry as geo
from ..geometry import Design
from ..optics import Optics
from .materials import Materials

MIRROR_THICKNESS = 0.2  #: cm, as the fast model's mirror_in_vessel proxy
SENSOR_THICKNESS = 0.5  #: cm, active layer of a PDU
OVERLAP_POINTS = 2000  #: surface points per volume in CheckOverlaps (Geant4 default: 1000)
#: overlaps smaller than this are ignored: the faceted PDU solid's chords lie up to ~0.2 mm
#: inside the exact sensor sphere (the proxies work at the cm scale)
OVERLAP_TOLERANCE_CM = 0.05
PDU_GRID = (48, 24)  #: facets of the PDU solid in (phi, r)


@dataclass(frozen=True)
class Overlap:
    """One overlap found by Geant4's check."""

    volume: str
    other: str  #: the mother volume (extrusion) or the sister volume
    kind: str  #: "extrusion" (sticks out of its mother) or "overlap" (with a sister)
    depth_cm: float

    def __str__(self) -> str:
        what = "sticks out of its mother" if self.kind == "extrusion" else "overlaps"
        return f"{self.volume} {what} {self.other} by {self.depth_cm:.3g} cm"


class DrichVolumes:
    """Builds the volumes of one design; keeps every Geant4 object alive while it is used."""

    def __init__(self, g4: ModuleType, design: Design, optics: Optics):
        self.g4, self.design = g4, design
        self.materials = Materials(g4, optics)
        self._keep: list[Any] = []
        self.placements: list[Any] = []  #: every placement, in placement order
        self.sensor_lvs: list[Any] = []
        self.world = self._build()

    # -- helpers ----------------------------------------------------------------------------
    def _k(self, obj: Any) -> Any:
        self._keep.append(obj)
        return obj

    def _place(self, lv: Any, mother: Any, name: str, z: float = 0.0, phi: float = 0.0,
               copy: int = 0) -> Any:
        g4 = self.g4
        rot = self._k(g4.G4RotationMatrix())
        rot.rotateZ(-phi)  # passive rotation matrix: the daughter ends up rotated by +phi
        pv = g4.G4PVPlacement(rot, g4.G4ThreeVector(0, 0, z * g4.cm), lv, name, mother, False,
                              copy, False)
        self.placements.append(self._k(pv))
        return pv

    def _lv(self, solid: Any, material: Any, name: str) -> Any:
        return self._k(self.g4.G4LogicalVolume(solid, material, name))

    def _wedge(self, name: str, rmin: float, rmax: float, half_phi: float, zmin: float,
               zmax: float) -> tuple[Any, float]:
        """Tube segment around the beam axis (sector frame); returns (solid, z centre)."""
        g4 = self.g4
        zc = 0.5 * (zmin + zmax)
        solid = g4.G4Tubs(name, rmin * g4.cm, rmax * g4.cm, 0.5 * (zmax - zmin) * g4.cm,
                          -half_phi, 2.0 * half_phi)
        return self._k(solid), zc

    def _cap(self, name: str, center: tuple[float, float], r_in: float, r_out: float,
             wedge: tuple[Any, float]) -> Any:
        """Spherical shell (centre (x, 0, z) in the sector frame) cut by a wedge; the solid's
        frame is the wedge's (axis = beam axis, origin at the wedge's z centre)."""
        g4 = self.g4
        shell = self._k(g4.G4Sphere(f"{name}_sphere", r_in * g4.cm, r_out * g4.cm, 0.0,
                                    2.0 * math.pi, 0.0, math.pi))
        solid, zc = wedge
        offset = g4.G4ThreeVector(center[0] * g4.cm, 0.0, (center[1] - zc) * g4.cm)
        return self._k(g4.G4IntersectionSolid(name, solid, shell, self._k(g4.G4RotationMatrix()),
                                              offset))

    # -- volumes ----------------------------------------------------------------------------
    def _build(self) -> Any:
        g4, d, m = self.g4, self.design, self.materials
        cm = g4.cm
        world_lv = self._lv(self._k(g4.G4Box("world", 5 * g4.m, 5 * g4.m, 5 * g4.m)), m.vacuum,
                            "world")
        world = self._k(g4.G4PVPlacement(None, g4.G4ThreeVector(), world_lv, "world", None,
                                         False, 0, False))

        # gas envelope: the same surfaces as the fast model's proxies (geometry.vessel_rmax,
        # bore_radius + wall, windows), plus the six sensor-box extrusions
        z0, z1, z2 = geo.Z_FRONT + geo.WINDOW, geo.Z_FRONT + d.snout_length, geo.Z_BACK - geo.WINDOW
        def cone(name: str, za: float, zb: float, ra: float, rb: float) -> Any:
            ia, ib = float(geo.bore_radius(za)) + geo.WALL, float(geo.bore_radius(zb)) + geo.WALL
            return self._k(g4.G4Cons(name, ia * cm, ra * cm, ib * cm, rb * cm, 0.5 * (zb - za) * cm,
                                     0.0, 2.0 * math.pi))

        # (the Polycone binding takes no arrays: the envelope is a union of two cones)
        snout = cone("gas_snout", z0, z1, float(d.vessel_rmax(z0)),
                     geo.SNOUT_R0 - geo.WALL + d.snout_length * geo.SNOUT_SLOPE)
        tank = cone("gas_tank", z1, z2, geo.TANK_R - geo.WALL, geo.TANK_R - geo.WALL)
        solid = self._k(g4.G4UnionSolid("gas_vessel", snout, tank, self._k(g4.G4RotationMatrix()),
                                        g4.G4ThreeVector(0, 0, 0.5 * (z2 - z0) * cm)))
        # the union's frame is the snout's: centred at z = (z0 + z1)/2
        frame_z = 0.5 * (z0 + z1)
        box_half = math.radians(21.0)
        box, box_zc = self._wedge("sensor_box", geo.BOX_R[0], geo.BOX_R[1], box_half, *geo.BOX_Z)
        for k in range(6):
            rot = self._k(g4.G4RotationMatrix())
            rot.rotateZ(-k * geo.SECTOR)
            solid = self._k(g4.G4UnionSolid(f"gas_{k}", solid, box, rot,
                                            g4.G4ThreeVector(0, 0, (box_zc - frame_z) * cm)))
        gas_lv = self._lv(solid, m.gas, "gas")
        self._place(gas_lv, world_lv, "gas", frame_z)
        self.gas_z = frame_z

        # radiators: aerogel, 10 um air gap, acrylic filter (cones following snout and bore)
        layers = [("aerogel", geo.Z_AEROGEL, d.z_aerogel_back, m.aerogel),
                  ("air_gap", d.z_aerogel_back, d.z_filter_front, m.air),
                  ("filter", d.z_filter_front, d.z_gas, m.acrylic)]
        for name, za, zb, material in layers:
            cone = self._k(g4.G4Cons(name, float(d.aerogel_rmin(za)) * cm,
                                     float(d.aerogel_rmax(za)) * cm, float(d.aerogel_rmin(zb)) * cm,
                                     float(d.aerogel_rmax(zb)) * cm, 0.5 * (zb - za) * cm, 0.0,
                                     2.0 * math.pi))
            self._place(self._lv(cone, material, name), gas_lv, name, 0.5 * (za + zb) - frame_z)

        # mirrors
        mc = d.mirror_center
        wedge = self._wedge("mirror_wedge", geo.MIRROR_RMIN, geo.MIRROR_RMAX, geo.MIRROR_PHIW,
                            z0, z2)
        mirror = self._cap("mirror", (mc[0], mc[2]), d.mirror_radius,
                           d.mirror_radius + MIRROR_THICKNESS, wedge)
        mirror_lv = self._lv(mirror, m.mirror, "mirror")
        self._k(g4.G4LogicalSkinSurface("mirror_skin", mirror_lv, m.mirror_surface))

        # photodetector assemblies and their active layers
        sc = d.sensor_center
        sens_wedge = self._wedge("sensor_wedge", geo.PATCH_RMIN, geo.PATCH_RMAX, geo.PATCH_PHIW,
                                 d.patch_zmin, z2)
        sensor = self._cap("sensor", (sc[0], sc[2]), d.sensor_radius - SENSOR_THICKNESS,
                           d.sensor_radius, sens_wedge)
        pdu_lv = self._lv(self._pdu_solid(frame_z), m.services, "pdu")
        sensor_lv = self._lv(sensor, m.silicon, "sensor")
        self._k(g4.G4LogicalSkinSurface("sensor_skin", sensor_lv, m.sensor_surface))
        self.sensor_lvs.append(sensor_lv)
        self._place(sensor_lv, pdu_lv, "sensor", sens_wedge[1] - frame_z)
        for k in range(6):
            self._place(mirror_lv, gas_lv, f"mirror_{k}", wedge[1] - frame_z, k * geo.SECTOR,
                        copy=k)
            self._place(pdu_lv, gas_lv, f"pdu_{k}", 0.0, k * geo.SECTOR, copy=k)
        return world


    def _pdu_solid(self, frame_z: float) -> Any:
        """The photodetector assembly of sector 0 as a closed tessellated solid (gas frame).

        Front: the sensor sphere over the patch grown by half a PDU (2.76 cm) in r and phi,
        with the z cut lowered by the same amount; back: the front projected 13 cm towards the
        sphere centre (the services behind each PDU point at the centre). A CSG cut along the
        beam axis would chop the services off at the patch's z cut, hiding exactly the
        overlaps of a short snout.
        """
        g4, d = self.g4, self.design
        grow, c, rs = geo.PDU_HALF, d.sensor_center, d.sensor_radius
        half_phi = geo.PATCH_PHIW + grow / (0.5 * (geo.PATCH_RMIN + geo.PATCH_RMAX))
        phi = np.linspace(-half_phi, half_phi, PDU_GRID[0])
        zmin = d.patch_zmin - grow
        k = rs**2 - max(zmin - c[2], 0.0) ** 2
        root = np.sqrt(np.clip(k - (c[0] * np.sin(phi)) ** 2, 0.0, None))
        r_lo = np.maximum(geo.PATCH_RMIN - grow, c[0] * np.cos(phi) - root)
        r_hi = np.minimum(geo.PATCH_RMAX + grow, c[0] * np.cos(phi) + root)
        ok = r_hi > r_lo + 0.1
        if ok.sum() < 2:
            raise ValueError("the sensor patch is empty")
        phi, r_lo, r_hi = phi[ok], r_lo[ok], r_hi[ok]
        u = np.linspace(0.0, 1.0, PDU_GRID[1])
        r = r_lo[:, None] + u[None, :] * (r_hi - r_lo)[:, None]
        x, y = r * np.cos(phi)[:, None], r * np.sin(phi)[:, None]
        z = c[2] + np.sqrt(np.clip(rs**2 - (x - c[0]) ** 2 - y**2, 0.0, None))
        front = np.stack([x, y, z], axis=-1)
        back = c + (front - c) * (rs - geo.SERVICES_DEPTH) / rs
        solid = self._k(g4.G4TessellatedSolid("pdu"))
        cm = g4.cm

        def vec(p: np.ndarray) -> Any:
            return g4.G4ThreeVector(p[0] * cm, p[1] * cm, (p[2] - frame_z) * cm)

        def tri(a: np.ndarray, b: np.ndarray, e: np.ndarray, outward: np.ndarray) -> None:
            if np.dot(np.cross(b - a, e - a), outward) < 0:
                b, e = e, b
            solid.AddFacet(self._k(g4.G4TriangularFacet(vec(a), vec(b), vec(e), g4.ABSOLUTE)))

        def quads(grid_a: np.ndarray, grid_b: np.ndarray, outward) -> None:
            for i in range(grid_a.shape[0] - 1):
                a0, a1, b0, b1 = grid_a[i], grid_a[i + 1], grid_b[i], grid_b[i + 1]
                out = outward(0.25 * (a0 + a1 + b0 + b1))
                tri(a0, a1, b1, out)
                tri(a0, b1, b0, out)

        n_phi, n_u = front.shape[:2]
        for i in range(n_phi - 1):  # front (away from the centre) and back (towards it)
            for j in range(n_u - 1):
                for grid, sign in ((front, 1.0), (back, -1.0)):
                    a, b = grid[i, j], grid[i + 1, j]
                    e, f = grid[i + 1, j + 1], grid[i, j + 1]
                    out = sign * (0.25 * (a + b + e + f) - c)
                    tri(a, b, e, out)
                    tri(a, e, f, out)
        mid = front[n_phi // 2, n_u // 2]
        for edge_f, edge_b in ((front[0], back[0]), (front[-1], back[-1]),
                               (front[:, 0], back[:, 0]), (front[:, -1], back[:, -1])):
            quads(edge_f, edge_b, lambda p: p - mid - np.dot(p - mid, mid - c)
                  / np.dot(mid - c, mid - c) * (mid - c))
        solid.SetSolidClosed(True)
        return solid


# -- the overlap check -------------------------------------------------------------------------
@contextlib.contextmanager
def _captured_output() -> Iterator[list[str]]:
    """Capture what Geant4 writes to the process's stdout/stderr (file descriptors 1 and 2)."""
    # geant4-pybind sends G4cout/G4cerr to Python's sys.stdout/sys.stderr (which may not be
    # the file descriptors, e.g. under pytest), so both levels are captured
    text: list[str] = []
    py_out, py_err = io.StringIO(), io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(py_out), contextlib.redirect_stderr(py_err):
                yield text
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            text.append(tmp.read().decode(errors="replace") + py_out.getvalue()
                        + py_err.getvalue())


_UNITS = {"nm": 1e-7, "um": 1e-4, "mm": 0.1, "cm": 1.0, "m": 100.0, "km": 1e5, "fm": 1e-13}
_MOTHER = re.compile(r"Overlap is detected for volume (\S+?)(?::\d+)? \(.*?\)\s+"
                     r"with its mother volume (\S+?) \(.*?by (?:at least: )?([\d.eE+-]+) (\w+)",
                     re.S)
_SISTER = re.compile(r"Overlap is detected for volume (\S+?)(?::\d+)? \(.*?\) with (\S+?)"
                     r"(?::\d+)? \(.*?overlapping by at least: ([\d.eE+-]+) (\w+)", re.S)


def parse_overlaps(text: str) -> list[Overlap]:
    """Overlaps named in Geant4's GeomVol1002 warnings."""
    found = [Overlap(a, b, "extrusion", float(v) * _UNITS.get(u, float("nan")))
             for a, b, v, u in _MOTHER.findall(text)]
    found += [Overlap(a, b, "overlap", float(v) * _UNITS.get(u, float("nan")))
              for a, b, v, u in _SISTER.findall(text)]
    return found


def check_overlaps(volumes: DrichVolumes, points: int = OVERLAP_POINTS,
                   tolerance_cm: float = OVERLAP_TOLERANCE_CM) -> list[Overlap]:
    """Run ``G4PVPlacement::CheckOverlaps`` on every placement; return the overlaps found."""
    g4 = volumes.g4
    flagged: list[str] = []
    with _captured_output() as text:
        for pv in volumes.placements:
            if pv.CheckOverlaps(points, tolerance_cm * g4.cm, True, 1):
                flagged.append(pv.GetName())
    overlaps = parse_overlaps(text[0])
    named = {o.volume for o in overlaps}
    # a flagged placement whose message did not parse is still an overlap
    overlaps += [Overlap(n, "?", "overlap", float("nan")) for n in flagged if n not in named]
    return overlaps
