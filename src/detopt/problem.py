"""A problem: the design space, the objectives, and how one design is evaluated."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from detopt.errors import ConfigError
from detopt.objectives import ObjectiveSet
from detopt.space import Space
from detopt.task import Resources, Task, TaskCall, function_reference, resolve
from detopt.trial import MetricValue, parse_result

if TYPE_CHECKING:
    from detopt.evaluation import Evaluation


class KnownFront(Protocol):
    """The true Pareto front of a test problem (minimization form)."""

    def sample(self, n: int = 2000, seed: int = 0) -> np.ndarray: ...

    def hypervolume(self, ref: np.ndarray) -> float: ...


@dataclass
class Problem:
    """Space + objectives + evaluation.

    Args:
        name: short name, shown in reports.
        space: the design space.
        objectives: objectives and outcome constraints.
        evaluate: the evaluation function, as ``"module:function"`` or an importable function
            (or :func:`detopt.task`). It is called as ``evaluate(params, **evaluate_options)``
            and returns ``{metric: value}`` or ``{metric: (mean, sem)}``.
        evaluate_options: extra keyword arguments for every call.
        resources: what one evaluation needs (cores, memory, walltime); defaults to the
            task's own resources when ``evaluate`` is a :func:`detopt.task`.
        known_front: the true front, for normalized hypervolume and IGD+ (test problems).
        retries: re-runs of a failed attempt when the study sets none (default: the
            :func:`detopt.task`'s own ``retries``).
        evaluation: how a trial is run (default: one runner call of ``evaluate``); a
            pipeline problem sets its own (see :mod:`detopt.evaluation`); ``evaluate`` may
            then be ``None``.
    """

    name: str
    space: Space
    objectives: ObjectiveSet
    evaluate: str | Callable[..., Any] | None
    evaluate_options: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources | None = None
    known_front: KnownFront | None = None
    description: str = ""
    retries: int | None = None
    evaluation: Evaluation | None = None
    search_path: tuple[str, ...] = ()  # folders the user's modules are imported from first

    def __post_init__(self) -> None:
        if self.resources is None:
            self.resources = self.evaluate.resources if isinstance(self.evaluate, Task) else Resources()
        if self.retries is None and isinstance(self.evaluate, Task):
            self.retries = self.evaluate.retries
        if self.evaluate is None and self.evaluation is None:
            raise ConfigError("the problem has no evaluation.", field="problem.evaluate",
                              fix="give 'evaluate: module:function' or a 'pipeline'")
        if self.evaluate is not None and not isinstance(self.evaluate, str):
            self.evaluate = function_reference(self.evaluate)

    def evaluator(self) -> Evaluation:
        """How the study loop starts a trial of this problem."""
        if self.evaluation is not None:
            return self.evaluation
        from detopt.evaluation import CallEvaluation

        return CallEvaluation(self)

    @property
    def function(self) -> str:
        """``"module:function"`` reference of the evaluation."""
        assert isinstance(self.evaluate, str)
        return self.evaluate

    def call(self, params: Mapping[str, Any]) -> TaskCall:
        """The task call that evaluates ``params``."""
        assert self.resources is not None
        return TaskCall(self.function, {"params": dict(params), **self.evaluate_options},
                        self.resources, label=self.name, path=self.search_path)

    def evaluate_here(self, params: Mapping[str, Any]) -> dict[str, MetricValue]:
        """Evaluate ``params`` in this process and parse the result (no runner, no storage)."""
        values = self.space.validate(params)
        raw = resolve(self.function, self.search_path)(values, **self.evaluate_options)
        return parse_result(raw, self.objectives.required_metrics)

    def true_hypervolume(self, ref: np.ndarray | None) -> float | None:
        if self.known_front is None or ref is None:
            return None
        return self.known_front.hypervolume(ref)
