"""The DTLZ test problems as detopt problems (built-in names ``dtlz1`` … ``dtlz7``).

The functions and their true Pareto fronts live in :mod:`detopt.problems.dtlz`; this module
only declares the options, the space (``x1..xn`` in [0, 1]) and the objectives (``f1..fM``,
minimized, thresholds = the reference point).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field

from detopt.errors import ConfigError
from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import PluginOptions, with_options
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


class DTLZOptions(PluginOptions):
    """Options of the DTLZ problems."""

    n_objectives: int = Field(3, ge=2, le=20, description="number of objectives M")
    n_variables: int | None = Field(None, ge=2, le=1000, description=(
        "number of variables (default: M + k - 1 with Deb et al.'s k)"))
    reference_point: list[float] | None = Field(None, description=(
        "hypervolume reference point, one value per objective (default: the closure-test one)"))


def _factory(name: str) -> Callable[[DTLZOptions], Problem]:
    @with_options(DTLZOptions)
    def build(options: DTLZOptions) -> Problem:
        from detopt.problems import dtlz

        m = options.n_objectives
        n_variables = options.n_variables or dtlz.default_n_variables(name, m)
        dtlz.check(name, m, n_variables)
        ref = options.reference_point or dtlz.default_reference_point(name, m)
        if len(ref) != m:
            raise ConfigError(f"reference_point has {len(ref)} values for {m} objectives.",
                              field="problem.options.reference_point", fix="give one per objective")
        space = Space([FloatParameter(f"x{i + 1}", 0.0, 1.0) for i in range(n_variables)])
        objectives = ObjectiveSet([Objective(f"f{j + 1}", "minimize", threshold=float(r))
                                   for j, r in enumerate(ref)])
        return Problem(name=f"{name}-{m}x{n_variables}", space=space, objectives=objectives,
                       evaluate="detopt.problems.dtlz:evaluate",
                       evaluate_options={"name": name, "n_objectives": m},
                       known_front=dtlz.DTLZFront(name, m),
                       description=f"{name.upper()} with {m} objectives and {n_variables} variables")

    build.__name__ = build.__qualname__ = f"build_{name}"
    build.__doc__ = f"{name.upper()} (Deb et al. 2005) with a known Pareto front."
    return build


build_dtlz1 = _factory("dtlz1")
build_dtlz2 = _factory("dtlz2")
build_dtlz3 = _factory("dtlz3")
build_dtlz4 = _factory("dtlz4")
build_dtlz5 = _factory("dtlz5")
build_dtlz6 = _factory("dtlz6")
build_dtlz7 = _factory("dtlz7")
