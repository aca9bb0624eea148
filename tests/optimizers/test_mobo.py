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
        "fit_max_iter": 100}


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
    factory = lambda: MOBOOptimizer(space, objectives, seed=7, options={**FAST, "n_initial": 6})  # noqa: E731
    a, trials = _told(factory, space, evaluate, 10)
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
