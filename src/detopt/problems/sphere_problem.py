"""The ``sphere`` problem: two conflicting quadratics, for tests and overhead benchmarks.

Kept apart from :mod:`detopt.problems.synthetic` (the evaluation functions), which workers
import and which must stay light.
"""

from __future__ import annotations

from pydantic import Field

from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import PluginOptions, with_options
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


class SphereOptions(PluginOptions):
    """Options of the ``sphere`` problem."""

    n_variables: int = Field(2, ge=1, le=1000, description="number of variables in [-1, 2]")
    seconds: float = Field(0.0, ge=0.0, le=86400.0, description=(
        "each evaluation sleeps this long first (a stand-in for a simulation)"))


@with_options(SphereOptions)
def build_sphere(options: SphereOptions) -> Problem:
    """Two conflicting quadratics (built-in name ``sphere``)."""
    n = options.n_variables
    space = Space([FloatParameter(f"x{i + 1}", -1.0, 2.0) for i in range(n)])
    objectives = ObjectiveSet([Objective("f1", threshold=4.0 * n), Objective("f2", threshold=4.0 * n)])
    if options.seconds > 0:
        return Problem("sleep-sphere", space, objectives, "detopt.problems.synthetic:sleep",
                       {"seconds": options.seconds})
    return Problem("sphere", space, objectives, "detopt.problems.synthetic:sphere")
