"""Problems by name (``problem: {builtin: NAME, options: {...}}``): plugins of the entry-point
group ``detopt.problems``, detopt's own (DTLZ, sphere, dRICH) and any installed package's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detopt import plugins
from detopt.errors import ConfigError
from detopt.problem import Problem


def available_problems() -> list[str]:
    return plugins.available("problem")


def build_problem(name: str, options: Mapping[str, Any] | None = None) -> Problem:
    """The problem registered as ``name`` with ``options`` (e.g. ``n_objectives`` for DTLZ)."""
    factory = plugins.load("problem", name)
    settings = plugins.parse_options("problem", name, factory.Options, options, "problem.options")
    problem = factory(settings)
    if not isinstance(problem, Problem):
        raise ConfigError(f"the problem plugin {name!r} returned "
                          f"{type(problem).__name__}, not a detopt Problem.",
                          field="problem.builtin", fix="fix the plugin's factory")
    return problem
