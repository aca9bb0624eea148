"""Public entry points: the objectives and ``evaluate`` (one design -> {metric: (mean, sem)}).

Samples (AID2E's BIC-MOBO steering): single particles at 0.5, 1, 2, 5 and 10 GeV, eta uniform
in the barrel (default theta 45-135 deg, as the steering files; the model covers the whole BIC
acceptance -1.7 < eta < 1.3). Objectives:

* ``energy_resolution`` — electrons: Gaussian-core sigma / center of E_cluster / E at each
  energy (the calibrated resolution; AID2E's sigma of (E_cluster - E)/E would reward a design
  that loses energy), averaged over the energies; the cluster is the 12 ScFi layers x 8 phi
  cells around the shower after the ADC threshold;
* ``eta_resolution`` — photons (or electrons, ``eta_species``): Gaussian-core sigma of
  eta(most energetic pixel of the most upstream layer with a hit) - eta, averaged over the
  energies;
* ``pion_rejection`` — 1 / (pi- survival at 97 % electron efficiency), cuts on E/p (best ScFi
  integration depth) and on the imaging-layer profile, geometric mean over the momenta;
* ``cost`` — 1 + enabled stave layers 2-6 (AID2E's ``Cost``), exact.

Standard errors: bootstrap over events (Poisson weights, ``N_BOOT`` replicates, the same for
every design).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detopt.errors import DetoptError

from . import imaging, metrics, readout, showers
from .geometry import Design, Layout, layout
from .physics import DEFAULT, Physics
from .rng import SPECIES_ID, Draws, draws as cached_draws

ENERGIES: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0)
ETA_RANGE = (-0.8814, 0.8814)        # theta 45-135 deg
ETA_ACCEPTANCE = (-1.7, 1.3)         # the whole BIC
N_BOOT = 40
#: pions per point relative to ``events_per_point``: the rejection counts the few pions that
#: survive the cuts, so it needs more of them than the resolutions need electrons or photons
PION_FACTOR = 3
EFFICIENCY = 0.97
_ALL = ("energy_resolution", "eta_resolution", "pion_rejection", "cost")


def _objective(direction: str, threshold: float, description: str, unit: str = "") -> dict:
    return {"direction": direction, "threshold": threshold, "description": description,
            "unit": unit}


#: name -> direction, threshold (hypervolume reference point), description. Thresholds: the
#: resolutions 25 % worse than the nominal ePIC design, AID2E's rejection threshold 10, and
#: a cost just above the maximum.
OBJECTIVES: dict[str, dict[str, Any]] = {
    "energy_resolution": _objective(
        "minimize", 0.06, "electron sigma_E/E (Gaussian core), mean over 0.5-10 GeV"),
    "eta_resolution": _objective(
        "minimize", 0.0045, "photon eta resolution of the most upstream imaging hit, mean over "
        "0.5-10 GeV"),
    "pion_rejection": _objective(
        "maximize", 10.0, "pi- rejection at 97 % electron efficiency (E/p + imaging "
        "profile), geometric mean over 0.5-10 GeV"),
    "cost": _objective("minimize", 6.5, "1 + number of enabled stave layers 2-6 (AID2E Cost)"),
}
DEFAULT_OBJECTIVES: tuple[str, ...] = _ALL


class Simulation:
    """Samples and reconstructed quantities of one design, simulated on demand and cached."""

    def __init__(self, design: Design, *, events_per_point: int = 1000, seed: int = 12345,
                 energies: Sequence[float] = ENERGIES,
                 eta_range: tuple[float, float] = ETA_RANGE, physics: Physics = DEFAULT):
        self.design, self.physics = design, physics
        self.layout: Layout = layout(design, physics.upstream_x0)
        self.n, self.seed = int(events_per_point), int(seed)
        self.energies = tuple(float(e) for e in energies)
        self.eta_range = (float(eta_range[0]), float(eta_range[1]))
        self._samples: dict[tuple[str, int], tuple[showers.Sample, Draws]] = {}
        self._layers: dict[tuple[str, int], np.ndarray] = {}

    def sample(self, species: str, point: int) -> tuple[showers.Sample, Draws]:
        key = (species, point)
        if key not in self._samples:
            n = self.n * (PION_FACTOR if species == "pion" else 1)
            draws = cached_draws(self.seed, species, point, n)
            smp = showers.simulate(self.layout, self.physics, species, self.energies[point],
                                   draws, self.eta_range, need_cells=species != "gamma")
            self._samples[key] = (smp, draws)
        return self._samples[key]

    def layer_energies(self, species: str, point: int) -> np.ndarray:
        """Reconstructed energy per ScFi layer ``(n, 12)`` (GeV, EM scale)."""
        key = (species, point)
        if key not in self._layers:
            smp, draws = self.sample(species, point)
            self._layers[key] = readout.layer_energies(smp, self.design, self.physics, draws)
        return self._layers[key]

    # ------------------------------------------------------------------ per energy
    def energy_response(self, point: int) -> np.ndarray:
        """E_cluster / E of the electrons."""
        return self.layer_energies("electron", point).sum(axis=1) / self.energies[point]

    def eta_residuals(self, point: int, species: str = "gamma") -> np.ndarray:
        smp, draws = self.sample(species, point)
        return imaging.first_layer_eta(smp, self.layout, self.physics, draws)[0]

    def ep(self, species: str, point: int) -> np.ndarray:
        """E/p versus integration depth (first d ScFi layers), ``(n, 12)``."""
        return np.cumsum(self.layer_energies(species, point), axis=1) / self.energies[point]

    def rejection_inputs(self, point: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(E/p of electrons, their profile scores, E/p of pions, their scores)."""
        ep_e, ep_pi = self.ep("electron", point), self.ep("pion", point)
        f_e = imaging.profile_features(self.sample("electron", point)[0], self.layout)
        f_pi = imaging.profile_features(self.sample("pion", point)[0], self.layout)
        cut = metrics.keep_cut(ep_e[:, -1], np.ones(len(ep_e)), EFFICIENCY)
        hard = ep_pi[:, -1] >= cut
        w = metrics.fisher_direction(f_e, f_pi[hard] if hard.sum() >= 10 else f_pi)
        return ep_e, f_e @ w, ep_pi, f_pi @ w


