"""Built-in problems by name, for configs (``problem: {builtin: dtlz2, options: {...}}``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from detopt.errors import ConfigError
from detopt.objectives import Objective, ObjectiveSet
from detopt.plugins import lookup
from detopt.problem import Problem
from detopt.space import FloatParameter, Space


def _dtlz(name: str) -> Callable[..., Problem]:
    def build(n_objectives: int = 3, n_variables: int | None = None,
              reference_point: list[float] | None = None) -> Problem:
        from detopt.problems import dtlz

        n_variables = n_variables or dtlz.default_n_variables(name, n_objectives)
        dtlz.check(name, n_objectives, n_variables)
        ref = reference_point or dtlz.default_reference_point(name, n_objectives)
        if len(ref) != n_objectives:
            raise ConfigError(f"reference_point has {len(ref)} values for {n_objectives} objectives.",
                              field="problem.options.reference_point", fix="give one per objective")
        space = Space([FloatParameter(f"x{i + 1}", 0.0, 1.0) for i in range(n_variables)])
        objectives = ObjectiveSet([Objective(f"f{j + 1}", "minimize", threshold=float(r))
                                   for j, r in enumerate(ref)])
        return Problem(name=f"{name}-{n_objectives}x{n_variables}", space=space,
                       objectives=objectives, evaluate="detopt.problems.dtlz:evaluate",
                       evaluate_options={"name": name, "n_objectives": n_objectives},
                       known_front=dtlz.DTLZFront(name, n_objectives),
                       description=f"{name.upper()} with {n_objectives} objectives and "
                                   f"{n_variables} variables")
    return build


def _sphere(n_variables: int = 2, seconds: float = 0.0) -> Problem:
    """Two conflicting quadratics; with ``seconds`` > 0 each evaluation sleeps that long."""
    space = Space([FloatParameter(f"x{i + 1}", -1.0, 2.0) for i in range(n_variables)])
    objectives = ObjectiveSet([Objective("f1", threshold=4.0 * n_variables),
                               Objective("f2", threshold=4.0 * n_variables)])
    if seconds > 0:
        return Problem("sleep-sphere", space, objectives, "detopt.problems.synthetic:sleep",
                       {"seconds": seconds})
    return Problem("sphere", space, objectives, "detopt.problems.synthetic:sphere")


_BUILDERS: dict[str, Callable[..., Problem] | str] = {
    **{f"dtlz{i}": _dtlz(f"dtlz{i}") for i in range(1, 8)},
    "sphere": _sphere,
    "drich": "detopt.problems.drich_problem:build_problem",
}


def available_problems() -> list[str]:
    return sorted(_BUILDERS)


def build_problem(name: str, options: Mapping[str, Any] | None = None) -> Problem:
    """The built-in problem ``name`` with ``options`` (e.g. ``n_objectives`` for DTLZ)."""
    key = name.lower()
    entry = _BUILDERS.get(key)
    if entry is None:
        raise ConfigError(f"unknown built-in problem {name!r}.", field="problem.builtin",
                          fix=f"use one of: {', '.join(available_problems())}")
    builder = lookup({key: entry}, key, what="built-in problem", field="problem.builtin") \
        if isinstance(entry, str) else entry
    try:
        return builder(**dict(options or {}))
    except TypeError as exc:
        raise ConfigError(f"invalid options for problem {name!r}: {exc}.",
                          field="problem.options", fix="check the option names") from None
