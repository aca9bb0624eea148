"""The BIC simulation as a detopt :class:`~detopt.problem.Problem` (problem plugin ``bic``).

The physics lives in this package; this module declares the options, the mixed design space
(five stave switches as choices, the ADC capacity as a log-scale integer, the ADC dynamic
range and the imaging radiator thickness as floats) and the objectives.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from detopt.errors import ConfigError
from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import PluginOptions, with_options
from detopt.problem import Problem
from detopt.space import ChoiceParameter, FixedParameter, FloatParameter, IntParameter, Space

from .geometry import NOMINAL, PARAMETERS, SWITCHES
from .model import ENERGIES, ETA_ACCEPTANCE, ETA_RANGE, OBJECTIVES


class BicOptions(PluginOptions):
    """Options of the ``bic`` problem."""

    events_per_point: int = Field(1000, ge=50, le=1_000_000, description=(
        "events per species (e-, photon, pi-) and energy; 1000: about 0.5 s per design"))
    seed: int = Field(12345, ge=0, description=(
        "common random numbers: the same showers for every design"))
    energies: list[float] = Field(list(ENERGIES), min_length=1, description=(
        "particle energies in GeV (AID2E's BIC-MOBO steering: 0.5, 1, 2, 5, 10)"))
    eta_range: tuple[float, float] = Field(ETA_RANGE, description=(
        "pseudorapidity range of the particles (default theta 45-135 deg as BIC-MOBO; the "
        f"BIC covers {ETA_ACCEPTANCE[0]} to {ETA_ACCEPTANCE[1]})"))
    eta_species: Literal["gamma", "electron"] = Field("gamma", description=(
        "particles of the eta resolution (with layer 1 always on, the electron's is the same "
        "for every switch setting)"))
    objectives: list[str] | None = Field(None, description=(
        "objective names from bic.OBJECTIVES (default: energy_resolution, eta_resolution, "
        "pion_rejection, cost)"))
    space: Literal["full", "switches"] = Field("full", description=(
        "full: switches + readout + geometry (choice, int, float); switches: only the five "
        "stave switches (32 designs), the rest held at 'fixed' or nominal"))
    fixed: dict[str, float] = Field(default_factory=dict, description=(
        "parameters held at these values (and values of the held ones with space: switches)"))
    sem: Literal["bootstrap", "none"] = Field("bootstrap", description=(
        "standard errors by bootstrap over events, or none"))

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, names: list[str] | None) -> list[str] | None:
        unknown = [n for n in names or [] if n not in OBJECTIVES]
        if unknown:
            raise ValueError(f"unknown BIC objective {unknown[0]!r}; use some of: "
                             f"{', '.join(OBJECTIVES)}")
        return names

    @field_validator("fixed")
    @classmethod
    def _known_parameters(cls, fixed: dict[str, float]) -> dict[str, float]:
        names = [p["name"] for p in PARAMETERS]
        unknown = [n for n in fixed if n not in names]
        if unknown:
            raise ValueError(f"unknown BIC parameter {unknown[0]!r}; use some of: "
                             f"{', '.join(names)}")
        return fixed


def _parameter(spec: dict[str, Any], fixed: dict[str, float], hold: bool):
    name = spec["name"]
    if name in fixed or hold:
        value = fixed.get(name, spec["nominal"])
        if spec["kind"] in ("choice", "int"):
            value = int(round(value))
        return FixedParameter(name, value, description=spec["description"])
    if spec["kind"] == "choice":
        return ChoiceParameter(name, tuple(spec["values"]), description=spec["description"])
    if spec["kind"] == "int":
        return IntParameter(name, spec["low"], spec["high"], log=spec.get("log", False),
                            unit=spec["unit"], description=spec["description"])
    return FloatParameter(name, spec["low"], spec["high"], unit=spec["unit"],
                          description=spec["description"])


def bic_space(options: BicOptions) -> Space:
    """The design space the options ask for."""
    fixed = dict(options.fixed)
    hold = options.space == "switches"
    params = [_parameter(p, fixed, hold and p["name"] not in SWITCHES) for p in PARAMETERS]
    try:
        from .geometry import Design

        Design.from_params({p.name: p.value for p in params if isinstance(p, FixedParameter)})
    except Exception as exc:  # noqa: BLE001 - a DetoptError naming the value out of range
        raise ConfigError(f"a held parameter is invalid: {exc}", field="problem.options.fixed",
                          fix="give values inside the parameter bounds") from None
    return Space(params)


@with_options(BicOptions)
def build_problem(options: BicOptions) -> Problem:
    """The ePIC BIC design problem (problem plugin ``bic``)."""
    names = list(options.objectives or OBJECTIVES)
    objectives = ObjectiveSet([Objective(n, OBJECTIVES[n]["direction"], OBJECTIVES[n]["threshold"],
                                         OBJECTIVES[n]["description"]) for n in names])
    lo, hi = options.eta_range
    if not ETA_ACCEPTANCE[0] <= lo < hi <= ETA_ACCEPTANCE[1]:
        raise ConfigError(f"eta_range {[lo, hi]} is outside the BIC acceptance.",
                          field="problem.options.eta_range",
                          fix=f"stay inside {list(ETA_ACCEPTANCE)}")
    space = bic_space(options)
    n_tunable = space.dim
    return Problem(
        name="bic", space=space, objectives=objectives,
        evaluate="detopt.problems.bic.model:evaluate",
        evaluate_options={"events_per_point": options.events_per_point, "seed": options.seed,
                          "energies": list(options.energies), "eta_range": [lo, hi],
                          "eta_species": options.eta_species, "objectives": names,
                          "sem": options.sem},
        description=f"ePIC Barrel Imaging Calorimeter fast simulation ({n_tunable} tunable "
                    f"parameters, {options.events_per_point} events per point): {', '.join(names)}")


__all__ = ["BicOptions", "NOMINAL", "bic_space", "build_problem"]
