"""Tests of the ``mobo`` optimizer (BoTorch). No timing assertions: speed lives in benchmarks/."""

from __future__ import annotations

import numpy as np
import pytest

from detopt.errors import ConfigError
from detopt.metrics.indicators import hypervolume
from detopt.objectives import Objective, ObjectiveSet
from detopt.optimizers.base import make_optimizer
from detopt.optimizers.mobo import MOBOOptimizer
from detopt.space import ChoiceParameter, FloatParameter, IntParameter, Space
from detopt.trial import Trial, TrialStatus

FAST = {"num_restarts": 2, "raw_samples": 64, "mc_samples": 32, "acq_max_iter": 50,
        "fit_max_iter": 100,
        # a loaded CI machine must not make a proposal hit the wall-clock budget (which would
        # change it); the budget has its own test
        "proposal_time_budget": None}


def _two_objective_problem(d: int = 3):
    """Two conflicting quadratics on [0, 1]^d; the front joins (0.2, ...) and (0.8, ...)."""
    space = Space([FloatParameter(f"x{i}", 0.0, 1.0) for i in range(d)])
    objectives = ObjectiveSet([Objective("f1", threshold=1.5), Objective("f2", threshold=1.5)])

    def evaluate(params):
        x = np.array([params[f"x{i}"] for i in range(d)])
        return {"f1": float(np.sum((x - 0.2) ** 2)), "f2": float(np.sum((x - 0.8) ** 2))}

    return space, objectives, evaluate


def _trial(index, params, metrics, status=TrialStatus.COMPLETED):
    return Trial(index=index, params=params, status=status,
                 metrics={k: (v, None) for k, v in metrics.items()})


def _run(opt, evaluate, n, start=0):
    """Sequential ask(1)/evaluate/tell; returns the trials."""
    trials = []
    for i in range(start, start + n):
        params = opt.ask(1, [])[0]
        t = _trial(i, params, evaluate(params))
        opt.tell([t])
        trials.append(t)
    return trials


def _told(opt_factory, space, evaluate, n, seed=123):
    """An optimizer told ``n`` Sobol trials (past its initial design)."""
    opt = opt_factory()
    trials = [_trial(i, p, evaluate(p)) for i, p in enumerate(space.sample(n, seed=seed))]
    opt.tell(trials)
    return opt, trials


def test_converges_better_than_sobol_on_a_small_problem():
    # Measured (25 evaluations, 8 initial): mobo HV 2.021 vs Sobol 1.821 (seed 0) and 2.019
    # vs 1.857 (seed 1), i.e. +9-11 %; the first 8 (Sobol) designs alone give 1.67. The
    # assertion asks for +5 %, which Sobol-like behaviour cannot reach.
    space, objectives, evaluate = _two_objective_problem(3)
    ref = np.array([1.5, 1.5])
    opt = MOBOOptimizer(space, objectives, seed=0, options={**FAST, "n_initial": 8})
    trials = _run(opt, evaluate, 25)
    Y = np.array([[t.value("f1"), t.value("f2")] for t in trials])
    sobol = space.sample(25, seed=0)
    Ys = np.array([[evaluate(p)["f1"], evaluate(p)["f2"]] for p in sobol])
    hv_mobo, hv_sobol = hypervolume(Y, ref), hypervolume(Ys, ref)
    assert hv_mobo > hv_sobol + 0.05 * hv_sobol, (hv_mobo, hv_sobol)
    assert opt.describe()["acquisition"] == "qlognehvi"


def test_ask_does_not_mutate_and_is_reproducible():
    space, objectives, evaluate = _two_objective_problem(3)
    factory = lambda: MOBOOptimizer(space, objectives, seed=7, options={**FAST, "n_initial": 6})
    a, _ = _told(factory, space, evaluate, 10)
    b, _ = _told(factory, space, evaluate, 10)
    first = a.ask(2, [])
    assert a.ask(2, []) == first  # asking again gives the same proposals
    assert b.ask(2, []) == first  # a fresh optimizer told the same trials agrees
    c, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=8,
                                       options={**FAST, "n_initial": 6}), space, evaluate, 10)
    assert c.ask(2, []) != first  # ... and the seed matters


