"""``mobo``: multi-objective Bayesian optimization on BoTorch/GPyTorch that stays fast at
5 objectives × 100 parameters.

How a proposal is made (details and the measurements behind each default: docs/mobo.md):

1. Until ``n_initial`` results exist, designs come from the space's scrambled Sobol stream
   (design k is Sobol point k).
2. ``tell`` fits one batched GP (objectives + outcome constraints) on at most
   ``max_train_points`` results, warm-starting the hyperparameters and re-optimizing them only
   every ``refit_every`` results; it also updates the trust region. Once a trial has FAILED,
   a second GP models success / failure of every finished trial (``failure_model``). The
   fitted models are state derived from ``tell`` only.
3. ``ask`` builds the acquisition (qLogNEHVI with few objectives, qLogNParEGO with many, or the
   one configured), with pending trials as ``X_pending``, weighted by the probability of
   success when failures were seen, and optimizes it with L-BFGS-B (or
   SLSQP under linear constraints) inside the trust region when one is used. Proposals are
   rounded to valid int/choice values and checked against the linear constraints, the
   space's design check, the pending designs and the finished ones (an optimum that fails the
   design check is pulled back to the check's boundary); ``ask`` changes nothing, and the
   same seed, told data and pending trials give the same proposals.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from detopt.objectives import ObjectiveSet
from detopt.optimizers.base import Optimizer, Proposal
from detopt.optimizers.mobo.acquisition import (
    AcquisitionSetup,
    Deadline,
    chebyshev_center,
    choose_acquisition,
    inequality_constraints,
    optimize,
    perturbation_starts,
    skip_fused_kernel,
)
from detopt.optimizers.mobo.candidates import (
    design_key,
    discrete_neighbours,
    first_valid,
    pull_back,
    sobol_fallback,
)
from detopt.optimizers.mobo.data import (
    TrainingData,
    inferred_reference,
    select_training_points,
    success_rows,
    variances,
)
from detopt.optimizers.mobo.model import DTYPE, FittedModel, fit_model
from detopt.optimizers.mobo.options import MOBOOptions
from detopt.optimizers.mobo.pending import InFlight
from detopt.optimizers.mobo.thompson import thompson_ranking, uniform_candidates
from detopt.optimizers.mobo.trust_region import TrustRegion
from detopt.space import Space
from detopt.trial import Trial, TrialStatus

__all__ = ["MOBOOptimizer", "MOBOOptions"]

log = logging.getLogger("detopt")


class MOBOOptimizer(Optimizer):
    """Multi-objective Bayesian optimization (batched GP + qLogNEHVI / qLogNParEGO).

    Args:
        space: the design space (float, int, choice parameters; linear constraints).
        objectives: objectives and outcome constraints.
        seed: makes proposals reproducible.
        options: see :class:`MOBOOptions`.
    """

    name = "mobo"
    Options = MOBOOptions

    def __init__(self, space: Space, objectives: ObjectiveSet, **kwargs: Any):
        super().__init__(space, objectives, **kwargs)
        o: MOBOOptions = self.options  # type: ignore[assignment]
        d = space.dim
        if not o.fused_kernel:
            skip_fused_kernel()
        self.n_initial = o.n_initial or min(2 * (d + 1), 20)
        self.acquisition = choose_acquisition(o.acquisition, len(objectives),
                                              o.nehvi_max_objectives)
        if self.acquisition == "qlognei" and len(objectives) != 1:
            self.acquisition = "qlognparego"  # qLogNEI is single-objective only
        self.uses_trust_region = o.trust_region == "on" or (
            o.trust_region == "auto" and d >= o.trust_region_min_dim)
        # measured on DTLZ2 3 x 12 (seeds 0, 1, 200 evaluations): HVn 0.47 / 0.42 with
        # 'inverse', 0.25 / 0.09 with 'turbo'; 5 x 100 was measured with 'turbo'
        self.tr_weighting = o.tr_weighting if o.tr_weighting != "auto" else (
            "inverse" if len(objectives) <= 3 else "turbo")
        self.uses_perturbation = o.perturbation_starts == "on" or (
            o.perturbation_starts == "auto" and d >= o.trust_region_min_dim)
        self.trust_region = TrustRegion(
            length_init=o.tr_length_init, length_min=o.tr_length_min,
            length_max=o.tr_length_max, success_tolerance=o.tr_success_tolerance,
            failure_tolerance=o.tr_failure_tolerance or int(np.clip(d // 10, 3, 10)),
            success_threshold=o.tr_success_threshold)
        self._sobol = space.sobol(self.seed)
        A, b = space.linear_constraints_unit()
        self._linear = inequality_constraints(A, b)
        self._fitted: FittedModel | None = None
        self._data: TrainingData | None = None
        self._success: FittedModel | None = None  # GP of success / failure (failure_model)
        self._n_results = 0  # COMPLETED results told so far
        self._n_failed = 0  # FAILED trials told so far
        self._out_of_time = 0  # proposals that reached proposal_time_budget
        self._last_ask: dict[str, Any] = {}
        #: seconds per proposal of the recent acquisition-optimizing asks (for keep_up)
        self._acquisition_seconds: deque[float] = deque(maxlen=10)

    # ------------------------------------------------------------------------------ tell
    def _learn(self, new: list[Trial]) -> None:
        with _warnings_to_log("tell"):
            self._learn_quietly(new)

    def _learn_quietly(self, new: list[Trial]) -> None:
        done = [t for t in new if t.status == TrialStatus.COMPLETED]
        ref = self._reference_point()
        for t in new:  # trust-region bookkeeping, in the order results arrive
            y = None
            if t.status == TrialStatus.COMPLETED:
                _, Y, G = self.observations([t])
                if G.size == 0 or np.all(G <= 0):
                    y = Y[0]
            self.trust_region.observe(y, ref, count=self._n_results >= self.n_initial)
            self._n_results += t.status == TrialStatus.COMPLETED
        failed = sum(t.status == TrialStatus.FAILED for t in new)
        self._n_failed += failed
        if self._n_results < self.n_initial:
            return
        if done:
            self._refit()
        if self._n_failed and self.options.failure_model == "auto" and (
                failed or self._success is None or done):
            self._refit_success()

    def _refit(self) -> None:
        trials = self.completed()
        X, Y, G = self.observations(trials)
        data = TrainingData(X, Y, G, variances(trials, self.objectives),
                            tuple(t.index for t in trials))
        data = select_training_points(data, self.options.max_train_points)
        try:
            with self._torch_context(seed=len(trials)):
                self._fitted = fit_model(data, self._fitted, n_results=len(trials),
                                         refit_every=self.options.refit_every,
                                         max_iter=self.options.fit_max_iter,
                                         max_iter_cold=self.options.fit_max_iter_cold,
                                         cold_every=self.options.cold_refit_every)
            self._data = data
        except Exception:  # a failed fit must not break the study loop
            log.exception("mobo: fitting the model failed; proposing Sobol designs until the "
                          "next result")
            self._fitted, self._data = None, None

    def _refit_success(self) -> None:
        """Fit the success GP: every finished trial, +1 if it COMPLETED, -1 if it FAILED.

        Beyond ``max_train_points`` trials, the most recent failures (at most half of the
        cap) and the most recent successes are kept: failed regions must stay known.
        """
        trials = [t for _, t in sorted(self.finished.items())]
        ok = np.array([t.status == TrialStatus.COMPLETED for t in trials])
        rows = success_rows(ok, self.options.max_train_points)
        X = self.space.encode_many(trials[i].params for i in rows)
        label = np.where(ok[rows], 1.0, -1.0)[:, None]
        data = TrainingData(X, -label, np.zeros((len(rows), 0)), None,
                            tuple(trials[i].index for i in rows))  # targets() = -Y = label
        try:
            with self._torch_context(seed=2**20 + len(trials)):
                self._success = fit_model(data, self._success, n_results=len(trials),
                                          refit_every=self.options.refit_every,
                                          max_iter=self.options.fit_max_iter,
                                          max_iter_cold=self.options.fit_max_iter_cold,
                                          cold_every=self.options.cold_refit_every)
        except Exception:  # proposals go on without the failure model
            log.exception("mobo: fitting the failure model failed; proposals ignore failures "
                          "until the next result")
            self._success = None

    # ------------------------------------------------------------------------------- ask
    def ask(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        """``n`` designs: Sobol during the initial design, then model-based proposals that
        account for ``pending`` (never duplicating them or finished designs)."""
        with _warnings_to_log("ask"):
            return self._ask_quietly(n, pending)

    def _ask_quietly(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        position = self.n_known(pending)
        if self._fitted is None or self._data is None or self._n_results < self.n_initial:
            return [Proposal(self._sobol.params(position + i), "sobol") for i in range(n)]
        taken = {design_key(t.params) for t in pending} | \
            {design_key(t.params) for t in self.finished.values()}
        rng = np.random.default_rng([self.seed, position])
        setup = self._setup()
        thompson = (self.options.thompson_batch_min is not None and
                    n >= self.options.thompson_batch_min) or self._too_slow(len(pending) + n)
        started = time.perf_counter()
        in_flight = self._in_flight(len(pending) + n, pending, thompson)
        out: list[dict[str, Any]] = []
        out_of_time = 0
        with self._torch_context(seed=position):
            for _ in range(n):
                deadline = Deadline(self.options.proposal_time_budget)
                weights = rng.dirichlet(np.ones(len(self.objectives)))
                if thompson:
                    params = self._thompson_proposal(in_flight, weights, rng, taken)
                else:
                    params, late = self._acquisition_proposal(setup, in_flight, weights, rng,
                                                              taken, deadline)
                    out_of_time += late
                if params is None:
                    params = Proposal(sobol_fallback(self._sobol, position + len(out), taken),
                                      "sobol")
                taken.add(design_key(params))
                in_flight.add([self.space.encode(params)])
                out.append(params)
        if not thompson:
            self._acquisition_seconds.append((time.perf_counter() - started) / n)
        self._last_ask = {"n": n, "pending": len(pending), "method": "thompson" if thompson
                          else f"{setup.kind}/{in_flight.strategy}", "out_of_time": out_of_time}
        self._out_of_time += out_of_time
        if out_of_time:
            log.warning("mobo: %d of %d proposals reached proposal_time_budget (%.3g s); the "
                        "best candidate evaluated by then was proposed", out_of_time, n,
                        self.options.proposal_time_budget)
        return out

    def _too_slow(self, in_flight: int) -> bool:
        """``keep_up``: whether acquisition proposals take longer than the workers need to
        finish a trial each (median trial run time over the designs in flight), so that
        Thompson sampling (one posterior sample per proposal) must keep them busy instead.

        Needs three timed trials and one timed acquisition ask; trials without start and
        finish times (benchmarks, tests) never trigger it.
        """
        if not self.options.keep_up or not self._acquisition_seconds:
            return False
        durations = [d for t in self.finished.values() if (d := t.duration) is not None]
        if len(durations) < 3:
            return False
        allowed = float(np.median(durations)) / max(in_flight, 1)
        return float(np.median(self._acquisition_seconds)) > allowed

    def _in_flight(self, count: int, pending: Sequence[Trial], thompson: bool) -> InFlight:
        """How this ask accounts for the ``count`` designs in flight (see :mod:`.pending`)."""
        assert self._fitted is not None and self._data is not None
        strategy = self.options.pending_strategy
        if thompson:
            strategy = "believer"  # Thompson samples need a model that knows the batch
        elif strategy == "auto":
            strategy = "joint" if count <= self.options.joint_max_pending else "believer"
        return InFlight(strategy, self._fitted, self._data,
                        [self.space.encode(t.params) for t in pending], len(self.objectives))

    def _acquisition_proposal(self, setup: AcquisitionSetup, in_flight: InFlight,
                              weights: np.ndarray, rng: np.random.Generator, taken: set,
                              deadline: Deadline) -> tuple[dict[str, Any] | None, bool]:
        """One proposal by optimizing the acquisition: ``(design or None, out of time)``."""
        cap = self.options.nehvi_max_baseline if setup.kind == "qlognehvi" else \
            self.options.max_baseline_points
        acqf = setup.build(in_flight.X_pending(), weights, seed=int(rng.integers(2**31)),
                           model=in_flight.model,
                           X_baseline=torch.tensor(in_flight.baseline(cap), dtype=DTYPE))
        bounds, raw = self._region(weights, rng)
        candidates, late = optimize(acqf, bounds, num_restarts=self.options.num_restarts,
                                    raw_samples=self.options.raw_samples,
                                    max_iter=self.options.acq_max_iter,
                                    constraints=self._linear, raw=raw, deadline=deadline)
        params = first_valid(self.space, candidates, taken, self._avoid(in_flight))
        if params is None:  # rounded onto designs already taken: the best discrete neighbour
            near = discrete_neighbours(self.space, candidates[0])
            if len(near):
                params = first_valid(self.space, near[np.argsort(-_scorer(acqf)(near))], taken)
        if params is None and self.space.check is not None:
            params = pull_back(self.space, _scorer(acqf), candidates[0],
                               self._pull_back_pool(bounds, raw, rng), taken)
        return params, late

    def _thompson_proposal(self, in_flight: InFlight, weights: np.ndarray,
                           rng: np.random.Generator, taken: set) -> dict[str, Any] | None:
        """One proposal by Thompson sampling at candidates in this proposal's region."""
        assert self._data is not None
        bounds, _ = self._region(weights, rng, starts=0)
        k = self.options.thompson_candidates
        if self.uses_perturbation and self._linear is None:
            center = self._center(weights)
            pool = perturbation_starts(center, bounds, k, rng,
                                       n_perturbed=self.options.perturbed_dims)
        else:
            A, b = self.space.linear_constraints_unit()
            pool = uniform_candidates(bounds, k, rng, A, b)
        data = self._data
        Y = data.Y[data.feasible] if np.any(data.feasible) else data.Y
        ranked = thompson_ranking(in_flight.model, pool, weights,
                                  n_objectives=len(self.objectives), Y_observed=Y,
                                  success_model=None if self._success is None
                                  else self._success.model)
        params = first_valid(self.space, ranked, taken, self._avoid(in_flight))
        if params is None and self.space.check is not None:
            return None  # every candidate fails the design check: a Sobol design instead
        return params

    # ------------------------------------------------------------------------- helpers
    def describe(self) -> dict[str, Any]:
        """The resolved strategy (for logs, reports and tests)."""
        return {"acquisition": self.acquisition, "n_initial": self.n_initial,
                "current_acquisition": self.current_acquisition(),
                "trust_region": self.uses_trust_region,
                "perturbation_starts": self.uses_perturbation,
                "trust_region_weighting": self.tr_weighting,
                "trust_region_length": self.trust_region.length,
                "trust_region_restarts": self.trust_region.restarts,
                "train_points": None if self._data is None else self._data.n,
                "failed_trials": self._n_failed,
                "failure_model": self._success is not None,
                "out_of_time_proposals": self._out_of_time,
                "last_ask": dict(self._last_ask)}

    def current_acquisition(self) -> str:
        """The acquisition the next proposal uses.

        Hypervolume improvement is zero for every design outside the reference box, so
        qLogNEHVI gives no direction until results lie inside it (measured on DTLZ2 3 × 12:
        with one result in the box, qLogNEHVI made no progress in 80 proposals). Until
        ``nehvi_min_in_box`` feasible results dominate the reference point, ``auto`` uses
        qLogNParEGO, whose scalarization is informative everywhere; an explicitly requested
        qLogNEHVI uses the probability of reaching the box (``qlogpof``, as Ax does) until
        one result is inside.
        """
        kind = self.acquisition
        ref = self._reference_point()
        if kind != "qlognehvi" or ref is None or self._data is None:
            return kind
        inside = self._n_in_box(ref)
        if self.options.acquisition == "auto":
            if inside >= self.options.nehvi_min_in_box:
                return kind
            return kind if self.options.before_box == "adaptive_reference" else "qlognparego"
        return kind if inside >= 1 else "qlogpof"

    def _n_in_box(self, ref: np.ndarray) -> int:
        """Feasible results that dominate the reference point."""
        assert self._data is not None
        Y = self._data.Y[self._data.feasible]
        return int(np.sum(np.all(Y < ref, axis=1))) if len(Y) else 0

    def _box_reached(self, ref: np.ndarray) -> bool:
        return self.options.acquisition != "auto" or \
            self._n_in_box(ref) >= self.options.nehvi_min_in_box

    def _setup(self) -> AcquisitionSetup:
        assert self._fitted is not None and self._data is not None
        ref = self._reference_point()
        if self.acquisition == "qlognehvi" and ref is None:
            ref = inferred_reference(self._data)
        kind = self.current_acquisition()
        if kind == "qlognehvi" and ref is not None and not self._box_reached(ref):
            ref = np.maximum(ref, inferred_reference(self._data, front_only=True))
        cap = self.options.nehvi_max_baseline if kind == "qlognehvi" else \
            self.options.max_baseline_points  # box decompositions grow with the front
        baseline = select_training_points(self._data, cap)
        return AcquisitionSetup(
            kind=kind, fitted=self._fitted,
            X_baseline=torch.tensor(baseline.X, dtype=DTYPE),
            n_objectives=len(self.objectives),
            n_constraints=len(self.objectives.outcome_constraints),
            ref_point=None if ref is None else torch.tensor(-ref, dtype=DTYPE),
            mc_samples=self.options.nehvi_mc_samples if kind == "qlognehvi"
            else self.options.mc_samples,
            success_model=None if self._success is None else self._success.model,
            success_exponent=self.options.success_exponent)

    def _reference_point(self) -> np.ndarray | None:
        return self.reference_point  # the study's, resolved once (see Optimizer)

    def _avoid(self, in_flight: InFlight) -> np.ndarray:
        """Unit-cube rows a proposal must keep a distance from: the designs in flight and the
        training data."""
        assert self._data is not None
        return np.vstack([self._data.X, *in_flight.X]) if in_flight.X else self._data.X

    def _center(self, weights: np.ndarray) -> np.ndarray:
        """The observed point that is best for the Chebyshev ``weights``."""
        data = self._data
        assert data is not None
        violation = np.maximum(data.G, 0).sum(axis=1) if data.G.size else np.zeros(data.n)
        return data.X[chebyshev_center(data.Y, data.feasible, violation, weights)]

    def _region(self, weights: np.ndarray, rng: np.random.Generator, starts: int | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Where the acquisition is optimized: ``(bounds, raw starting points)``.

        The *center* is the observed point that is best for this proposal's Chebyshev
        weights. Bounds: the trust region around it, or the whole cube. Starts (``starts``
        of them, default ``raw_samples``): copies of the center with a few coordinates
        re-drawn within the bounds (``perturbation_starts``), or BoTorch's quasi-random
        points (always under linear constraints, where BoTorch samples the polytope itself).
        """
        d = self.space.dim
        cube = np.vstack([np.zeros(d), np.ones(d)])
        local = self.uses_trust_region or self.uses_perturbation
        if not local:
            return cube, None
        assert self._data is not None and self._fitted is not None
        center = self._center(weights)
        bounds = cube
        if self.uses_trust_region and not (self.options.global_nehvi and
                                           self.current_acquisition() == "qlognehvi"):
            bounds = self.trust_region.bounds(
                center, self._fitted.lengthscales(len(self.objectives)), self.tr_weighting)
        if self._linear is not None or not self.uses_perturbation or starts == 0:
            return bounds, None
        return bounds, perturbation_starts(center, bounds, starts or self.options.raw_samples,
                                           rng, n_perturbed=self.options.perturbed_dims)

    def _pull_back_pool(self, bounds: np.ndarray, raw: np.ndarray | None,
                        rng: np.random.Generator) -> np.ndarray:
        """Starting points of :func:`pull_back`: the candidate starts (random points in
        ``bounds`` when BoTorch drew its own) and the designs already run inside ``bounds``
        (they passed the check)."""
        pool = raw if raw is not None else \
            bounds[0] + rng.random((self.options.raw_samples, self.space.dim)) * (bounds[1] - bounds[0])
        if self._data is not None:
            inside = np.all((self._data.X >= bounds[0]) & (self._data.X <= bounds[1]), axis=1)
            pool = np.vstack([pool, self._data.X[inside]])
        return pool

    @contextlib.contextmanager
    def _torch_context(self, seed: int) -> Iterator[None]:
        """Fixed thread count and a private, seeded torch RNG (the global one is untouched)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(self.options.threads)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(np.random.SeedSequence([self.seed, seed]).generate_state(1)[0]))
                yield
        finally:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def _warnings_to_log(step: str) -> Iterator[None]:
    """Route the warnings raised inside ``step`` to the ``detopt`` logger at DEBUG level.

    BoTorch, GPyTorch and linear_operator warn about routine numerics (tiny noise rounded up,
    jitter added, iteration caps reached, a sparse-tensor notice) that mean nothing to the
    user of a study; printed to the terminal they would bury its output. Each distinct
    warning is logged once per step with its count (``detopt run -v`` does not show DEBUG;
    configure the ``detopt`` logger to see them). Exceptions are not touched: a fit that
    raises is still logged as an error and the study falls back to Sobol designs.

    ``warnings.catch_warnings`` swaps process-wide state; ``tell`` and ``ask`` run on the
    study's optimizer thread, so a warning from another thread during one of them is routed
    here too.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if not caught or not log.isEnabledFor(logging.DEBUG):
        return
    counts = Counter((w.category.__name__, str(w.message).splitlines()[0] if str(w.message)
                      else "") for w in caught)
    for (category, message), count in counts.items():
        log.debug("mobo %s: %s: %s (%d×)", step, category, message, count)


def _scorer(acqf: Any) -> Any:
    """Acquisition values of unit-cube rows (numpy in, numpy out)."""
    def score(rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return acqf(torch.tensor(rows, dtype=DTYPE).unsqueeze(-2)).numpy()
    return score
