"""A toy sampling calorimeter: the kind of evaluation function a detector group writes.

Replace the body of ``evaluate`` with a call to your simulation (Geant4, DD4hep, ...). detopt
calls it as ``evaluate(params, **evaluate_options)`` in a worker process and expects a dict of
metrics, each a number or ``(mean, standard error)``.

Physics (textbook parametrisations, good enough to have real trade-offs):
* stochastic term a ≈ 2.7 % · sqrt(d_abs[mm] / f_samp) (Amaldi), constant term from leakage;
* longitudinal containment from the total depth in radiation lengths;
* cost from the absorber mass and the number of readout layers.
"""

from __future__ import annotations

import math

import numpy as np

from detopt.errors import InfeasibleDesignError

RADIATION_LENGTH_MM = {"lead": 5.6, "tungsten": 3.5}
DENSITY = {"lead": 11.35, "tungsten": 19.3}  # g/cm^3
PRICE_PER_KG = {"lead": 2.0, "tungsten": 40.0}


ENVELOPE_MM = 400.0


def fits_envelope(params: dict) -> str | None:
    """The design check (``problem.check``): a cheap known constraint, tested before a design
    is proposed. ``None`` when the stack fits the 40 cm envelope, else the reason."""
    depth = params["n_layers"] * (params["absorber_mm"] + params["active_mm"])
    return None if depth <= ENVELOPE_MM else f"stack {depth:.0f} mm deep, the envelope is 400 mm"


def evaluate(params: dict, energy_gev: float = 10.0, events: int = 400, seed: int = 1) -> dict:
    absorber, active = params["absorber_mm"], params["active_mm"]
    layers, material = params["n_layers"], params["material"]
    if fits_envelope(params) is not None:
        # only reached when the check is not configured: the trial fails at once, with the
        # reason stored, and is never retried
        raise InfeasibleDesignError("depth", ENVELOPE_MM - layers * (absorber + active),
                                    "deeper than the 40 cm envelope")
    x0 = RADIATION_LENGTH_MM[material]
    depth_x0 = layers * absorber / x0
    sampling_fraction = active / (active + 0.8 * absorber * (x0 / 5.6) ** -0.5)
    stochastic = 0.027 * math.sqrt(absorber / sampling_fraction)
    containment = 1.0 - math.exp(-depth_x0 / 5.0)
    # a noisy "simulation": resolution measured from `events` showers, with its standard error
    rng = np.random.default_rng([seed, int(absorber * 1000), int(active * 1000), layers])
    sigma = math.sqrt((stochastic / math.sqrt(energy_gev)) ** 2 + (0.6 * (1 - containment)) ** 2 + 0.01 ** 2)
    measured = rng.normal(1.0, sigma, events) * (containment + rng.normal(0, 0.002, events))
    resolution = float(np.std(measured) / np.mean(measured))
    mass_kg = layers * absorber * 0.1 * DENSITY[material] * 1.0  # per cm^2 column, times 1000 cm^2
    cost = mass_kg * PRICE_PER_KG[material] + 25.0 * layers
    return {
        "resolution": (resolution, resolution / math.sqrt(2 * (events - 1))),
        "cost": cost,
        "containment": containment,
    }
