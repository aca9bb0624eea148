"""A problem plugin: ZDT1 (Zitzler, Deb, Thiele 2000), two objectives, a convex front."""

from __future__ import annotations

import math

from pydantic import Field

from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import PluginOptions, with_options
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


class ZDT1Options(PluginOptions):
    """Options of the ``zdt1`` problem."""

    n_variables: int = Field(6, ge=2, le=100, description="number of variables in [0, 1]")


def evaluate(params: dict[str, float]) -> dict[str, float]:
    x = [params[f"x{i + 1}"] for i in range(len(params))]
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return {"f1": x[0], "f2": g * (1.0 - math.sqrt(x[0] / g))}


@with_options(ZDT1Options)
def build_zdt1(options: ZDT1Options) -> Problem:
    space = Space([FloatParameter(f"x{i + 1}", 0.0, 1.0) for i in range(options.n_variables)])
    objectives = ObjectiveSet([Objective("f1", threshold=1.1), Objective("f2", threshold=11.0)])
    return Problem(f"zdt1-{options.n_variables}", space, objectives,
                   "detopt_example_plugins.problem:evaluate",
                   description="ZDT1 from an example plugin package")
