"""Space-filling baselines: scrambled Sobol (quasi-random) and uniform random sampling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from detopt.objectives import ObjectiveSet
from detopt.optimizers.base import Optimizer
from detopt.space import Space
from detopt.trial import Trial


class SobolOptimizer(Optimizer):
    """Hands out the points of a scrambled Sobol sequence in order, skipping infeasible ones.

    The k-th design of the study is always Sobol point k, so a resumed study continues the
    same sequence and a discarded proposal is proposed again.
    """

    name = "sobol"

    def __init__(self, space: Space, objectives: ObjectiveSet, **kwargs: Any):
        super().__init__(space, objectives, **kwargs)
        self._stream = space.sobol(self.seed)

    def ask(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        start = self.n_known(pending)
        return [self._stream.params(start + i) for i in range(n)]


class RandomOptimizer(Optimizer):
    """Uniform random designs (rejection of infeasible ones); a baseline for benchmarks."""

    name = "random"

    def ask(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, self.n_known(pending)])
        out: list[dict[str, Any]] = []
        for _ in range(1000 * max(n, 1)):
            params = self.space.decode(rng.random(self.space.dim))
            if self.space.is_feasible(params):
                out.append(params)
                if len(out) == n:
                    break
        return out or self.space.sample(n, seed=self.seed + self.n_known(pending))
