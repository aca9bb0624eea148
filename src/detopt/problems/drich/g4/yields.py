"""Photon-yield checks of the Geant4 model: Frank-Tamm per radiator, and what the data-free
physics leaves out (Cherenkov light of delta electrons).

``python -m detopt.problems.drich.g4.yields`` prints both for the nominal design (one process).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import geometry as geo
from ..geometry import Design, orthonormal_basis
from ..optics import FRANK_TAMM
from ..presets import get_preset
from ..scan import MASSES, WINDOW_AEROGEL, WINDOW_GAS, make_optics
from .materials import energy_grid, refractive_indices

ELECTRON_MASS = 0.51099895e-3  # GeV


@dataclass(frozen=True)
class Yield:
    """Generated Cherenkov photons per track in one radiator: Geant4 vs Frank-Tamm."""

    radiator: str
    geant4: float
    sem: float
    frank_tamm: float
    path_cm: float

    @property
    def pull(self) -> float:
        return (self.geant4 - self.frank_tamm) / self.sem


def frank_tamm_per_cm(n: np.ndarray, energy_ev: np.ndarray, beta: float) -> float:
    """Photons per cm: 369.81/(eV cm) x integral (1 - 1/(n beta)^2) dE, with the integral of
    1/n^2 by the trapezoid rule on the table points (as G4Cerenkov integrates its tables)."""
    inv = 1.0 / n**2
    integral = float(np.sum(0.5 * (inv[1:] + inv[:-1]) * np.diff(energy_ev)))
    return FRANK_TAMM * max((energy_ev[-1] - energy_ev[0]) - integral / beta**2, 0.0)


def _direction(eta: float) -> np.ndarray:
    theta = 2.0 * math.atan(math.exp(-eta))
    return np.array([math.sin(theta), 0.0, math.cos(theta)])


def yields_and_deltas(session: Any, species: str = "pi", p_gev: float = 10.0,
                      eta: float = 2.75, n_tracks: int = 150, seed: int = 1
                      ) -> tuple[list[Yield], dict[str, Any]]:
    """Counting run along one direction: generated photons per radiator against Frank-Tamm,
    and the delta electrons above the Cherenkov threshold with an upper bound on their light."""
    design: Design = session.design
    optics = make_optics(design, get_preset("pure"))
    d = _direction(eta)
    dirs = np.tile(d, (n_tracks, 1))
    seeds = np.column_stack([np.arange(n_tracks) + 11 * seed, np.arange(n_tracks) + 7])
    photons, deltas = session.count(species, p_gev, dirs, seeds)
    beta = p_gev / math.hypot(p_gev, MASSES[species])
    energy = energy_grid(optics)
    index = refractive_indices(optics)
    z = photons.position[:, 2]
    t_gas = design.z_gas / d[2]
    t_mirror = float(geo.sphere_exit(np.zeros((1, 3)), d[None], design.mirror_center,
                                     design.mirror_radius)[0])
    z_mirror = t_mirror * d[2]
    out = []
    for radiator, sel, path in (
            ("aerogel", z < design.z_aerogel_back, design.aerogel_thickness / d[2]),
            ("gas", (z > design.z_gas) & (z < z_mirror), t_mirror - t_gas)):
        counts = np.bincount(photons.event[sel], minlength=n_tracks).astype(float)
        expected = frank_tamm_per_cm(index[radiator], energy, beta) * path
        out.append(Yield(radiator, float(counts.mean()),
                         float(counts.std(ddof=1) / math.sqrt(n_tracks)), expected, float(path)))
    return out, delta_light(design, optics, deltas, d, n_tracks, energy, index)


def delta_light(design: Design, optics: Any, deltas: np.ndarray, track: np.ndarray,
                n_tracks: int, energy: np.ndarray, index: dict[str, np.ndarray]
                ) -> dict[str, Any]:
    """Delta electrons above threshold per track, and an upper bound on the Cherenkov photons
    they would emit (straight path to the radiator's end, beta at birth, no energy loss) and on
    how many of those would fall inside the AID2E angle window of the primary's radiator."""
    z = deltas[:, 3] if deltas.size else np.zeros(0)
    t_mev = deltas[:, 7] if deltas.size else np.zeros(0)
    u = deltas[:, 4:7] if deltas.size else np.zeros((0, 3))
    rng = np.random.default_rng(5)
    out: dict[str, Any] = {"tracks": n_tracks, "deltas_per_track": len(deltas) / n_tracks}
    for radiator, in_rad, window, n_mean in (
            ("aerogel", z < design.z_aerogel_back, WINDOW_AEROGEL, float(index["aerogel"].mean())),
            ("gas", (z > design.z_gas) & (z < geo.MIRROR_POLE_Z), WINDOW_GAS,
             float(index["gas"].mean()))):
        gamma = 1.0 + t_mev / (ELECTRON_MASS * 1e3)
        beta = np.sqrt(1.0 - 1.0 / gamma**2)
        above = in_rad & (beta * n_mean > 1.0)
        photons = window_photons = 0.0
        for i in np.flatnonzero(above):
            pos, dirn = deltas[i, 1:4], u[i] / np.linalg.norm(u[i])
            if radiator == "aerogel":
                path = (design.z_aerogel_back - pos[2]) / max(dirn[2], 1e-6)
            else:
                path = (geo.MIRROR_POLE_Z - pos[2]) / max(dirn[2], 1e-6)
            path = max(min(path, 300.0), 0.0)
            n_ph = frank_tamm_per_cm(index[radiator], energy, float(beta[i])) * path
            cos_c = 1.0 / (n_mean * beta[i])
            e1, e2 = orthonormal_basis(dirn[None])
            phi = rng.uniform(0, 2 * math.pi, 400)
            s = math.sqrt(max(1.0 - cos_c**2, 0.0))
            ph = (s * np.cos(phi))[:, None] * e1 + (s * np.sin(phi))[:, None] * e2 + cos_c * dirn
            ang = np.arccos(np.clip(ph @ track, -1.0, 1.0))
            photons += n_ph
            window_photons += n_ph * float(np.mean((ang > window[0]) & (ang < window[1])))
        out[radiator] = {"deltas_above_threshold_per_track": float(above.sum()) / n_tracks,
                         "photons_per_track_upper_bound": photons / n_tracks,
                         "window_photons_per_track_upper_bound": window_photons / n_tracks}
    return out


def main() -> int:
    from .simulation import Geant4Session

    design = Design.from_params({})
    session = Geant4Session(design, make_optics(design, get_preset("pure")))
    results = {}
    for species, p, eta in (("pi", 15.0, 2.25), ("pi", 45.0, 2.75), ("K", 15.0, 2.25)):
        ylds, deltas = yields_and_deltas(session, species, p, eta, n_tracks=200)
        results[f"{species} {p:g} GeV/c eta {eta}"] = {
            "yields": [asdict(y) | {"pull": y.pull} for y in ylds], "deltas": deltas}
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
