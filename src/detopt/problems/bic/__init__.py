"""Fast simulation of the ePIC Barrel Imaging Calorimeter (BIC) for design optimization.

Pb/ScFi sampling layers interleaved with six AstroPix imaging layers (layer 1 always on,
layers 2-6 switchable), GFlash (Grindhammer-Peters) electromagnetic showers with their
fluctuations, a two-component pion model, EICrecon's ScFi digitization and AID2E's BIC
analyses (energy resolution, eta resolution of the imaging layers, pi- rejection at 97 %
electron efficiency) plus cost. See docs/bic.md.

Public API::

    from detopt.problems import bic
    bic.PARAMETERS, bic.NOMINAL, bic.OBJECTIVES
    bic.evaluate({"enable_staves_2": 1}, events_per_point=1000, seed=12345)
    bic.draw_design(bic.NOMINAL, "bic.png")
    bic.diagnostics.per_energy(params), bic.diagnostics.test_beam()
"""

from . import diagnostics
from .geometry import NOMINAL, PARAMETERS, SWITCHES, Design, layout
from .model import DEFAULT_OBJECTIVES, ENERGIES, ETA_RANGE, OBJECTIVES, Simulation, evaluate
from .physics import DEFAULT as DEFAULT_PHYSICS
from .plot import draw_design
from .physics import TEST_BEAM, Physics

__all__ = [
    "DEFAULT_OBJECTIVES", "DEFAULT_PHYSICS", "diagnostics", "ENERGIES", "ETA_RANGE", "NOMINAL", "OBJECTIVES",
    "PARAMETERS", "SWITCHES", "TEST_BEAM", "Design", "Physics", "Simulation", "draw_design",
    "evaluate", "layout",
]
