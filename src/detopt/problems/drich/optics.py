"""Optical model: refractive indices, efficiencies, attenuation and the Cherenkov spectrum.

Units: cm, nm, eV. The photon-detection chain is folded into photon *generation* (Frank-Tamm
yield times efficiency), so every generated photon is one that would be detected if it reached
a sensor; transport losses (absorption, Rayleigh, Fresnel, geometry) are then applied per photon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import tables

#: Frank-Tamm constant alpha/(hbar c) [eV^-1 cm^-1]
FRANK_TAMM = 369.81
#: flat mirror reflectivity (AlMgF2 on acrylic, 24.x)
MIRROR_REFLECTIVITY = 0.90
#: EICrecon digitisation safety factor
SAFETY_FACTOR = 0.70
#: active/total area of a PDU (48/55.2)^2 times ~0.95 for the tiling of the sphere
FILL_FACTOR = (48.0 / 55.2) ** 2 * 0.95
#: energy grid of the spectrum tables [eV] (270-950 nm)
ENERGY_GRID = np.linspace(1.30, 4.60, 331)


def wavelength_nm(energy_ev: np.ndarray | float) -> np.ndarray:
    """Convert photon energy [eV] to wavelength [nm]."""
    return tables.HC_EV_NM / np.asarray(energy_ev, dtype=float)


#: pole of the one-pole aerogel Sellmeier formula [nm] (reference 4.2: "lambda0 ~ 90 nm").
#: Fitting the shape of the ePIC 1.019 table instead gives ~100 nm (fit_sellmeier_pole), i.e.
#: ~20 % more dispersion; the validation numbers of the reference need 90 nm (docs/drich.md).
AEROGEL_POLE_NM = 90.0


def fit_sellmeier_pole() -> float:
    """Pole wavelength [nm] that best fits the shape of the ePIC n = 1.019 aerogel table."""
    lam = wavelength_nm(tables.AEROGEL_1019_RINDEX[:, 0])
    n_tab = tables.AEROGEL_1019_RINDEX[:, 1]
    n400 = np.interp(400.0, lam[::-1], n_tab[::-1])
    poles = np.linspace(50.0, 150.0, 2001)
    shape = lam[None, :] ** 2 / (lam[None, :] ** 2 - poles[:, None] ** 2)
    shape400 = 400.0**2 / (400.0**2 - poles**2)
    n_model = np.sqrt(1.0 + (n400**2 - 1.0) * shape / shape400[:, None])
    return float(poles[np.argmin(np.max(np.abs(n_model - n_tab[None, :]), axis=1))])


def aerogel_index(lam_nm: np.ndarray, n400: float, pole_nm: float = AEROGEL_POLE_NM) -> np.ndarray:
    """Aerogel index at ``lam_nm``: n^2 - 1 = a l^2/(l^2 - l0^2), scaled to n(400 nm) = ``n400``."""
    l0 = pole_nm
    shape = lam_nm**2 / (lam_nm**2 - l0**2)
    shape400 = 400.0**2 / (400.0**2 - l0**2)
    return np.sqrt(1.0 + (n400**2 - 1.0) * shape / shape400)


def gas_index(lam_nm: np.ndarray) -> np.ndarray:
    """C2F6 refractive index: (n-1) proportional to 1/(l0^-2 - l^-2), n-1 = 7.5e-4 at 633 nm."""
    inv0 = 1.0 / tables.GAS_LAMBDA0_NM**2
    return 1.0 + tables.GAS_NM1_633 * (inv0 - 1.0 / 633.0**2) / (inv0 - 1.0 / lam_nm**2)


def aerogel_absorption(lam_nm: np.ndarray, aerogel_set: str = "n1019") -> np.ndarray:
    """Aerogel absorption length [cm]: 1/L = 1/L_inf + k (400/l)^p through the 3 anchor points."""
    s = tables.AEROGEL_SETS[aerogel_set]
    k400 = 1.0 / s["abs400"] - 1.0 / s["abs_inf"]
    k320 = 1.0 / s["abs320"] - 1.0 / s["abs_inf"]
    power = np.log(k320 / k400) / np.log(400.0 / 320.0)
    return 1.0 / (1.0 / s["abs_inf"] + k400 * (400.0 / lam_nm) ** power)


def aerogel_rayleigh(lam_nm: np.ndarray, aerogel_set: str = "n1019") -> np.ndarray:
    """Aerogel Rayleigh scattering length [cm], proportional to lambda^4."""
    return tables.AEROGEL_SETS[aerogel_set]["rayleigh400"] * (lam_nm / 400.0) ** 4


def pde(lam_nm: np.ndarray, curve: str = "s13361") -> np.ndarray:
    """Photon-detection efficiency of the SiPM (linear interpolation, zero outside the table)."""
    tab = tables.PDE_CURVES[curve]
    return np.interp(lam_nm, tab[:, 0], tab[:, 1], left=0.0, right=0.0)


def sensor_efficiency(lam_nm: np.ndarray, curve: str = "s13361") -> np.ndarray:
    """Detection efficiency of the photosensor surface: PDE x safety factor x fill factor.

    The fast model folds it (times the mirror reflectivity and the filter) into photon
    generation; the Geant4 model puts it on the sensor surface (``EFFICIENCY``). One function
    for both, so the two fidelities read the same tables.
    """
    return pde(lam_nm, curve) * SAFETY_FACTOR * FILL_FACTOR


def filter_absorption(lam_nm: np.ndarray) -> np.ndarray:
    """Absorption length [cm] of the acrylic filter (linear interpolation of the table)."""
    tab = tables.FILTER_ABSLENGTH
    return np.interp(lam_nm, tab[:, 0], tab[:, 1], left=tab[0, 1], right=tab[-1, 1])


def filter_transmission(lam_nm: np.ndarray, thickness_cm: float) -> np.ndarray:
    """Bulk transmission of the acrylic filter at normal incidence (Fresnel losses are traced)."""
    return np.exp(-thickness_cm / filter_absorption(lam_nm))


def fresnel_transmission(n1: np.ndarray | float, n2: np.ndarray | float, cos_i: np.ndarray
                         ) -> np.ndarray:
    """Unpolarised Fresnel transmission from index n1 into n2 at incidence cosine ``cos_i``.

    Returns 0 for total internal reflection.
    """
    ratio = np.asarray(n1) / np.asarray(n2)
    sin2_t = ratio**2 * (1.0 - cos_i**2)
    tir = sin2_t >= 1.0
    cos_t = np.sqrt(np.clip(1.0 - sin2_t, 0.0, None))
    rs = (n1 * cos_i - n2 * cos_t) / (n1 * cos_i + n2 * cos_t)
    rp = (n2 * cos_i - n1 * cos_t) / (n2 * cos_i + n1 * cos_t)
    return np.where(tir, 0.0, 1.0 - 0.5 * (rs**2 + rp**2))


@dataclass(frozen=True)
class Spectrum:
    """Detected Cherenkov spectrum of one radiator for one particle velocity."""

    yield_per_cm: float  #: expected photons per cm of track (Frank-Tamm x efficiency)
    cdf: np.ndarray = field(repr=False)  #: cumulative distribution on ENERGY_GRID
    energy: np.ndarray = field(repr=False)

    def sample_energy(self, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF sample of the photon energy [eV] from uniforms ``u``."""
        return np.interp(u, self.cdf, self.energy)