def test_pending_trials_are_not_duplicated():
    space, objectives, evaluate = _two_objective_problem(3)
    opt, trials = _told(lambda: MOBOOptimizer(space, objectives, seed=1,
                                              options={**FAST, "n_initial": 6}),
                        space, evaluate, 12)
    first = opt.ask(2, [])
    pending = [Trial(index=12 + i, params=p) for i, p in enumerate(first)]
    more = opt.ask(4, pending)
    U = space.encode_many(more)
    P = space.encode_many(first)
    assert len({tuple(u) for u in U}) == 4
    dist_to_pending = np.min(np.linalg.norm(U[:, None, :] - P[None, :, :], axis=2), axis=1)
    assert np.all(dist_to_pending > 1e-3), dist_to_pending
    told = space.encode_many(t.params for t in trials)
    assert np.min(np.linalg.norm(U[:, None, :] - told[None, :, :], axis=2)) > 1e-6


def test_linear_constraints_are_honoured():
    space = Space([FloatParameter("a", 0.0, 1.0), FloatParameter("b", 0.0, 2.0),
                   IntParameter("k", 1, 5)], constraints=["a + b <= 1.2", "b - k <= -0.5"])
    objectives = ObjectiveSet([Objective("f1", threshold=10), Objective("f2", threshold=10)])

    def evaluate(p):
        return {"f1": (p["a"] - 1) ** 2 + p["b"] + 0.1 * p["k"],
                "f2": p["a"] ** 2 + (p["b"] - 2) ** 2 + 0.1 * (5 - p["k"])}

    opt = MOBOOptimizer(space, objectives, seed=3, options={**FAST, "n_initial": 6})
    trials = _run(opt, evaluate, 14)
    proposals = [t.params for t in trials] + opt.ask(3, [])
    assert all(space.is_feasible(p) for p in proposals)
    assert all(isinstance(p["k"], int) and 1 <= p["k"] <= 5 for p in proposals)


def test_design_check_is_honoured_and_its_boundary_is_reached():
    """The front of this problem is cut by a known non-linear constraint (the check): the best
    designs lie on its boundary, which the acquisition's unconstrained optima overshoot."""
    def check(p):
        return "overlap" if p["x0"] ** 2 + p["x1"] ** 2 > 0.5 else None

    space = Space([FloatParameter(f"x{i}", 0.0, 1.0) for i in range(3)], check=check)
    objectives = ObjectiveSet([Objective("f1", threshold=1.5), Objective("f2", threshold=1.5)])

    def evaluate(p):  # f2 is best at (0.8, 0.8, 0.5), outside the allowed region
        x = np.array([p["x0"], p["x1"], p["x2"]])
        return {"f1": float(np.sum((x - 0.2) ** 2)),
                "f2": float(np.sum((x - np.array([0.8, 0.8, 0.5])) ** 2))}

    opt = MOBOOptimizer(space, objectives, seed=0, options={**FAST, "n_initial": 8})
    trials = _run(opt, evaluate, 24)
    proposals = [t.params for t in trials] + opt.ask(2, [])
    assert all(check(p) is None for p in proposals)
    radius2 = [p["x0"] ** 2 + p["x1"] ** 2 for p in proposals[8:]]
    assert sum(r > 0.49 for r in radius2) >= 4  # model-based designs on the boundary


