"""The dRICH simulation as a detopt :class:`~detopt.problem.Problem` (built-in name ``drich``).

The physics lives in :mod:`detopt.problems.drich`; this module only declares the design space
(the 7 recommended absolute parameters, optionally the aerogel index), the objectives with
AID2E's thresholds, and how the overlap constraints are handled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from detopt.errors import ConfigError
from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import PluginOptions, with_options
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


class DrichOptions(PluginOptions):
    """Options of the ``drich`` problem."""

    preset: Literal["aid2e_calibrated", "pure"] = Field("aid2e_calibrated", description=(
        "aid2e_calibrated reproduces AID2E's nominal numbers; pure is the uncalibrated model"))
    tracks_per_point: int = Field(1000, ge=10, le=1_000_000, description=(
        "tracks per scan point and species (1000: about 0.35 s per design)"))
    seed: int = Field(12345, ge=0, description=(
        "common random numbers: the same tracks and photons for every design"))
    objectives: list[str] | None = Field(None, description=(
        "objective names from drich.OBJECTIVES (default: AID2E's three)"))
    aerogel_index: bool = Field(False, description="also optimize the aerogel refractive index")
    constraints: Literal["check", "fail", "outcome"] = Field("check", description=(
        "check: the overlap proxies are the design check, so no trial is spent on an "
        "overlapping geometry; fail: an overlapping design fails fast (AID2E's policy); "
        "outcome: the margins become outcome constraints margin_<name> >= 0"))
    fidelity: Literal["fast", "geant4"] = Field("fast", description=(
        "fast: the numpy ray trace; geant4: a full Geant4 optical simulation per design "
        "(extra detopt[geant4]; Geant4's own overlap check gates each design; docs/drich.md)"))


@with_options(DrichOptions)
def build_problem(options: DrichOptions) -> Problem:
    """The dRICH design problem (built-in name ``drich``).

    In ``check`` mode an overlapping design still fails fast if one is run anyway.
    """
    from detopt.problems import drich

    preset, tracks_per_point, seed = options.preset, options.tracks_per_point, options.seed
    constraints, aerogel_index = options.constraints, options.aerogel_index
    fidelity = options.fidelity
    names = list(options.objectives or drich.DEFAULT_OBJECTIVES)
    unknown = [n for n in names if n not in drich.OBJECTIVES]
    if unknown:
        raise ConfigError(f"unknown dRICH objective {unknown[0]!r}.", field="problem.options.objectives",
                          fix=f"use some of: {', '.join(drich.OBJECTIVES)}")
    if options.fidelity == "geant4":
        from detopt.problems.drich.g4 import require_geant4

        require_geant4()
    specs = list(drich.PARAMETERS) + (list(drich.OPTIONAL_PARAMETERS) if aerogel_index else [])
    space = Space([FloatParameter(p["name"], p["low"], p["high"], unit=p["unit"],
                                  description=p["description"]) for p in specs],
                  check="detopt.problems.drich:design_check" if constraints == "check" else None)
    objective_set = ObjectiveSet(
        [Objective(n, drich.OBJECTIVES[n]["direction"], drich.OBJECTIVES[n]["threshold"],
                   drich.OBJECTIVES[n]["description"]) for n in names],
        [f"margin_{c} >= 0" for c in drich.CONSTRAINTS] if constraints == "outcome" else [])
    return Problem(
        name="drich", space=space, objectives=objective_set,
        evaluate="detopt.problems.drich.g4.evaluate:evaluate" if fidelity == "geant4"
        else "detopt.problems.drich:evaluate",
        evaluate_options={"preset": preset, "tracks_per_point": tracks_per_point, "seed": seed,
                          "objectives": names,
                          "constraints": "fail" if constraints == "check" else constraints},
        description=f"ePIC dRICH {'Geant4' if fidelity == 'geant4' else 'fast'} simulation ({preset}, {tracks_per_point} tracks per point): "
                    f"{', '.join(names)}")