@dataclass(frozen=True)
class Optics:
    """Optical configuration of one design (aerogel set and index, PDE curve, switches)."""

    aerogel_set: str = "n1019"
    aerogel_n400: float = 1.0193
    pde_curve: str = "s13361"
    filter_thickness: float = 0.3
    chromatic: bool = True  #: False: n(lambda) replaced by the reference index (error budget)
    aerogel_nref: float = 1.019
    gas_nref: float = 1.00076
    aerogel_yield_scale: float = 1.0  #: calibration knob (aid2e_calibrated: 0.83)
    aerogel_pole_nm: float = AEROGEL_POLE_NM  #: Sellmeier pole of the aerogel dispersion

    def n_aerogel(self, lam_nm: np.ndarray) -> np.ndarray:
        """Aerogel index at the photon wavelengths."""
        if not self.chromatic:
            return np.full_like(np.asarray(lam_nm, dtype=float), self.aerogel_nref)
        return aerogel_index(lam_nm, self.aerogel_n400, self.aerogel_pole_nm)

    def n_gas(self, lam_nm: np.ndarray) -> np.ndarray:
        """Gas index at the photon wavelengths."""
        if not self.chromatic:
            return np.full_like(np.asarray(lam_nm, dtype=float), self.gas_nref)
        return gas_index(lam_nm)

    def efficiency(self, lam_nm: np.ndarray, radiator: str) -> np.ndarray:
        """Detection chain folded into generation: PDE x filter (aerogel) x R_mirror x safety
        x fill (x the calibration's aerogel collection scale)."""
        eps = sensor_efficiency(lam_nm, self.pde_curve) * MIRROR_REFLECTIVITY
        if radiator == "aerogel":
            eps = eps * filter_transmission(lam_nm, self.filter_thickness)
            eps = eps * self.aerogel_yield_scale
        return eps

    def spectrum(self, radiator: str, beta: float) -> Spectrum:
        """Frank-Tamm spectrum x efficiency for a particle of velocity ``beta`` (cached)."""
        return _spectrum(self, radiator, float(beta))


@lru_cache(maxsize=256)
def _spectrum(optics: Optics, radiator: str, beta: float) -> Spectrum:
    energy = ENERGY_GRID
    lam = wavelength_nm(energy)
    n = optics.n_aerogel(lam) if radiator == "aerogel" else optics.n_gas(lam)
    sin2 = np.clip(1.0 - 1.0 / (n * beta) ** 2, 0.0, None)
    density = FRANK_TAMM * sin2 * optics.efficiency(lam, radiator)
    # trapezoid cumulative integral
    steps = 0.5 * (density[1:] + density[:-1]) * np.diff(energy)
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    total = float(cum[-1])
    if total <= 0.0:
        return Spectrum(0.0, np.linspace(0.0, 1.0, energy.size), energy)
    # cut the zero-density ends so that np.interp inverts a rising CDF
    i0 = int(np.flatnonzero(cum <= 0.0)[-1])
    i1 = int(np.flatnonzero(cum >= total)[0])
    return Spectrum(total, cum[i0 : i1 + 1] / total, energy[i0 : i1 + 1])


def cherenkov_cos(n: np.ndarray | float, beta: float) -> np.ndarray:
    """cos(theta_c) = 1/(n beta)."""
    return 1.0 / (np.asarray(n) * beta)


def threshold_momentum(mass: float, n: float) -> float:
    """Cherenkov threshold momentum p_th = m / sqrt(n^2 - 1) [GeV/c]."""
    return mass / np.sqrt(n * n - 1.0)
