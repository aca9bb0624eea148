"""Options of the ``mobo`` optimizer (every knob settable from ``optimizer.options`` in YAML).

Defaults were chosen by measurement on DTLZ2 (3 × 12 and 5 × 100); docs/mobo.md gives the
numbers behind each one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from detopt.optimizers.base import OptimizerOptions

Acquisition = Literal["auto", "qlognehvi", "qlognparego", "qlognei"]
Switch = Literal["auto", "on", "off"]


class MOBOOptions(OptimizerOptions):
    """Settings of :class:`detopt.optimizers.mobo.MOBOOptimizer`."""

    # ----------------------------------------------------------------- initial design
    n_initial: int | None = Field(
        None, ge=1, description="Sobol designs before the model takes over "
                                "(default: min(2·(d+1), 20) with d tunable parameters)")

    # -------------------------------------------------------------------- acquisition
    acquisition: Acquisition = Field(
        "auto", description="auto: qLogNEI for 1 objective, qLogNEHVI up to "
                            "nehvi_max_objectives, qLogNParEGO above")
    nehvi_max_objectives: int = Field(
        3, ge=1, description="auto uses qLogNEHVI up to this many objectives; its box "
                             "decompositions grow exponentially with the number of objectives")
    nehvi_min_in_box: int = Field(
        5, ge=1, description="auto: qLogNParEGO until this many feasible results dominate "
                             "the reference point, then qLogNEHVI")
    before_box: Literal["qlognparego", "adaptive_reference"] = Field(
        "qlognparego", description="auto, while fewer than nehvi_min_in_box results dominate "
                                   "the reference point: qLogNParEGO, or qLogNEHVI with an "
                                   "adaptive reference point (the nadir of the observed front "
                                   "plus 10 % of its range, never inside the real one)")
    max_baseline_points: int = Field(
        50, ge=2, description="at most this many observed points (best Pareto layers first) "
                              "serve as the acquisition's incumbents (X_baseline); its cost "
                              "grows with their number")
    nehvi_max_baseline: int = Field(
        16, ge=2, description="qLogNEHVI: at most this many observed points (best Pareto "
                              "layers first) enter the baseline whose box decompositions "
                              "dominate its cost")
    mc_samples: int = Field(64, ge=8, description="quasi-Monte-Carlo samples of the acquisition")
    nehvi_mc_samples: int = Field(16, ge=8, description="the same for qLogNEHVI, whose cost is "
                                                        "proportional to it")
    num_restarts: int = Field(2, ge=1, description="gradient restarts of the acquisition optimizer")
    raw_samples: int = Field(128, ge=8, description="random points scored to pick the restarts")
    acq_max_iter: int = Field(50, ge=1, description="L-BFGS-B iterations per restart")
    # ------------------------------------------------------------- batches, time budget
    pending_strategy: Literal["auto", "joint", "believer"] = Field(
        "auto", description="how a proposal accounts for the designs in flight (pending "
                            "trials, earlier proposals of the same ask): joint (the "
                            "acquisition's X_pending; cost grows with their number), "
                            "believer (the model conditioned on them at its mean; constant "
                            "cost); auto: joint up to joint_max_pending of them, else believer")
    joint_max_pending: int = Field(
        4, ge=0, description="pending_strategy auto: joint up to this many designs in flight")
    thompson_batch_min: int | None = Field(
        None, ge=1, description="an ask for at least this many proposals draws them by Thompson "
                              "sampling (one posterior sample at thompson_candidates designs "
                              "per proposal) instead of optimizing the acquisition; "
                              "null: never")
    keep_up: bool = Field(
        True, description="when optimizing the acquisition takes longer per proposal than the "
                          "workers need to finish a trial each (median trial run time over "
                          "the designs in flight), propose by Thompson sampling instead")
    thompson_candidates: int = Field(
        1024, ge=16, description="candidate designs per Thompson-sampling proposal")
    proposal_time_budget: float | None = Field(
        30.0, gt=0, description="seconds one proposal may take; when they are up, the best "
                                "candidate evaluated so far is proposed (logged); null: no "
                                "limit")
    fused_kernel: bool = Field(
        False, description="let BoTorch build its fused C++ qLogNEHVI kernel (about 20 % "
                           "faster qLogNEHVI); the first qLogNEHVI proposal in a fresh "
                           "environment then compiles it (30-200 s on this machine)")

    # -------------------------------------------------------------------------- model
    failure_model: Literal["auto", "off"] = Field(
        "auto", description="auto: once a trial has FAILED, fit a GP to success (+1) / "
                            "failure (-1) of every finished trial and multiply the "
                            "acquisition by the probability of success; off: failed trials "
                            "are only never proposed again")
    success_exponent: float = Field(
        1.0, gt=0, description="the acquisition is multiplied by P(success) to this power "
                               "(> 1 avoids uncertain designs more)")
    max_train_points: int = Field(
        250, ge=10, description="cap on the points the GP is fit to; beyond it the best "
                                "non-dominated layers (then the most recent) are kept")
    fit_max_iter: int = Field(
        60, ge=1, description="L-BFGS-B iterations of a warm-started hyperparameter fit")
    fit_max_iter_cold: int = Field(
        200, ge=1, description="L-BFGS-B iterations of the first fit (no previous "
                               "hyperparameters to start from)")
    refit_every: int = Field(
        5, ge=1, description="re-optimize hyperparameters when this many new results have "
                             "arrived since the last fit; in between the model is only "
                             "conditioned on the new data (hyperparameters kept)")
    cold_refit_every: int = Field(
        20, ge=0, description="every this many results, also fit the hyperparameters from "
                             "BoTorch's initial values and keep the fit with the higher "
                             "marginal likelihood (0: always warm-start)")
    threads: int = Field(1, ge=1, description="torch threads while fitting and optimizing; "
                                              "1 is fastest on small shared machines")

    # --------------------------------------------------------------------- trust region
    trust_region: Switch = Field(
        "auto", description="optimize the acquisition inside a box around a good point "
                            "(TuRBO/MORBO-style); auto: on when d >= trust_region_min_dim")
    trust_region_min_dim: int = Field(10, ge=1)
    global_nehvi: bool = Field(
        False, description="once qLogNEHVI is in use (the reference box is reached), search "
                           "the whole cube (perturbation starts still keep unresolved "
                           "coordinates at the center's values) instead of the trust region")
    perturbation_starts: Switch = Field(
        "auto", description="start the acquisition search from copies of the best point for "
                            "the proposal's weights with ~20 coordinates re-drawn "
                            "(TuRBO/MORBO), not from uniform points; auto: on when "
                            "d >= trust_region_min_dim")
    perturbed_dims: float = Field(
        20.0, gt=0, description="perturbation starts re-draw about this many coordinates "
                                "(TuRBO/MORBO's choice; below d = 20 that is all of them)")
    tr_weighting: Literal["auto", "turbo", "inverse", "none"] = Field(
        "auto", description="trust-region shape: wider along long lengthscales (turbo), "
                            "along short ones (inverse), or a cube (none); auto: inverse "
                            "with up to 3 objectives, turbo with more")
    tr_length_init: float = Field(0.8, gt=0, le=2, description="initial edge length (unit cube)")
    tr_length_min: float = Field(0.5 ** 7, gt=0, description="below this the region is reset")
    tr_length_max: float = Field(1.6, gt=0, le=2)
    tr_success_tolerance: int = Field(3, ge=1, description="successes in a row that double the length")
    tr_failure_tolerance: int | None = Field(
        None, ge=1, description="failures in a row that halve the length "
                                "(default: clip(d // 10, 3, 10))")
    tr_success_threshold: float = Field(
        1e-3, ge=0, description="a result is a success when it raises the hypervolume of "
                                "the results by more than this fraction")