def test_int_and_choice_parameters_are_valid():
    space = Space([FloatParameter("x", 0.0, 1.0), IntParameter("n", 0, 3),
                   ChoiceParameter("mat", ("aerogel", "C2F6", "glass"))])
    objectives = ObjectiveSet([Objective("f1", threshold=5), Objective("f2", threshold=5)])
    bonus = {"aerogel": 0.0, "C2F6": 0.5, "glass": 1.0}

    def evaluate(p):
        return {"f1": p["x"] + 0.3 * p["n"] + bonus[p["mat"]],
                "f2": (1 - p["x"]) + 0.3 * (3 - p["n"]) + 1 - bonus[p["mat"]]}

    opt = MOBOOptimizer(space, objectives, seed=5, options={**FAST, "n_initial": 5})
    trials = _run(opt, evaluate, 12)
    out = [t.params for t in trials] + opt.ask(3, trials[-2:])
    for p in out:
        assert space.validate(p) == p
    keys = [(round(p["x"], 12), p["n"], p["mat"]) for p in out]
    assert len(set(keys)) == len(keys)


def test_outcome_constraints_steer_proposals():
    # feasible only where x0 + x1 <= 0.6 (18 % of the square); the objectives pull outside
    space = Space([FloatParameter("x0", 0.0, 1.0), FloatParameter("x1", 0.0, 1.0)])
    objectives = ObjectiveSet([Objective("f1", threshold=2), Objective("f2", threshold=2)],
                              outcome_constraints=["load <= 0.6"])

    def evaluate(p):
        return {"f1": (p["x0"] - 1) ** 2 + 0.2 * p["x1"], "f2": (p["x1"] - 1) ** 2 + 0.2 * p["x0"],
                "load": p["x0"] + p["x1"]}

    opt = MOBOOptimizer(space, objectives, seed=2, options={**FAST, "n_initial": 8})
    trials = _run(opt, evaluate, 20)
    later = trials[8:]
    feasible = [t.value("load") <= 0.6 for t in later]
    assert sum(feasible) >= 0.7 * len(later), feasible


def test_failed_trials_are_tolerated():
    space, objectives, evaluate = _two_objective_problem(2)
    opt = MOBOOptimizer(space, objectives, seed=4, options={**FAST, "n_initial": 4})
    good = [_trial(i, p, evaluate(p)) for i, p in enumerate(space.sample(6, seed=1))]
    bad = Trial(index=6, params=space.sample(7, seed=1)[6], status=TrialStatus.FAILED)
    opt.tell(good + [bad])
    proposal = opt.ask(1, [])[0]
    assert space.validate(proposal) == proposal
    assert proposal != bad.params


def test_five_objectives_pick_the_bounded_cost_acquisition():
    from botorch.acquisition.multi_objective.parego import qLogNParEGO

    space = Space([FloatParameter(f"x{i}", 0.0, 1.0) for i in range(8)])
    objectives = ObjectiveSet([Objective(f"f{j}", threshold=10.0) for j in range(5)])

    def evaluate(p):
        x = np.array([p[f"x{i}"] for i in range(8)])
        return {f"f{j}": float(np.sum((x - j / 4) ** 2)) for j in range(5)}

    opt, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=0,
                                         options={**FAST, "n_initial": 6}), space, evaluate, 8)
    assert opt.describe()["acquisition"] == "qlognparego"
    assert isinstance(opt._setup().build(None, np.full(5, 0.2), seed=0), qLogNParEGO)
    proposals = opt.ask(2, [])
    assert len(proposals) == 2 and proposals[0] != proposals[1]
    few = MOBOOptimizer(space, ObjectiveSet(list(objectives)[:3]), seed=0)
    assert few.describe()["acquisition"] == "qlognehvi"
    forced = MOBOOptimizer(space, objectives, seed=0, options={"acquisition": "qlognehvi"})
    assert forced.describe()["acquisition"] == "qlognehvi"


