"""The dRICH simulation as a detopt :class:`~detopt.problem.Problem` (built-in name ``drich``).

The physics lives in :mod:`detopt.problems.drich`; this module only declares the design space
(the 7 recommended absolute parameters, optionally the aerogel index), the objectives with
AID2E's thresholds, and how the overlap constraints are handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from detopt.errors import ConfigError
from detopt.objectives import Objective, ObjectiveSet
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


def build_problem(preset: str = "aid2e_calibrated", tracks_per_point: int = 1000, seed: int = 12345,
                  objectives: Sequence[str] | None = None, aerogel_index: bool = False,
                  constraints: Literal["check", "fail", "outcome"] = "check",
                  fidelity: Literal["fast", "geant4"] = "fast") -> Problem:
    """The dRICH design problem.

    Args:
        preset: ``"aid2e_calibrated"`` (reproduces AID2E's nominal numbers) or ``"pure"``.
        tracks_per_point: tracks per scan point and species (1000: about 0.35 s per design).
        seed: common random numbers: the same tracks and photons for every design.
        objectives: names from ``drich.OBJECTIVES`` (default: AID2E's three).
        aerogel_index: also optimize the aerogel refractive index.
        constraints: ``"check"``: the overlap proxies are the space's design check (about
            1 ms), so optimizers propose only designs that pass them and no trial is spent on
            an overlapping geometry; ``"fail"``: designs are not checked before they run and an
            overlapping one fails fast, naming the constraint (AID2E's policy); ``"outcome"``:
            the margins become outcome constraints ``margin_<name> >= 0`` that the optimizer
            models. An overlapping design still fails fast in ``check`` mode if one is run.
        fidelity: ``"fast"`` (the numpy ray trace) or ``"geant4"`` (a full Geant4 optical
            simulation per design, extra ``detopt[geant4]``; Geant4's own overlap check gates
            each design; about 25 ms per track, docs/drich.md).
    """
    from detopt.problems import drich

    names = list(objectives or drich.DEFAULT_OBJECTIVES)
    unknown = [n for n in names if n not in drich.OBJECTIVES]
    if unknown:
        raise ConfigError(f"unknown dRICH objective {unknown[0]!r}.", field="problem.options.objectives",
                          fix=f"use some of: {', '.join(drich.OBJECTIVES)}")
    if constraints not in ("check", "fail", "outcome"):
        raise ConfigError(f"constraints must be 'check', 'fail' or 'outcome', got {constraints!r}.",
                          field="problem.options.constraints", fix="pick one of the three")
    if fidelity not in ("fast", "geant4"):
        raise ConfigError(f"fidelity must be 'fast' or 'geant4', got {fidelity!r}.",
                          field="problem.options.fidelity", fix="pick one of the two")
    if fidelity == "geant4":
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

