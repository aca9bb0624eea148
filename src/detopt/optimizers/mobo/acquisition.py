"""Acquisition functions of ``mobo`` and their optimization.

* ``qlognehvi`` (few objectives): noisy expected hypervolume improvement in log space. Its
  cost grows with the box decomposition of the Pareto front, exponential in the number of
  objectives; with 5+ objectives BoTorch's approximate decomposition is used (``alpha``).
* ``qlognparego`` (many objectives): noisy expected improvement of a random augmented
  Chebyshev scalarization. Cost is that of a single-objective acquisition, independent of the
  number of objectives; a fresh weight per proposal spreads the proposals over the front.
* ``qlognei``: a single objective.
* ``qlogpof`` (automatic, with an explicitly requested qLogNEHVI): while no result dominates the reference
  point, hypervolume improvement is zero almost everywhere and gives no direction; the
  probability that a design dominates the reference point (and meets the outcome
  constraints) is maximized instead, as Ax does.

Outcome constraints enter as constraint callables on the model's extra outputs (feasibility
weighted acquisition); pending points as ``X_pending`` (the acquisition integrates over their
unknown outcomes, so a proposal next to a pending point gains nothing).

Failed trials (an evaluation that raised, e.g. an overlapping geometry) have no outcomes to
model; once there are some, a separate GP fit to success (+1) / failure (-1) gives the
probability of success ``Φ(μ/σ)`` of a design, and the (log) acquisition becomes
``log a(x) + log P(success | x)`` (:class:`SuccessWeighted`; Gelbart et al., 2014, weight
the expected improvement by the probability of meeting an unknown constraint the same way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement, qLogProbabilityOfFeasibility
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.acquisition.multi_objective.parego import qLogNParEGO
from botorch.acquisition.multi_objective.utils import get_default_partitioning_alpha
from botorch.acquisition.objective import GenericMCObjective
from botorch.models.model import Model
from botorch.optim import optimize_acqf
from botorch.sampling import SobolQMCNormalSampler

from detopt.optimizers.mobo.model import DTYPE, FittedModel


def skip_fused_kernel() -> None:
    """Keep BoTorch from JIT-compiling its fused qLogNEHVI C++ kernel inside ``ask``.

    ``qLogNoisyExpectedHypervolumeImprovement.__init__`` compiles ``logei_fused.cpp`` with
    ninja the first time it runs in a process whose torch extension cache has no build of it
    (a fresh machine, container or CI job): measured 198 s on this 2-core machine under load,
    and the cause of the 36 s ``ask`` outliers of the dRICH demo (the first qLogNEHVI proposal,
    at ~28-41 results, when enough results are in the reference box). The pure-PyTorch path
    is ~20 % slower per qLogNEHVI proposal (1.61 / 1.91 s vs 2.07 / 2.09 s, 3 × 12, 60
    results). A kernel already loaded in the process is kept. Process-wide: BoTorch keeps the
    state in a module global.
    """
    from botorch.acquisition.multi_objective import logei

    if getattr(logei, "_C", None) is None and hasattr(logei, "_load_attempted"):
        logei._load_attempted = True


def choose_acquisition(requested: str, n_objectives: int, nehvi_max_objectives: int) -> str:
    """Resolve ``auto``: qLogNEI for one objective, qLogNEHVI up to ``nehvi_max_objectives``,
    qLogNParEGO above (bounded cost with many objectives)."""
    if requested != "auto":
        return requested
    if n_objectives == 1:
        return "qlognei"
    return "qlognehvi" if n_objectives <= nehvi_max_objectives else "qlognparego"


@dataclass
class AcquisitionSetup:
    """Everything an acquisition function needs besides the pending points.

    Attributes:
        kind: ``qlognehvi``, ``qlognparego`` or ``qlognei``.
        fitted: the model.
        X_baseline: training inputs (``n × d``).
        n_objectives, n_constraints: split of the model outputs.
        ref_point: hypervolume reference point in the model's (maximization) form.
        mc_samples: quasi-MC samples.
        success_model: GP of success (+1) / failure (-1), or ``None`` (no failures).
    """

    kind: str
    fitted: FittedModel
    X_baseline: torch.Tensor
    n_objectives: int
    n_constraints: int
    ref_point: torch.Tensor | None
    mc_samples: int
    success_model: Model | None = None
    success_exponent: float = 1.0

    def build(self, X_pending: torch.Tensor | None, weights: np.ndarray | None,
              seed: int, *, model: Model | None = None,
              X_baseline: torch.Tensor | None = None) -> AcquisitionFunction:
        """The acquisition function (``weights``: Chebyshev weights for ParEGO), weighted by
        the probability of success when a success model exists.

        Args:
            model, X_baseline: override the fitted model and the incumbents (the model
                conditioned on the designs in flight, and a baseline that contains them).
        """
        acqf = self._build(X_pending, weights, seed, model or self.fitted.model,
                           self.X_baseline if X_baseline is None else X_baseline)
        if self.success_model is None:
            return acqf
        return SuccessWeighted(acqf, self.success_model, self.success_exponent)

    def _build(self, X_pending: torch.Tensor | None, weights: np.ndarray | None,
               seed: int, model: Model, X_baseline: torch.Tensor) -> AcquisitionFunction:
        m, c = self.n_objectives, self.n_constraints
        sampler = SobolQMCNormalSampler(torch.Size([self.mc_samples]), seed=seed)
        constraints = [(lambda Z, j=j: Z[..., m + j]) for j in range(c)] or None
        multi = IdentityMCMultiOutputObjective(outcomes=list(range(m))) if c else None
        if self.kind == "qlognehvi":
            assert self.ref_point is not None
            return qLogNoisyExpectedHypervolumeImprovement(
                model=model, ref_point=self.ref_point, X_baseline=X_baseline,
                sampler=sampler, objective=multi, constraints=constraints,
                X_pending=X_pending, prune_baseline=True,
                alpha=get_default_partitioning_alpha(m), cache_root=True)
        if self.kind == "qlognparego":
            w = torch.tensor(weights, dtype=DTYPE) if weights is not None else None
            return qLogNParEGO(
                model=model, X_baseline=X_baseline, scalarization_weights=w,
                sampler=sampler, objective=multi, constraints=constraints,
                X_pending=X_pending, prune_baseline=True, cache_root=True)
        if self.kind == "qlogpof":
            assert self.ref_point is not None
            ref = self.ref_point
            reach = [(lambda Z, i=i: ref[i] - Z[..., i]) for i in range(m)]
            return qLogProbabilityOfFeasibility(
                model=model, constraints=reach + (constraints or []), sampler=sampler,
                X_pending=X_pending)
        if self.kind == "qlognei":
            single = GenericMCObjective(lambda Z, X=None: Z[..., 0]) if c else None
            return qLogNoisyExpectedImprovement(
                model=model, X_baseline=X_baseline, sampler=sampler,
                objective=single, constraints=constraints, X_pending=X_pending,
                prune_baseline=True, cache_root=True)
        raise ValueError(f"unknown acquisition {self.kind!r}")


class SuccessWeighted(AcquisitionFunction):
    """``log a(X) + k Σ_q log Φ(μ_s(x_q) / σ_s(x_q))``: a log-acquisition times the probability
    that every point of ``X`` evaluates without failing (to the power ``k``).

    ``μ_s, σ_s`` are the posterior mean and standard deviation of the latent success GP (fit to
    +1 / -1 labels); ``Φ(μ/σ)`` is the posterior probability that it is positive, ~1 next to
    completed trials, ~0 next to failed ones and a prior guess (from the share of failures)
    far from both.
    """

    def __init__(self, acqf: AcquisitionFunction, success_model: Model, exponent: float = 1.0):
        super().__init__(model=acqf.model)
        self.acqf = acqf
        self.success_model = success_model
        self.exponent = exponent

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        log_p = log_success_probability(self.success_model, X).sum(dim=-1)
        return self.acqf(X) + self.exponent * log_p


def log_success_probability(model: Model, X: torch.Tensor) -> torch.Tensor:
    """``log Φ(μ/σ)`` of the success GP at ``X`` (``... × q × d`` → ``... × q``)."""
    posterior = model.posterior(X)
    mean = posterior.mean[..., 0]
    std = posterior.variance[..., 0].clamp_min(1e-12).sqrt()
    return torch.special.log_ndtr(mean / std)


def inequality_constraints(A: np.ndarray, b: np.ndarray
                           ) -> list[tuple[torch.Tensor, torch.Tensor, float]] | None:
    """``A @ u <= b`` as BoTorch's ``sum(coef_i * x_i) >= rhs`` tuples."""
    out = []
    for row, bound in zip(A, b):
        idx = np.flatnonzero(row)
        if len(idx) == 0:
            continue
        out.append((torch.tensor(idx, dtype=torch.long),
                    torch.tensor(-row[idx], dtype=DTYPE), float(-bound)))
    return out or None