def test_fixed_noise_is_used_when_results_carry_sems():
    space, objectives, evaluate = _two_objective_problem(2)
    opt = MOBOOptimizer(space, objectives, seed=0, options={**FAST, "n_initial": 4})
    trials = [Trial(index=i, params=p, status=TrialStatus.COMPLETED,
                    metrics={k: (v, 0.01) for k, v in evaluate(p).items()})
              for i, p in enumerate(space.sample(6, seed=2))]
    opt.tell(trials)
    from gpytorch.likelihoods import FixedNoiseGaussianLikelihood

    model = opt._fitted.model
    assert isinstance(model.likelihood, FixedNoiseGaussianLikelihood)
    stdvs = model.outcome_transform.stdvs.detach().numpy().reshape(-1, 1)
    noise = model.likelihood.noise.detach().numpy() * stdvs ** 2  # back to the original scale
    assert np.allclose(noise, 1e-4)
    assert opt.ask(1, [])


def test_options_are_validated():
    space, objectives, _ = _two_objective_problem(2)
    with pytest.raises(ConfigError):
        make_optimizer("mobo", space, objectives, options={"num_restart": 3})
    with pytest.raises(ConfigError):
        make_optimizer("mobo", space, objectives, options={"acquisition": "ehvi"})
    opt = make_optimizer("mobo", space, objectives, options={"trust_region": "on"})
    assert opt.describe()["trust_region"] is True


@pytest.mark.slow
def test_high_dimensional_path_improves_on_its_initial_design():
    """DTLZ2 with 4 objectives × 40 variables: the trust-region/ParEGO path must bring the
    best distance-to-front g well below what the Sobol initial design found."""
    from detopt.problems.dtlz import objectives as dtlz

    m, d = 4, 40
    space = Space([FloatParameter(f"x{i + 1}", 0.0, 1.0) for i in range(d)])
    objs = ObjectiveSet([Objective(f"f{j + 1}", threshold=4.0) for j in range(m)])

    def evaluate(p):
        x = np.array([[p[f"x{i + 1}"] for i in range(d)]])
        return {f"f{j + 1}": float(v) for j, v in enumerate(dtlz("dtlz2", x, m)[0])}

    opt = MOBOOptimizer(space, objs, seed=0, options={"n_initial": 10})
    assert opt.describe()["trust_region"] and opt.describe()["acquisition"] == "qlognparego"
    trials = _run(opt, evaluate, 30)
    X = space.encode_many(t.params for t in trials)
    g = np.sum((X[:, m - 1:] - 0.5) ** 2, axis=1)
    assert g[10:].min() < 0.6 * g[:10].min(), (g[:10].min(), g[10:].min())


# --------------------------------------------------------------------- failed trials
def _failing_problem():
    """Two objectives on [0, 1]^3 whose trade-off runs into a region that fails: every design
    with x0 + x1 > 1 (half of the cube) raises InfeasibleDesignError, as an overlapping
    detector geometry does. f2's optimum (0.8, 0.8, 0.5) lies inside it."""
    from detopt.errors import InfeasibleDesignError

    space = Space([FloatParameter(f"x{i}", 0.0, 1.0) for i in range(3)])
    objectives = ObjectiveSet([Objective("f1", threshold=1.5), Objective("f2", threshold=1.5)])
    target = np.array([0.8, 0.8, 0.5])

    def evaluate(params):
        x = np.array([params[f"x{i}"] for i in range(3)])
        if x[0] + x[1] > 1.0:
            raise InfeasibleDesignError("x0 + x1 > 1: parts overlap")
        return {"f1": float(np.sum((x - 0.2) ** 2)), "f2": float(np.sum((x - target) ** 2))}

    return space, objectives, evaluate


def _run_with_failures(opt, evaluate, n):
    """Sequential ask(1)/evaluate/tell where an InfeasibleDesignError makes a FAILED trial;
    returns (failed, model_based) flags per trial."""
    from detopt.errors import InfeasibleDesignError

    failed, model_based = [], []
    for i in range(n):
        model_based.append(opt._n_results >= opt.n_initial)
        params = opt.ask(1, [])[0]
        try:
            t = _trial(i, params, evaluate(params))
        except InfeasibleDesignError as exc:
            t = Trial(index=i, params=params, status=TrialStatus.FAILED, error=str(exc))
        opt.tell([t])
        failed.append(t.status == TrialStatus.FAILED)
    return np.array(failed), np.array(model_based)


