"""Objectives (what to minimize or maximize) and outcome constraints (what a result must satisfy).

Internally every objective is turned into a quantity to *minimize* (maximized ones are negated),
so Pareto filtering, hypervolume and the optimizers share one convention. Thresholds give the
hypervolume reference point: the worst value still worth having, per objective.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from detopt.errors import ConfigError
from detopt.expressions import parse_inequality

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Objective:
    """One objective.

    Args:
        name: the metric the evaluation returns.
        direction: ``"minimize"`` or ``"maximize"``.
        threshold: the worst acceptable value; it becomes this objective's coordinate of the
            hypervolume reference point.
        description: one line for reports.
        unit: the metric's unit (e.g. ``"mrad"``), shown in reports and tables.
    """

    name: str
    direction: Direction = "minimize"
    threshold: float | None = None
    description: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ConfigError(f"direction must be 'minimize' or 'maximize', got {self.direction!r}.",
                              field=f"objectives.{self.name}.direction", fix="pick one of the two")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ConfigError("threshold must be a finite number.",
                              field=f"objectives.{self.name}.threshold", fix="give a number or omit it")

    @property
    def sign(self) -> float:
        """+1 for minimized objectives, -1 for maximized ones (multiply to get 'minimize' form)."""
        return 1.0 if self.direction == "minimize" else -1.0


@dataclass(frozen=True)
class OutcomeConstraint:
    """A bound a trial's metric must satisfy for the trial to count as feasible.

    Written as text: ``"acceptance >= 0.75"`` or ``"2*cost <= 300"`` (one metric).
    """

    metric: str
    sense: Literal["<=", ">="]
    bound: float
    text: str = ""

    @classmethod
    def parse(cls, text: str, *, field: str | None = None) -> OutcomeConstraint:
        ineq = parse_inequality(text, field=field)
        if len(ineq.coefficients) != 1:
            raise ConfigError(f"'{text}' involves {len(ineq.coefficients)} metrics; an outcome "
                              "constraint bounds exactly one.", field=field,
                              fix="write one constraint per metric, e.g. 'acceptance >= 0.75'")
        (metric, coef), = ineq.coefficients.items()
        sense = ineq.sense if coef > 0 else ("<=" if ineq.sense == ">=" else ">=")
        return cls(metric=metric, sense=sense, bound=ineq.bound / coef, text=ineq.text)

    def slack(self, value: float) -> float:
        """``>= 0`` when satisfied; negative by the amount of violation."""
        return self.bound - value if self.sense == "<=" else value - self.bound

    def violation(self, value: float) -> float:
        """``<= 0`` when satisfied (the form pymoo and BoTorch expect: g(x) <= 0)."""
        return -self.slack(value)

    def __str__(self) -> str:
        return self.text or f"{self.metric} {self.sense} {self.bound:g}"


class ObjectiveSet:
    """The objectives and outcome constraints of a problem.

    Args:
        objectives: at least one objective.
        outcome_constraints: constraints on returned metrics (objectives or other metrics).
    """

    def __init__(self, objectives: Sequence[Objective],
                 outcome_constraints: Sequence[OutcomeConstraint | str] = ()):
        if not objectives:
            raise ConfigError("at least one objective is required.", field="objectives",
                              fix="add an objective with a name and a direction")
        names = [o.name for o in objectives]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"objective {dup[0]!r} is listed twice.", field="objectives",
                              fix="list every objective once")
        self.objectives = tuple(objectives)
        self.outcome_constraints = tuple(
            c if isinstance(c, OutcomeConstraint)
            else OutcomeConstraint.parse(c, field=f"outcome_constraints[{i}]")
            for i, c in enumerate(outcome_constraints))

    def __len__(self) -> int:
        return len(self.objectives)

    def __iter__(self):
        return iter(self.objectives)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def required_metrics(self) -> list[str]:
        """Every metric a result must contain: objectives first, then constrained metrics."""
        out = self.names
        out += [c.metric for c in self.outcome_constraints if c.metric not in out]
        return out

    @property
    def signs(self) -> np.ndarray:
        return np.array([o.sign for o in self.objectives])

    def to_minimization(self, values: np.ndarray) -> np.ndarray:
        """Objective values (rows = trials, columns = objectives) in 'all minimized' form."""
        return np.asarray(values, dtype=float) * self.signs

    def from_minimization(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.signs

    def reference_point(self, override: Sequence[float] | None = None) -> np.ndarray | None:
        """Hypervolume reference point in minimization form, or ``None`` if a threshold is missing.

        Args:
            override: reference point in the objectives' own directions (one value per objective).
        """
        raw = list(override) if override is not None else [o.threshold for o in self.objectives]
        if len(raw) != len(self.objectives):
            raise ConfigError(f"the reference point has {len(raw)} values for "
                              f"{len(self.objectives)} objectives.", field="reference_point",
                              fix="give one value per objective")
        if any(v is None for v in raw):
            return None
        return self.to_minimization(np.array(raw, dtype=float))

    def constraint_violations(self, metrics: Mapping[str, float]) -> np.ndarray:
        """Per outcome constraint, ``max(0, violation)``."""
        return np.array([max(0.0, c.violation(metrics[c.metric])) for c in self.outcome_constraints])

    def is_feasible(self, metrics: Mapping[str, float]) -> bool:
        return all(c.slack(metrics[c.metric]) >= 0 for c in self.outcome_constraints)
