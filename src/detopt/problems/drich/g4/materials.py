"""Geant4 materials and optical surfaces of the dRICH, filled from the fast model's tables.

Every optical number comes from :mod:`detopt.problems.drich.optics` / ``tables`` (one source for
both fidelities): the aerogel and C2F6 dispersion, the aerogel absorption and Rayleigh lengths,
the filter absorption, the mirror reflectivity and the sensor detection efficiency (PDE x
safety x fill). The energy range of the tables is where the sensor efficiency is non-zero
(315-910 nm): Geant4 generates Cherenkov photons only inside the RINDEX range, and photons
outside it could never be detected.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .. import geometry as geo
from .. import optics as opt
from .. import tables
from ..optics import Optics

#: densities [g/cm3]: aerogel (ePIC Aerogel_DRICH), C2F6 at 20 C and 1 atm
AEROGEL_DENSITY = 0.11
C2F6_DENSITY = 5.73e-3


def energy_grid(optics: Optics) -> np.ndarray:
    """Energy grid [eV] of the tables for this design's PDE curve."""
    tab = tables.PDE_CURVES[optics.pde_curve]
    return np.linspace(tables.HC_EV_NM / float(tab[-1, 0]), tables.HC_EV_NM / float(tab[0, 0]), 80)


def refractive_indices(optics: Optics) -> dict[str, np.ndarray]:
    """RINDEX per medium on :func:`energy_grid` (what Geant4 and the Frank-Tamm check use)."""
    lam = opt.wavelength_nm(energy_grid(optics))
    return {"aerogel": optics.n_aerogel(lam), "gas": optics.n_gas(lam),
            "filter": np.full_like(lam, tables.FILTER_INDEX), "air": np.full_like(lam, geo.N_AIR)}


class Materials:
    """Materials and optical surfaces for one design (kept alive for the Geant4 kernel)."""

    def __init__(self, g4: ModuleType, optics: Optics, tag: str = ""):
        self.g4, self.optics = g4, optics
        self._keep: list[Any] = []
        nist = g4.G4NistManager.Instance()
        energy = energy_grid(optics)
        lam = opt.wavelength_nm(energy)
        e_g4 = [float(e) for e in energy * g4.eV]
        index = refractive_indices(optics)
        cm = g4.cm

        def table(**props: np.ndarray) -> Any:
            mpt = g4.G4MaterialPropertiesTable()
            for key, values in props.items():
                mpt.AddProperty(key, g4.G4doubleVector(e_g4),
                                g4.G4doubleVector([float(v) for v in np.asarray(values)]))
            self._keep.append(mpt)
            return mpt

        si, o = nist.FindOrBuildElement("Si"), nist.FindOrBuildElement("O")
        c, f = nist.FindOrBuildElement("C"), nist.FindOrBuildElement("F")
        self.aerogel = g4.G4Material(f"DRICH_aerogel{tag}", AEROGEL_DENSITY * g4.g / cm**3, 2)
        self.aerogel.AddElement(si, 1)
        self.aerogel.AddElement(o, 2)
        self.aerogel.SetMaterialPropertiesTable(table(
            RINDEX=index["aerogel"],
            ABSLENGTH=opt.aerogel_absorption(lam, optics.aerogel_set) * cm,
            RAYLEIGH=opt.aerogel_rayleigh(lam, optics.aerogel_set) * cm))
        self.gas = g4.G4Material(f"DRICH_C2F6{tag}", C2F6_DENSITY * g4.g / cm**3, 2,
                                 g4.kStateGas)
        self.gas.AddElement(c, 2)
        self.gas.AddElement(f, 6)
        self.gas.SetMaterialPropertiesTable(table(
            RINDEX=index["gas"], ABSLENGTH=np.full_like(lam, tables.GAS_ABSLENGTH_CM * cm)))
        self.air = g4.G4Material(f"DRICH_gap_air{tag}", 1.205e-3 * g4.g / cm**3, 2, g4.kStateGas)
        self.air.AddElement(nist.FindOrBuildElement("N"), 0.755)
        self.air.AddElement(o, 0.245)
        self.air.SetMaterialPropertiesTable(table(RINDEX=index["air"]))
        self.acrylic = g4.G4Material(f"DRICH_filter{tag}", 1.19 * g4.g / cm**3, 3)
        self.acrylic.AddElement(c, 5)
        self.acrylic.AddElement(nist.FindOrBuildElement("H"), 8)
        self.acrylic.AddElement(o, 2)
        self.acrylic.SetMaterialPropertiesTable(table(
            RINDEX=index["filter"], ABSLENGTH=opt.filter_absorption(lam) * cm))
        # no RINDEX: a photon entering these is absorbed at the boundary
        self.vacuum = nist.FindOrBuildMaterial("G4_Galactic")
        self.mirror = nist.FindOrBuildMaterial("G4_C")  # carbon-fibre substrate
        self.services = nist.FindOrBuildMaterial("G4_Al")  # PDU boards, cooling, sockets
        self.silicon = nist.FindOrBuildMaterial("G4_Si")

        self.mirror_surface = self._surface(
            "DRICH_mirror_surface", table(REFLECTIVITY=np.full_like(lam, opt.MIRROR_REFLECTIVITY)))
        self.sensor_surface = self._surface(
            "DRICH_sensor_surface", table(REFLECTIVITY=np.zeros_like(lam),
                                          EFFICIENCY=opt.sensor_efficiency(lam, optics.pde_curve)))

    def _surface(self, name: str, mpt: Any) -> Any:
        g4 = self.g4
        surface = g4.G4OpticalSurface(name)
        surface.SetType(g4.dielectric_metal)
        surface.SetFinish(g4.polished)
        surface.SetModel(g4.glisur)
        surface.SetMaterialPropertiesTable(mpt)
        self._keep.append(surface)
        return surface
