"""The ask/tell protocol every optimizer implements, and the registry that builds them by name.

Contract:

* ``ask(n, pending)`` proposes ``n`` new parameter dicts. ``pending`` are trials already
  proposed but not finished; a proposal must not duplicate them. ``ask`` must not change the
  optimizer's state, so a proposal that the study discards costs nothing but time: everything
  an optimizer knows comes from ``tell``.
* ``tell(trials)`` reports finished trials (COMPLETED or FAILED). Telling a trial twice is
  harmless. A resumed study rebuilds an optimizer by telling it every finished trial.
* Trials reach an optimizer as immutable snapshots (:class:`~detopt.trial.TrialView`), never
  the study's live objects, because ``ask``/``tell`` run on the optimizer's own thread.
* A proposal may say what made it: return :class:`Proposal` (a dict with a ``generator``)
  instead of a plain dict, e.g. ``"sobol"`` for an initial space-filling design; a plain dict
  is recorded as the optimizer's own (:attr:`Optimizer.name`).

Optimizers are plugins (entry-point group ``detopt.optimizers``); their settings are an
``Options`` model (a :class:`OptimizerOptions`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import ValidationError

from detopt import plugins
from detopt.objectives import ObjectiveSet
from detopt.plugins import PluginOptions
from detopt.space import Space
from detopt.trial import Trial, TrialStatus


class OptimizerOptions(PluginOptions):
    """Base of every optimizer's options; unknown keys are errors."""


class Proposal(dict):
    """A proposed design (parameter name -> value) that records what proposed it.

    Equal to a plain dict with the same items; ``generator`` is stored with the trial.
    """

    def __init__(self, params: Mapping[str, Any], generator: str):
        super().__init__(params)
        self.generator = generator


class Optimizer(ABC):
    """Proposes designs (``ask``) and learns from finished trials (``tell``).

    Args:
        space: the design space.
        objectives: objectives and outcome constraints.
        seed: makes proposals reproducible.
        options: optimizer-specific settings, validated by :attr:`Options`.
        reference_point: the study's hypervolume reference point in minimization form (the
            study passes the one it measures against); default: the objectives' thresholds.
    """

    name: ClassVar[str] = "optimizer"
    Options: ClassVar[type[OptimizerOptions]] = OptimizerOptions

    def __init__(self, space: Space, objectives: ObjectiveSet, *, seed: int = 0,
                 options: Mapping[str, Any] | OptimizerOptions | None = None,
                 reference_point: np.ndarray | None = None):
        self.space = space
        self.objectives = objectives
        self.seed = int(seed)
        if reference_point is None:
            reference_point = objectives.reference_point()
        #: the hypervolume reference point (minimization form), ``None`` if a threshold is missing
        self.reference_point = None if reference_point is None else \
            np.asarray(reference_point, dtype=float)
        if isinstance(options, self.Options):
            self.options = options
        else:
            try:
                self.options = self.Options.model_validate(dict(options or {}))
            except ValidationError as exc:
                raise plugins.options_error("optimizer", self.name, self.Options, exc,
                                            "optimizer.options") from None
        self.finished: dict[int, Trial] = {}

    @abstractmethod
    def ask(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        """``n`` new designs that do not duplicate ``pending`` ones."""

    def tell(self, trials: Sequence[Trial]) -> None:
        """Record finished trials; subclasses react in :meth:`_learn`."""
        new = [t for t in trials if t.status.is_finished and t.index not in self.finished]
        for t in new:
            self.finished[t.index] = t
        if new:
            self._learn(sorted(new, key=lambda t: t.index))

    def _learn(self, new: list[Trial]) -> None:
        """Hook for subclasses: ``new`` finished trials arrived (in index order)."""

    # ------------------------------------------------------------------------- helpers
    def completed(self) -> list[Trial]:
        """Completed trials in index order (penalized ones included: that is the penalty policy)."""
        return [t for i, t in sorted(self.finished.items()) if t.status == TrialStatus.COMPLETED]

    def observations(self, trials: Sequence[Trial] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, G)``: unit-cube inputs, objectives in minimization form, and outcome-constraint
        violations (``<= 0`` feasible), one row per completed trial."""
        trials = self.completed() if trials is None else list(trials)
        X = self.space.encode_many(t.params for t in trials)
        Y = self.objectives.to_minimization(
            np.array([t.values(self.objectives.names) for t in trials]).reshape(len(trials), -1))
        G = np.array([[c.violation(t.value(c.metric)) for c in self.objectives.outcome_constraints]
                      for t in trials]).reshape(len(trials), len(self.objectives.outcome_constraints))
        return X, Y, G

    def n_known(self, pending: Sequence[Trial]) -> int:
        """How many designs exist already (finished or pending): the position of the next one."""
        return len(self.finished) + len(pending)


def available_optimizers() -> list[str]:
    return plugins.available("optimizer")


def optimizer_class(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name`` (imported on first use)."""
    return plugins.load("optimizer", name)


def make_optimizer(name: str, space: Space, objectives: ObjectiveSet, *, seed: int = 0,
                   options: Mapping[str, Any] | None = None,
                   reference_point: np.ndarray | None = None) -> Optimizer:
    """Build the optimizer registered as ``name`` (``sobol``, ``nsga2``, ``nsga3``, ``mobo``...)."""
    return optimizer_class(name)(space, objectives, seed=seed, options=options,
                                 reference_point=reference_point)