@pytest.mark.parametrize("failure_model", ["auto", "off"])
def test_failure_model_keeps_proposals_out_of_failing_regions(failure_model):
    # Measured (28 trials, 8 initial, seed 0): with the failure model 2 of 20 model-based
    # proposals failed (seed 1: 5 of 20 at 30 trials), without it 10-12 of 14; Sobol fails on
    # half of the cube. 'off' is the control that shows the assertion can fail.
    space, objectives, evaluate = _failing_problem()
    opt = MOBOOptimizer(space, objectives, seed=0,
                        options={**FAST, "n_initial": 8, "failure_model": failure_model})
    failed, model_based = _run_with_failures(opt, evaluate, 28)
    share = failed[model_based].mean()
    sobol = space.sample(64, seed=0)
    sobol_share = np.mean([p["x0"] + p["x1"] > 1.0 for p in sobol])
    assert 0.35 < sobol_share < 0.65
    if failure_model == "auto":
        assert opt.describe()["failure_model"] is True
        assert share < 0.5 * sobol_share, (share, sobol_share, failed.astype(int))
    else:
        assert opt.describe()["failure_model"] is False
        assert share > 0.5 * sobol_share, (share, sobol_share)


def test_no_failures_no_failure_model_and_only_failures_stay_sobol():
    space, objectives, evaluate = _two_objective_problem(3)
    opt, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=0,
                                         options={**FAST, "n_initial": 6}), space, evaluate, 8)
    assert opt.describe()["failure_model"] is False and opt._success is None
    assert opt._setup().success_model is None
    # nothing but failures: the initial design goes on (Sobol point k for design k)
    only = MOBOOptimizer(space, objectives, seed=3, options={**FAST, "n_initial": 4})
    sobol = space.sobol(3)
    bad = [Trial(index=i, params=sobol.params(i), status=TrialStatus.FAILED, error="boom")
           for i in range(10)]
    only.tell(bad)
    assert only.ask(2, []) == [sobol.params(10), sobol.params(11)]
    assert only.describe()["failed_trials"] == 10


def test_ask_with_failures_does_not_mutate_and_is_reproducible():
    space, objectives, evaluate = _failing_problem()

    def told():
        opt = MOBOOptimizer(space, objectives, seed=11, options={**FAST, "n_initial": 5})
        trials = []
        for i, p in enumerate(space.sample(14, seed=5)):
            try:
                trials.append(_trial(i, p, evaluate(p)))
            except Exception as exc:  # noqa: BLE001
                trials.append(Trial(index=i, params=p, status=TrialStatus.FAILED,
                                    error=str(exc)))
        opt.tell(trials)
        return opt, trials

    a, trials = told()
    b, _ = told()
    assert a.describe()["failure_model"] is True
    first = a.ask(2, [])
    assert a.ask(2, []) == first
    assert b.ask(2, []) == first
    assert all(p not in [t.params for t in trials] for p in first)


