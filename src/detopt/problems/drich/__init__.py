"""Fast, validated simulation of the ePIC dual-radiator RICH (dRICH) for design optimisation.

A vectorised numpy Monte-Carlo ray tracer (aerogel + C2F6 gas radiators, 6-sector spherical
mirror, spherical SiPM patch) with an exact IRT-like inverse reconstruction, evaluating the
AID2E objectives (pi/K separation at low and high eta, acceptance) in well under a second.
See docs/drich.md for the model, its validation and its limitations.

Public API::

    from detopt.problems import drich
    drich.PARAMETERS, drich.OPTIONAL_PARAMETERS, drich.NOMINAL, drich.OBJECTIVES
    drich.constraint_margins(params)               # {name: margin_cm}, >= 0 feasible
    drich.evaluate(params, preset="aid2e_calibrated", tracks_per_point=1000, seed=12345)
    drich.draw_design(params, "design.png")
"""

from .constraints import CONSTRAINTS, constraint_margins, design_check, patch_area_m2
from .diagnostics import error_budget, momentum_reach, scan_report
from .model import DEFAULT_OBJECTIVES, OBJECTIVES, POINTS, evaluate
from .parameters import NOMINAL, OPTIONAL_PARAMETERS, PARAMETERS
from .plot import draw_design
from .presets import PRESETS, Effects, Preset, get_preset

__all__ = [
    "CONSTRAINTS", "DEFAULT_OBJECTIVES", "Effects", "NOMINAL", "OBJECTIVES", "OPTIONAL_PARAMETERS",
    "PARAMETERS", "POINTS", "PRESETS", "Preset", "constraint_margins", "design_check", "draw_design",
    "error_budget", "evaluate", "get_preset", "momentum_reach", "patch_area_m2", "scan_report",
]
