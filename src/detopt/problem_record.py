"""A problem written down as plain data, stored with its study.

The record holds what reading a study needs: the resolved design space (bounds, units,
constraints, the design check's name), the objectives and outcome constraints, the reference
point and the true front's hypervolume. ``detopt status``, ``export`` and ``report`` rebuild
a :class:`~detopt.problem.Problem` from it without importing anything — not torch, not a
plugin, and never code named by a store someone sent: the evaluation and the design check
stay names that are never imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from detopt.objectives import Objective, ObjectiveSet
from detopt.problem import Problem
from detopt.space import Space

#: bump when the record's shape changes
RECORD_VERSION = 1


def describe(problem: Problem, reference_point: np.ndarray | None) -> dict[str, Any]:
    """The plain-data record of ``problem`` as a study with ``reference_point`` sees it."""
    true_hv = problem.true_hypervolume(reference_point)
    return {
        "version": RECORD_VERSION,
        "name": problem.name,
        "description": problem.description,
        "evaluate": problem.function if problem.evaluation is None else
        f"pipeline ({type(problem.evaluation).__name__})",
        "parameters": [dataclasses.asdict(p) for p in problem.space.parameters],
        "constraints": [c.text for c in problem.space.constraints],
        "check": problem.space.check_reference,
        "objectives": [dataclasses.asdict(o) for o in problem.objectives],
        "outcome_constraints": [str(c) for c in problem.objectives.outcome_constraints],
        "reference_point": None if reference_point is None else [float(v) for v in reference_point],
        "true_hypervolume": None if true_hv is None else float(true_hv),
        "known_front": problem.known_front is not None,
    }


class RecordedFront:
    """Stands in for a known front in a read-only view: its hypervolume at the study's
    reference point was recorded; sampling it needs the problem's own code."""

    def __init__(self, hypervolume: float):
        self._hypervolume = hypervolume

    def hypervolume(self, ref: np.ndarray) -> float:
        return self._hypervolume

    def sample(self, n: int = 2000, seed: int = 0) -> np.ndarray:
        raise NotImplementedError("a recorded front has no points; build the problem to sample")


def problem_from_record(record: Mapping[str, Any]) -> Problem:
    """A read-only :class:`Problem` from :func:`describe`'s output (nothing is imported)."""
    from detopt.config import ParameterSpec

    parameters = [TypeAdapter(ParameterSpec).validate_python(p) for p in record["parameters"]]
    space = Space(parameters, record.get("constraints") or [])
    space.check_reference = record.get("check")
    objectives = ObjectiveSet([Objective(**o) for o in record["objectives"]],
                              record.get("outcome_constraints") or [])
    true_hv = record.get("true_hypervolume")
    return Problem(name=record["name"], space=space, objectives=objectives,
                   evaluate=record.get("evaluate") or "unknown:evaluate",
                   description=record.get("description", ""),
                   known_front=RecordedFront(true_hv) if true_hv is not None else None)