# ----------------------------------------------------------------------------- warnings
def test_library_warnings_are_routed_to_the_debug_log(caplog):
    """Tiny standard errors make GPyTorch warn ('Very small noise values detected') in every
    fit; mobo must log such warnings at DEBUG instead of letting them reach the terminal."""
    import logging
    import warnings

    from detopt.optimizers.mobo.data import TrainingData, variances
    from detopt.optimizers.mobo.model import fit_model

    space, objectives, evaluate = _two_objective_problem(2)
    trials = [Trial(index=i, params=p, status=TrialStatus.COMPLETED,
                    metrics={k: (v, 1e-5) for k, v in evaluate(p).items()})
              for i, p in enumerate(space.sample(10, seed=4))]
    opt = MOBOOptimizer(space, objectives, seed=0, options={**FAST, "n_initial": 4})
    X, Y, G = opt.observations(trials)
    data = TrainingData(X, Y, G, variances(trials, objectives), tuple(range(len(trials))))
    with warnings.catch_warnings(record=True) as direct:  # the scenario does warn ...
        warnings.simplefilter("always")
        fit_model(data, None, n_results=10, refit_every=5, max_iter=20, max_iter_cold=20)
    assert direct, "expected the library to warn about tiny noise"
    caplog.set_level(logging.DEBUG, logger="detopt")
    with warnings.catch_warnings(record=True) as escaped:  # ... but nothing leaves mobo
        warnings.simplefilter("always")
        opt.tell(trials)
        opt.ask(2, [])
    assert [str(w.message) for w in escaped] == []
    routed = [r for r in caplog.records if r.name == "detopt" and r.levelno == logging.DEBUG
              and "Warning" in r.getMessage()]
    assert routed and all(r.getMessage().startswith("mobo ") for r in routed)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ------------------------------------------------------------------------ cold refits
def test_cold_refit_escapes_a_stuck_warm_start():
    """A warm start from near-flat hyperparameters (huge lengthscales) with a tight iteration
    cap stays near-flat; with ``cold_every`` the fit from BoTorch's initial values is also
    run and the one with the higher marginal likelihood is kept."""
    import torch

    from detopt.optimizers.mobo.data import TrainingData
    from detopt.optimizers.mobo.model import _log_likelihood, fit_model

    rng = np.random.default_rng(0)
    X = rng.random((30, 3))
    Y = np.column_stack([np.sin(6 * X[:, 0]), np.cos(5 * X[:, 1])])
    data = TrainingData(X, Y, np.zeros((30, 0)), None, tuple(range(30)))
    first = fit_model(data, None, n_results=30, refit_every=1, max_iter=5, max_iter_cold=200)
    stuck = {k: v.clone() for k, v in first.hyperparameters.items()}
    for name in stuck:
        if "raw_lengthscale" in name:
            stuck[name] = torch.full_like(stuck[name], 50.0)  # softplus(50) = 50: near flat
    first.hyperparameters = stuck
    warm = fit_model(data, first, n_results=31, refit_every=1, max_iter=1, max_iter_cold=200)
    assert warm.model.covar_module.lengthscale.min() > 20  # the warm start did not move
    mixed = fit_model(data, first, n_results=31, refit_every=1, max_iter=1, max_iter_cold=200,
                      cold_every=1)
    assert mixed.cold_at == 31
    assert mixed.model.covar_module.lengthscale.min() < 5
    assert _log_likelihood(mixed.model) > _log_likelihood(warm.model) + 1.0


# -------------------------------------------------------------------- bounded ask time
@pytest.mark.parametrize("fused_kernel", [False, True])
def test_qlognehvi_does_not_compile_botorchs_cpp_kernel_inside_ask(monkeypatch, fused_kernel):
    """The first qLogNEHVI in a fresh environment JIT-compiled BoTorch's fused C++ kernel
    (30-200 s: the dRICH demo's 36 s ask outliers). By default mobo skips it; with
    ``fused_kernel: true`` BoTorch tries to build it (the control: here the build fails and
    BoTorch falls back to its PyTorch path)."""
    import torch.utils.cpp_extension
    from botorch.acquisition.multi_objective import logei

    builds = []

    def fake_load(*args, **kwargs):
        builds.append(kwargs.get("name"))
        raise RuntimeError("no compiler in this test")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", fake_load)
    monkeypatch.setattr(logei, "_C", None)
    monkeypatch.setattr(logei, "_load_attempted", False)
    space, objectives, evaluate = _two_objective_problem(2)
    opt, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=0,
                                         options={**FAST, "n_initial": 6,
                                                  "fused_kernel": fused_kernel}),
                   space, evaluate, 10)
    assert opt.current_acquisition() == "qlognehvi"
    assert len(opt.ask(1, [])) == 1
    assert builds == (["logei_fused_ext"] if fused_kernel else [])


