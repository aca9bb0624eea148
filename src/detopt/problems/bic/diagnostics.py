"""Per-energy numbers behind the objectives, and the test-beam fit used for the validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from . import imaging, metrics
from .geometry import NOMINAL, Design
from .model import ENERGIES, ETA_RANGE, EFFICIENCY, Simulation
from .physics import DEFAULT, TEST_BEAM, Physics


def resolution_terms(energies: Sequence[float], sigma: Sequence[float]) -> tuple[float, float]:
    """Fit sigma/E = a/sqrt(E) (+) b (relative residuals): (a, b)."""
    e, s = np.asarray(energies, dtype=float), np.asarray(sigma, dtype=float)
    fit = least_squares(lambda q: (np.hypot(q[0] / np.sqrt(e), q[1]) - s) / s, [0.05, 0.01],
                        bounds=([0, 0], [1, 1]))
    return float(fit.x[0]), float(fit.x[1])


def test_beam(params: Mapping[str, Any] | None = None, *, energies: Sequence[float] = ENERGIES,
              events_per_point: int = 4000, seed: int = 12345) -> dict[str, Any]:
    """Electron resolution in a test-beam setting (normal incidence, nothing in front), with
    a Gaussian fitted to the peak as test-beam papers do; and its a/sqrt(E) (+) b fit."""
    sim = Simulation(Design.from_params(params or NOMINAL), events_per_point=events_per_point,
                     seed=seed, energies=energies, eta_range=(0.0, 1e-6), physics=TEST_BEAM)
    sigma = []
    for p in range(len(energies)):
        center, width = metrics.gaussian_core(sim.energy_response(p))
        sigma.append(width / center)
    a, b = resolution_terms(energies, sigma)
    return {"energies": list(energies), "sigma_over_e": sigma, "stochastic": a, "constant": b}


def per_energy(params: Mapping[str, Any] | None = None, *, events_per_point: int = 2000,
               seed: int = 12345, energies: Sequence[float] = ENERGIES,
               eta_range: Sequence[float] = ETA_RANGE, physics: Physics = DEFAULT
               ) -> list[dict[str, Any]]:
    """One row per energy: electron sigma/E (68 % width and Gaussian peak), photon and
    electron eta resolution, the imaging layer the photons use, E/p-only rejection (best depth
    and the first 8 ScFi layers) and E/p + profile rejection."""
    sim = Simulation(Design.from_params(params or NOMINAL), events_per_point=events_per_point,
                     seed=seed, energies=energies, eta_range=tuple(eta_range), physics=physics)
    rows = []
    for p, e in enumerate(sim.energies):
        response = sim.energy_response(p)
        center, width = metrics.core_center_width(response)
        g_center, g_width = metrics.gaussian_core(response)
        d_gamma, layer = imaging.first_layer_eta(*_sample(sim, "gamma", p))
        d_e, _ = imaging.first_layer_eta(*_sample(sim, "electron", p))
        ep_e, s_e, ep_pi, s_pi = sim.rejection_inputs(p)
        ep_only = metrics.best_rejection(ep_e, s_e, ep_pi, s_pi, EFFICIENCY, use_profile=False)
        both = metrics.best_rejection(ep_e, s_e, ep_pi, s_pi, EFFICIENCY,
                                      use_profile=bool(sim.layout.enabled[1:].any()))
        s8 = metrics.survival(ep_e[:, 7], s_e, ep_pi[:, 7], s_pi, EFFICIENCY)
        rows.append({
            "energy": e, "mean_response": float(center[0]),
            "sigma_e_68": float(width[0] / center[0]), "sigma_e_gauss": g_width / g_center,
            "eta_res_gamma": float(metrics.core_width(d_gamma)[0]),
            "eta_res_electron": float(metrics.core_width(d_e)[0]),
            "gamma_layer_share": np.bincount(layer + 1, minlength=7).tolist(),  # [ScFi, L1..L6]
            "rejection_ep8": 1.0 / max(s8, 0.5 / len(s_pi)),
            "rejection_ep": 1.0 / max(ep_only.survival, 0.5 / len(s_pi)), "ep_depth": ep_only.depth,
            "rejection": 1.0 / max(both.survival, 0.5 / len(s_pi)), "depth": both.depth,
            "eps1": both.eps1})
    return rows


def _sample(sim: Simulation, species: str, point: int):
    smp, draws = sim.sample(species, point)
    return smp, sim.layout, sim.physics, draws
