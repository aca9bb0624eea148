"""NSGA-II and NSGA-III, made asynchronous (steady-state) with pymoo's operators.

pymoo's algorithms are generational: a generation's offspring must all be evaluated before
the next one exists, which is a batch barrier. Here the population is updated by survival
selection (pymoo's rank-and-crowding or reference-direction survival) every time trials
finish, and a free slot immediately gets an offspring of the current population (binary
tournament, SBX crossover, polynomial mutation; pymoo operators on the unit cube). Pending
trials are never duplicated; offspring that break a linear constraint are redrawn; outcome
constraints enter survival and tournaments as constraint violations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field
from pymoo.core.population import Population
from pymoo.core.problem import Problem as PymooProblem
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
from pymoo.util.ref_dirs import get_reference_directions

from detopt.objectives import ObjectiveSet
from detopt.optimizers.base import Optimizer, OptimizerOptions, Proposal
from detopt.space import Space
from detopt.trial import Trial


class NSGAOptions(OptimizerOptions):
    """Options of ``nsga2``."""

    pop_size: int | None = Field(None, ge=4, description=(
        "population size (default: max(20, 8 x objectives), rounded to even)"))
    n_initial: int | None = Field(None, ge=1, description="Sobol designs before evolution "
                                                          "(default: pop_size)")
    crossover_prob: float = Field(0.9, ge=0, le=1, description="SBX crossover probability")
    crossover_eta: float = Field(15.0, gt=0, description="SBX distribution index")
    mutation_eta: float = Field(20.0, gt=0, description="polynomial mutation distribution index")


class NSGA3Options(NSGAOptions):
    """Options of ``nsga3``."""

    pop_size: int | None = Field(None, ge=4, description=(
        "population size (default: the number of reference directions, rounded to even)"))
    partitions: int | None = Field(None, ge=1, description=(
        "Das-Dennis partitions of the reference directions (default by objectives: 2 -> 19, "
        "3 -> 12, 4 -> 8, 5 -> 6, more -> 4)"))


class NSGA2Optimizer(Optimizer):
    """Steady-state NSGA-II (pymoo's rank-and-crowding survival, SBX and polynomial mutation)."""

    name = "nsga2"
    Options = NSGAOptions

    def __init__(self, space: Space, objectives: ObjectiveSet, **kwargs: Any):
        super().__init__(space, objectives, **kwargs)
        self.pop_size = self.options.pop_size or self._default_pop_size()
        self.n_initial = self.options.n_initial or self.pop_size
        n_constr = len(objectives.outcome_constraints)
        self._problem = PymooProblem(n_var=space.dim, n_obj=len(objectives),
                                     n_ieq_constr=n_constr, xl=0.0, xu=1.0)
        self._survival = self._make_survival()
        self._population = Population()
        self._sobol = space.sobol(self.seed)

    # --------------------------------------------------------------------------- policy
    def _default_pop_size(self) -> int:
        return max(20, 8 * len(self.objectives)) // 2 * 2

    def _make_survival(self) -> Any:
        return RankAndCrowding()

    # ----------------------------------------------------------------------------- learn
    def _learn(self, new: list[Trial]) -> None:
        done = [t for t in new if t.status.value == "completed"]
        if not done:
            return
        X, Y, G = self.observations(done)
        cv = np.maximum(G, 0.0).sum(axis=1) if G.shape[1] else np.zeros(len(done))
        fresh = Population.new("X", X, "F", Y, "G", G if G.shape[1] else np.zeros((len(done), 0)))
        fresh.set("CV", cv[:, None])
        merged = Population.merge(self._population, fresh) if len(self._population) else fresh
        rng = np.random.default_rng([self.seed, len(self.finished), 7])
        self._population = self._survival.do(self._problem, merged, n_survive=self.pop_size,
                                             random_state=rng)

    # ------------------------------------------------------------------------------- ask
    def ask(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        start = self.n_known(pending)
        if start < self.n_initial or len(self._population) < 2:
            initial = min(n, max(0, self.n_initial - start)) or n
            out: list[dict[str, Any]] = [Proposal(self._sobol.params(start + i), "sobol")
                                         for i in range(initial)]
            if len(out) < n:
                out += self._offspring(n - len(out), pending, start + len(out))
            return out
        return self._offspring(n, pending, start)

    def _offspring(self, n: int, pending: Sequence[Trial], position: int) -> list[dict[str, Any]]:
        if len(self._population) < 2:  # nothing to evolve yet (e.g. all trials failed)
            return [Proposal(self._sobol.params(position + i), "sobol") for i in range(n)]
        rng = np.random.default_rng([self.seed, position])
        taken = {_key(t.params) for t in pending} | {_key(t.params) for t in self.finished.values()}
        out: list[dict[str, Any]] = []
        for _attempt in range(50):
            for x in self._mate(max(2, n - len(out)), rng):
                params = self.space.decode(x)
                key = _key(params)
                if key in taken or not self.space.is_feasible(params):
                    continue
                taken.add(key)
                out.append(params)
                if len(out) == n:
                    return out
        # a converged population in a small discrete space: fill with fresh Sobol designs
        probe = position
        while len(out) < n:
            params = self._sobol.params(probe)
            probe += 1
            if _key(params) not in taken:
                taken.add(_key(params))
                out.append(Proposal(params, "sobol"))
        return out

    def _mate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        pop = self._population
        n_matings = (n + 1) // 2
        parents = np.array([[self._tournament(rng), self._tournament(rng)] for _ in range(n_matings)])
        crossover = SBX(prob=self.options.crossover_prob, eta=self.options.crossover_eta)
        children = crossover.do(self._problem, pop, parents, random_state=rng)
        children = PM(eta=self.options.mutation_eta).do(self._problem, children, random_state=rng)
        return np.clip(children.get("X"), 0.0, 1.0)

    def _tournament(self, rng: np.random.Generator) -> int:
        """Binary tournament: lower constraint violation, then lower rank, then more crowding."""
        a, b = rng.choice(len(self._population), size=2, replace=False)
        return a if self._better(a, b, rng) else b

    def _better(self, a: int, b: int, rng: np.random.Generator) -> bool:
        pa, pb = self._population[a], self._population[b]
        cva, cvb = float(pa.CV[0]), float(pb.CV[0])
        if cva != cvb:
            return cva < cvb
        ra, rb = pa.get("rank"), pb.get("rank")
        if ra is not None and rb is not None and ra != rb:
            return ra < rb
        ca, cb = pa.get("crowding"), pb.get("crowding")
        if ca is not None and cb is not None and ca != cb:
            return ca > cb
        return bool(rng.random() < 0.5)


class NSGA3Optimizer(NSGA2Optimizer):
    """Steady-state NSGA-III with Das-Dennis reference directions; suited to 3+ objectives.

    The population size is the number of reference directions (rounded up to even).
    """

    name = "nsga3"
    Options = NSGA3Options

    def _partitions(self) -> int:
        if self.options.partitions:
            return self.options.partitions
        m = len(self.objectives)
        return {1: 20, 2: 19, 3: 12, 4: 8, 5: 6}.get(m, 4)

    def _default_pop_size(self) -> int:
        self._ref_dirs = get_reference_directions("das-dennis", len(self.objectives),
                                                  n_partitions=self._partitions())
        return max(4, (len(self._ref_dirs) + 1) // 2 * 2)

    def _make_survival(self) -> Any:
        from pymoo.algorithms.moo.nsga3 import ReferenceDirectionSurvival

        if not hasattr(self, "_ref_dirs"):
            self._default_pop_size()
        return ReferenceDirectionSurvival(self._ref_dirs)


def _key(params: dict[str, Any]) -> tuple[Any, ...]:
    """Hashable identity of a design (floats rounded to ignore encoding noise)."""
    return tuple((k, round(v, 12) if isinstance(v, float) else v) for k, v in sorted(params.items()))
