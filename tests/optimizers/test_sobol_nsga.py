"""Sobol and the asynchronous (steady-state) NSGA-II/III: pending trials are never duplicated,
linear and outcome constraints are honoured, results are reproducible, and NSGA beats Sobol."""

import numpy as np
import pytest

from detopt.errors import ConfigError
from detopt.metrics import hypervolume
from detopt.objectives import Objective, ObjectiveSet
from detopt.optimizers.base import make_optimizer
from detopt.problems.dtlz import DTLZFront, objectives as dtlz
from detopt.space import ChoiceParameter, FloatParameter, IntParameter, Space
from detopt.trial import Trial, TrialStatus


def dtlz2_space(d=6):
    return Space([FloatParameter(f"x{i + 1}", 0.0, 1.0) for i in range(d)])


def two_objectives(outcome=()):
    return ObjectiveSet([Objective("f1", threshold=1.1), Objective("f2", threshold=1.1)], outcome)


def finish(index, params, values):
    return Trial(index=index, params=params, status=TrialStatus.COMPLETED,
                 metrics={k: (float(v), None) for k, v in values.items()})


def evaluate_dtlz2(params, d):
    x = np.array([[params[f"x{i + 1}"] for i in range(d)]])
    f = dtlz("dtlz2", x, 2)[0]
    return {"f1": f[0], "f2": f[1], "g": float(x[0, 0])}


def drive(name, n_trials, d=6, seed=0, concurrency=4, outcome=(), options=None):
    """Asynchronous use: keep `concurrency` proposals pending, finish the oldest, refill."""
    space, objs = dtlz2_space(d), two_objectives(outcome)
    opt = make_optimizer(name, space, objs, seed=seed, options=options)
    pending, done, index = [], [], 0
    while len(done) < n_trials:
        while len(pending) < concurrency and index < n_trials:
            params = opt.ask(1, pending)[0]
            pending.append(Trial(index=index, params=params))
            index += 1
        t = pending.pop(0)
        finished = finish(t.index, t.params, evaluate_dtlz2(t.params, d))
        opt.tell([finished])
        done.append(finished)
    return opt, done


def front_hv(trials, feasible=lambda t: True):
    Y = np.array([[t.value("f1"), t.value("f2")] for t in trials if feasible(t)])
    return hypervolume(Y, np.array([1.1, 1.1])) / DTLZFront("dtlz2", 2).hypervolume([1.1, 1.1])


@pytest.mark.parametrize("name", ["sobol", "nsga2", "nsga3"])
def test_proposals_never_duplicate_pending_or_finished_designs(name):
    _, done = drive(name, 60, options={"pop_size": 8} if name != "sobol" else None)
    keys = {tuple(round(v, 12) for v in t.params.values()) for t in done}
    assert len(keys) == 60


@pytest.mark.parametrize("name", ["nsga2", "nsga3"])
def test_ask_does_not_change_state_and_is_reproducible(name):
    opt_a, done = drive(name, 40, seed=5)
    pending = [Trial(index=40, params=opt_a.ask(1, [])[0])]
    first = opt_a.ask(3, pending)
    assert opt_a.ask(3, pending) == first  # asking again gives the same designs
    opt_b = make_optimizer(name, dtlz2_space(), two_objectives(), seed=5)
    opt_b.tell(done)  # rebuilt from storage: same told trials -> same proposals
    assert opt_b.ask(3, pending) == first


def test_nsga2_beats_sobol_on_dtlz2():
    nsga = np.mean([front_hv(drive("nsga2", 200, seed=s, options={"pop_size": 20})[1]) for s in range(3)])
    sobol = np.mean([front_hv(drive("sobol", 200, seed=s)[1]) for s in range(3)])
    assert nsga > sobol + 0.05, (nsga, sobol)


def test_linear_constraints_are_honoured():
    space = Space([FloatParameter("a", 0, 1), FloatParameter("b", 0, 1), IntParameter("n", 1, 4)],
                  ["a + b <= 0.6", "a - 0.1*n >= 0"])
    objs = two_objectives()
    for name in ("sobol", "nsga2"):
        opt = make_optimizer(name, space, objs, seed=1, options={"pop_size": 6} if name == "nsga2" else None)
        for i in range(40):
            params = opt.ask(1, [])[0]
            assert space.is_feasible(params), params
            opt.tell([finish(i, params, {"f1": params["a"], "f2": 1 - params["b"] + params["n"]})])


def test_outcome_constraints_steer_the_population_to_the_feasible_region():
    # feasible only where x1 >= 0.7: a large part of the front is excluded
    _, done = drive("nsga2", 160, outcome=["g >= 0.7"], options={"pop_size": 12})
    late = done[-60:]
    assert np.mean([t.value("g") >= 0.7 for t in late]) > 0.6
    assert np.mean([t.value("g") >= 0.7 for t in done[:12]]) < 0.5  # Sobol start is mostly infeasible


def test_discrete_parameters_stay_valid_and_distinct():
    space = Space([IntParameter("n", 1, 3), ChoiceParameter("c", ("a", "b")), FloatParameter("x", 0, 1)])
    opt = make_optimizer("nsga2", space, two_objectives(), seed=0, options={"pop_size": 4})
    seen = set()
    for i in range(30):
        p = opt.ask(1, [])[0]
        space.validate(p)
        key = (p["n"], p["c"], round(p["x"], 12))
        assert key not in seen
        seen.add(key)
        opt.tell([finish(i, p, {"f1": p["x"] + p["n"], "f2": 1 - p["x"] + (p["c"] == "a")})])


def test_unknown_options_are_config_errors():
    with pytest.raises(ConfigError, match="optimizer.options.pop_sise"):
        make_optimizer("nsga2", dtlz2_space(), two_objectives(), options={"pop_sise": 10})
    with pytest.raises(ConfigError, match="unknown optimizer"):
        make_optimizer("cmaes", dtlz2_space(), two_objectives())