def _check(value: Any, allowed: Sequence[Any], field: str) -> None:
    if value not in allowed:
        raise DetoptError(f"unknown value {value!r}.", field=field,
                          fix=f"use one of {list(allowed)}")


def _mean_over_points(values: list[np.ndarray]) -> tuple[float, float]:
    """(mean over points of the nominal estimates, bootstrap sem); row 0 is nominal."""
    stack = np.array(values)                      # (points, 1 + B)
    mean = stack.mean(axis=0)
    return float(mean[0]), float(np.nanstd(mean[1:])) if stack.shape[1] > 1 else 0.0


def _widths(sim: Simulation, values, seed_purpose: int, n_boot: int, relative: bool
            ) -> tuple[float, float]:
    """Mean over the energies of the core width of ``values(point)`` (``relative``: divided by
    the core's center, i.e. after calibrating the response)."""
    out = []
    for p in range(len(sim.energies)):
        v = values(p)
        w = np.vstack([np.ones(len(v)), metrics.bootstrap_weights(sim.seed, seed_purpose + p,
                                                                  len(v), n_boot)]) \
            if n_boot else None
        center, width = metrics.core_center_width(v, w)
        out.append(width / center if relative else width)
    return _mean_over_points(out)


def _rejection(sim: Simulation, n_boot: int) -> tuple[float, float]:
    use_profile = bool(sim.layout.enabled[1:].any())
    survivals = []
    for p in range(len(sim.energies)):
        ep_e, s_e, ep_pi, s_pi = sim.rejection_inputs(p)
        best = metrics.best_rejection(ep_e, s_e, ep_pi, s_pi, EFFICIENCY, use_profile)
        row = [best.survival]
        if n_boot:
            we = metrics.bootstrap_weights(sim.seed, 300 + p, len(s_e), n_boot)
            wp = metrics.bootstrap_weights(sim.seed, 400 + p, len(s_pi), n_boot)
            d = best.depth - 1
            row += [metrics.survival(ep_e[:, d], s_e, ep_pi[:, d], s_pi, best.eps1, EFFICIENCY,
                                     we[b], wp[b]) for b in range(n_boot)]
        survivals.append(row)
    # geometric mean over the momenta; no survivor at all gives the bound 2 x pions
    floor = 0.5 / (sim.n * PION_FACTOR)
    rej = np.exp(np.mean(-np.log(np.maximum(np.array(survivals), floor)), axis=0))
    return float(rej[0]), float(np.std(rej[1:])) if n_boot else 0.0