# ------------------------------------------------------------------------------ batches
def _mixed_problem(check: bool = True):
    """A BIC-like space: five on/off switches, two ints, two floats, a linear constraint and
    (optionally) a design check; two objectives."""
    switches = [ChoiceParameter(f"s{i}", ("off", "on")) for i in range(5)]
    params = switches + [IntParameter("layers", 2, 6), IntParameter("k", 0, 3),
                         FloatParameter("a", 0.0, 1.0), FloatParameter("b", 0.0, 1.0)]

    def design_check(p):
        return "too thick" if p["layers"] + 2 * p["a"] > 7.0 else None

    space = Space(params, constraints=["a + b <= 1.5"], check=design_check if check else None)
    objectives = ObjectiveSet([Objective("f1", threshold=20.0), Objective("f2", threshold=20.0)])

    def evaluate(p):
        on = sum(p[f"s{i}"] == "on" for i in range(5))
        return {"f1": float(on + 0.5 * p["layers"] + (p["a"] - 0.3) ** 2 + 0.2 * p["k"]),
                "f2": float(5 - on + 0.3 * (6 - p["layers"]) + (p["b"] - 0.7) ** 2
                            + 0.2 * (3 - p["k"]))}

    return space, objectives, evaluate


#: cheaper still: the batch tests check validity and bookkeeping, not convergence
CHEAP = {**FAST, "raw_samples": 32, "acq_max_iter": 15, "mc_samples": 16, "nehvi_mc_samples": 8,
         "fit_max_iter": 30, "fit_max_iter_cold": 60}

BATCH_STRATEGIES = {
    "joint": {"pending_strategy": "joint", "thompson_batch_min": None},
    "believer": {"pending_strategy": "believer", "thompson_batch_min": None},
    "thompson": {"thompson_batch_min": 2, "thompson_candidates": 128},
}


@pytest.mark.parametrize("strategy", list(BATCH_STRATEGIES))
def test_batch_proposals_are_new_distinct_and_feasible(strategy):
    """ask(n) with pending trials, in a mixed discrete/continuous space with a linear
    constraint and a design check: every proposal decodes to a valid design, meets the
    constraint and the check, and duplicates neither another proposal of the batch nor a
    pending or finished design."""
    space, objectives, evaluate = _mixed_problem()
    opt, trials = _told(lambda: MOBOOptimizer(space, objectives, seed=3, options={
        **CHEAP, "n_initial": 8, **BATCH_STRATEGIES[strategy]}), space, evaluate, 14)
    pending = [Trial(index=14 + i, params=p) for i, p in enumerate(space.sample(17, seed=9)[14:])]
    batch = opt.ask(6, pending)
    method = opt.describe()["last_ask"]["method"]
    assert method == "thompson" if strategy == "thompson" else method.endswith(strategy)
    keys = [tuple(sorted(p.items())) for p in batch]
    assert len(set(keys)) == 6
    known = {tuple(sorted(t.params.items())) for t in trials + pending}
    assert not known & set(keys)
    for p in batch:
        assert space.validate(p) == p
        assert space.is_feasible(p), space.rejection(p)


@pytest.mark.parametrize("strategy", ["believer", "thompson"])
def test_batch_asks_are_reproducible_per_seed(strategy):
    space, objectives, evaluate = _two_objective_problem(3)
    options = {**CHEAP, "n_initial": 6, **BATCH_STRATEGIES[strategy]}

    def told(seed):
        opt, trials = _told(lambda: MOBOOptimizer(space, objectives, seed=seed, options=options),
                            space, evaluate, 10)
        return opt

    pending = [Trial(index=10 + i, params=p) for i, p in enumerate(space.sample(13, seed=4)[10:])]
    a, b = told(5), told(5)
    first = a.ask(4, pending)
    assert a.ask(4, pending) == first
    assert b.ask(4, pending) == first
    assert told(6).ask(4, pending) != first