class Deadline:
    """A point in time after which a proposal stops optimizing (``None``: never)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.start = time.perf_counter()
        self.end = None if seconds is None else self.start + seconds

    def passed(self) -> bool:
        return self.end is not None and time.perf_counter() > self.end

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


class _OutOfTime(Exception):
    """Raised inside the acquisition optimizer when the deadline has passed."""


class BestSoFar(AcquisitionFunction):
    """Wraps an acquisition: remembers the best single points it was evaluated at and, once
    the deadline has passed (and something is remembered), stops the optimizer that calls it.

    Every evaluation the optimizer makes goes through ``forward`` (the scoring of the raw
    starts first, then the L-BFGS-B iterates), so what is remembered is the best candidate
    found so far, whatever stage the optimization is in.
    """

    def __init__(self, acqf: AcquisitionFunction, deadline: Deadline, keep: int = 8):
        super().__init__(model=acqf.model)
        self.acqf = acqf
        self.deadline = deadline
        self.keep = keep
        self.best_X = torch.empty(0)
        self.best_values = torch.empty(0)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        values = self.acqf(X)
        if X.shape[-2] == 1:  # q = 1: remember the best points
            rows = X.detach().reshape(-1, X.shape[-1])
            vals = values.detach().reshape(-1)
            if self.best_X.numel():
                rows = torch.cat([self.best_X, rows])
                vals = torch.cat([self.best_values, vals])
            order = torch.argsort(vals, descending=True)[:self.keep]
            self.best_X, self.best_values = rows[order], vals[order]
        if self.deadline.passed() and self.best_X.numel():
            raise _OutOfTime
        return values


def optimize(acqf: AcquisitionFunction, bounds: np.ndarray, *, num_restarts: int,
             raw_samples: int, max_iter: int,
             constraints: list[tuple[torch.Tensor, torch.Tensor, float]] | None,
             raw: np.ndarray | None = None,
             deadline: Deadline | None = None) -> tuple[np.ndarray, bool]:
    """Maximize ``acqf`` over ``bounds`` (``2 × d``) for one point.

    Args:
        raw: candidate starting points (rows); the ``num_restarts`` best by acquisition value
            start the gradient runs. ``None``: BoTorch's quasi-random raw samples.
        deadline: when it passes, the optimization stops and the best points evaluated so
            far are returned.

    Returns:
        ``(optima, out_of_time)``: the local optima (rows) best first, so that a caller can
        fall back to the next one when rounding makes the best a duplicate or infeasible;
        ``out_of_time`` when the deadline stopped the optimization (the rows are then the
        best points evaluated).
    """
    tracked = BestSoFar(acqf, deadline or Deadline(None))
    bounds_t = torch.tensor(bounds, dtype=DTYPE)
    try:
        starts = None
        if raw is not None:
            with torch.no_grad():
                X_raw = torch.tensor(raw, dtype=DTYPE).unsqueeze(-2)
                values = torch.cat([tracked(chunk) for chunk in X_raw.split(256)])
            best = torch.argsort(values, descending=True)[:num_restarts]
            starts = X_raw[best]
        X, values = optimize_acqf(
            tracked, bounds=bounds_t, q=1, num_restarts=num_restarts,
            raw_samples=None if starts is not None else raw_samples,
            options={"maxiter": max_iter, "batch_limit": num_restarts},
            inequality_constraints=constraints, return_best_only=False,
            batch_initial_conditions=starts, retry_on_optimization_warning=False)
    except _OutOfTime:
        return tracked.best_X.numpy(), True
    order = torch.argsort(values.reshape(-1), descending=True)
    return X.reshape(X.shape[0], -1)[order].detach().numpy(), False


def perturbation_starts(center: np.ndarray, bounds: np.ndarray, n: int,
                        rng: np.random.Generator, n_perturbed: float = 20.0) -> np.ndarray:
    """``n`` points that copy ``center`` except on a random subset of about ``n_perturbed``
    coordinates, drawn uniformly in ``bounds`` (TuRBO/MORBO's candidate scheme).

    Started from such points, the gradient search moves only coordinates the model finds
    relevant; coordinates it cannot resolve yet keep the good values of the center instead of
    being re-drawn at random, which in high dimension undoes most of what was found.
    """
    d = len(center)
    prob = min(1.0, n_perturbed / d)
    mask = rng.random((n, d)) < prob
    mask[np.arange(n), rng.integers(0, d, n)] = True  # at least one coordinate moves
    uniform = bounds[0] + rng.random((n, d)) * (bounds[1] - bounds[0])
    return np.where(mask, uniform, np.clip(center, bounds[0], bounds[1]))


def chebyshev_center(Y: np.ndarray, feasible: np.ndarray, violation: np.ndarray,
                     weights: np.ndarray) -> int:
    """Row of the observed point that is best for the Chebyshev scalarization with
    ``weights`` (objectives normalized to the observed range, minimization form); the least
    violating point when none is feasible."""
    if not np.any(feasible):
        return int(np.argmin(violation))
    idx = np.flatnonzero(feasible)
    Yf = Y[idx]
    lo, hi = Yf.min(axis=0), Yf.max(axis=0)
    norm = (Yf - lo) / np.where(hi > lo, hi - lo, 1.0)
    score = np.max(weights * norm, axis=1) + 0.05 * np.sum(weights * norm, axis=1)
    return int(idx[np.argmin(score)])