def evaluate(params: Mapping[str, Any] | None = None, *, events_per_point: int = 1000,
             seed: int = 12345, energies: Sequence[float] = ENERGIES,
             eta_range: Sequence[float] = ETA_RANGE, eta_species: str = "gamma",
             objectives: Sequence[str] | None = None, sem: str = "bootstrap",
             physics: Physics | None = None) -> dict[str, tuple[float, float]]:
    """Evaluate one BIC design: ``{metric: (mean, sem)}``.

    Args:
        params: design parameters (see ``PARAMETERS``); missing ones take ``NOMINAL``.
        events_per_point: events per species and energy (electrons, photons and pions at
            each of ``energies``: 3 x 5 x this many events).
        seed: the same seed gives the same random numbers for every design.
        energies: particle energies (GeV).
        eta_range: pseudorapidity range of the particles.
        eta_species: ``"gamma"`` or ``"electron"`` for the eta resolution.
        objectives: names from ``OBJECTIVES`` (default: all four).
        sem: ``"bootstrap"`` or ``"none"``.
        physics: model constants (default ``physics.DEFAULT``).

    Raises:
        DetoptError: an unknown parameter, objective or option, or a value out of range.
    """
    _check(sem, ("bootstrap", "none"), "sem")
    _check(eta_species, ("gamma", "electron"), "eta_species")
    names = list(objectives or DEFAULT_OBJECTIVES)
    for name in names:
        _check(name, list(OBJECTIVES), "objectives")
    if int(events_per_point) < 50:
        raise DetoptError(f"events_per_point={events_per_point} is too small.",
                          field="events_per_point", fix="use at least 50 (default 1000)")
    if not energies or min(energies) <= 0.05 or max(energies) > 50:
        raise DetoptError("energies must lie in (0.05, 50] GeV.", field="energies",
                          fix="give energies like [0.5, 1, 2, 5, 10]")
    lo, hi = (float(v) for v in eta_range)
    if not ETA_ACCEPTANCE[0] <= lo < hi <= ETA_ACCEPTANCE[1]:
        raise DetoptError(f"eta_range {list(eta_range)} is outside the BIC acceptance.",
                          field="eta_range", fix=f"stay inside {list(ETA_ACCEPTANCE)}")
    design = Design.from_params(params)
    sim = Simulation(design, events_per_point=events_per_point, seed=seed, energies=energies,
                     eta_range=(lo, hi), physics=physics or DEFAULT)
    n_boot = N_BOOT if sem == "bootstrap" else 0
    result: dict[str, tuple[float, float]] = {}
    for name in names:
        if name == "energy_resolution":
            result[name] = _widths(sim, sim.energy_response, 100, n_boot, relative=True)
        elif name == "eta_resolution":
            result[name] = _widths(sim, lambda p: sim.eta_residuals(p, eta_species),
                                   200 + 10 * SPECIES_ID[eta_species], n_boot, relative=False)
        elif name == "pion_rejection":
            result[name] = _rejection(sim, n_boot)
        elif name == "cost":
            result[name] = (float(design.n_staves), 0.0)
    return result
