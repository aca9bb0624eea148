"""Quality indicators for sets of objective vectors (all in 'minimize' form).

Exact hypervolume and IGD+ come from moocore; the incremental tracker keeps the Pareto set and
its hypervolume up to date as trials finish, at a cost that depends on the front, not on the
number of trials.
"""

from detopt.metrics.indicators import (
    hypervolume,
    hypervolume_regret,
    igd_plus,
    normalized_hypervolume,
)
from detopt.metrics.pareto import non_dominated_mask, pareto_front
from detopt.metrics.tracker import HypervolumeTracker

__all__ = [
    "HypervolumeTracker",
    "hypervolume",
    "hypervolume_regret",
    "igd_plus",
    "non_dominated_mask",
    "normalized_hypervolume",
    "pareto_front",
]