def test_a_batch_spreads_out():
    """Believed pending designs leave nothing to gain next to them: the proposals of a batch
    keep a distance from each other and from the pending ones (Sobol-like spacing, not a
    cluster at the acquisition's optimum)."""
    space, objectives, evaluate = _two_objective_problem(3)
    opt, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=2, options={
        **CHEAP, "n_initial": 6, **BATCH_STRATEGIES["believer"]}), space, evaluate, 12)
    U = space.encode_many(opt.ask(5, []))
    dist = np.linalg.norm(U[:, None, :] - U[None, :, :], axis=2)[np.triu_indices(5, 1)]
    assert dist.min() > 0.02, dist.min()


def test_time_budget_returns_valid_designs_when_hit(caplog):
    """With a budget too small for any optimization, every proposal is the best candidate
    evaluated when it ran out: valid, feasible, new; the hits are counted and logged."""
    import logging

    space, objectives, evaluate = _mixed_problem()
    options = {**CHEAP, "n_initial": 8, "thompson_batch_min": None}
    tight, trials = _told(lambda: MOBOOptimizer(space, objectives, seed=1, options={
        **options, "proposal_time_budget": 1e-6}), space, evaluate, 12)
    caplog.set_level(logging.WARNING, logger="detopt")
    batch = tight.ask(3, [])
    assert tight.describe()["out_of_time_proposals"] == 3
    assert any("proposal_time_budget" in r.getMessage() for r in caplog.records)
    keys = {tuple(sorted(p.items())) for p in batch}
    assert len(keys) == 3 and not keys & {tuple(sorted(t.params.items())) for t in trials}
    assert all(space.validate(p) == p and space.is_feasible(p) for p in batch)
    relaxed, _ = _told(lambda: MOBOOptimizer(space, objectives, seed=1, options={
        **options, "proposal_time_budget": None}), space, evaluate, 12)
    relaxed.ask(1, [])
    assert relaxed.describe()["out_of_time_proposals"] == 0


def test_mixed_space_sequential_run_has_no_duplicates():
    """A short one-at-a-time run in the mixed space: late in a small discrete space rounding
    often lands on designs already run; the proposals must still be new and valid."""
    space, objectives, evaluate = _mixed_problem(check=False)
    opt = MOBOOptimizer(space, objectives, seed=0, options={**CHEAP, "n_initial": 6})
    trials = _run(opt, evaluate, 14)
    keys = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(keys)) == len(keys)
    assert all(space.validate(t.params) == t.params and space.is_feasible(t.params)
               for t in trials)


@pytest.mark.parametrize("keep_up", [True, False])
def test_keep_up_switches_to_thompson_when_trials_are_faster_than_proposals(keep_up):
    """Trials that ran for 1 ms each with 2 in flight leave 0.5 ms per proposal, far less
    than an acquisition optimization takes: with keep_up the next ask draws Thompson samples;
    without it (the control) the acquisition is optimized again."""
    space, objectives, evaluate = _two_objective_problem(2)
    opt = MOBOOptimizer(space, objectives, seed=0, options={**CHEAP, "n_initial": 6,
                                                            "keep_up": keep_up})
    trials = [Trial(index=i, params=p, status=TrialStatus.COMPLETED,
                    metrics={k: (v, None) for k, v in evaluate(p).items()},
                    started_at=100.0 + i, finished_at=100.001 + i)
              for i, p in enumerate(space.sample(8, seed=1))]
    opt.tell(trials)
    pending = [Trial(index=8, params=space.sample(9, seed=1)[8])]
    opt.ask(1, pending)
    assert opt.describe()["last_ask"]["method"] != "thompson"  # nothing measured yet
    proposal = opt.ask(1, pending)[0]
    assert space.validate(proposal) == proposal
    assert (opt.describe()["last_ask"]["method"] == "thompson") is keep_up
