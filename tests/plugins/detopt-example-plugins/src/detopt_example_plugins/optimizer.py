"""An optimizer plugin: a scrambled Halton sequence (a space-filling baseline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from scipy.stats import qmc

from detopt.optimizers.base import Optimizer, OptimizerOptions, Proposal


class HaltonOptions(OptimizerOptions):
    """Options of the ``halton`` optimizer."""

    scramble: bool = Field(True, description="scramble the sequence (seeded)")


class HaltonOptimizer(Optimizer):
    """Design k is point k of a Halton sequence; infeasible points are skipped."""

    name = "halton"
    Options = HaltonOptions

    def ask(self, n: int, pending: Sequence[Any]) -> list[dict[str, Any]]:
        start = self.n_known(pending)
        sampler = qmc.Halton(self.space.dim, scramble=self.options.scramble, seed=self.seed)
        points = sampler.random(start + 50 * n + 50)[start:]
        out = [self.space.decode(u) for u in points]
        feasible = [p for p in out if self.space.is_feasible(p)][:n]
        return [Proposal(p, "halton") for p in feasible]
