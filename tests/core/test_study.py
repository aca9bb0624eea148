"""The asynchronous study loop on real worker processes: budget, slot refilling, retries,
failure policies, stop rules, storage of every state change, and resume."""

import numpy as np
import pytest

from detopt.errors import ConfigError
from detopt.metrics import hypervolume
from detopt.objectives import Objective, ObjectiveSet
from detopt.problem import Problem
from detopt.problems.registry import build_problem
from detopt.runners.local import LocalRunner
from detopt.space import FloatParameter, Space
from detopt.trial import TrialStatus
from studykit import make_study, reopen

SYN = "detopt.problems.synthetic"


def synthetic_problem(function: str, **options) -> Problem:
    space = Space([FloatParameter("x", 0.0, 1.0), FloatParameter("y", 0.0, 1.0)])
    objectives = ObjectiveSet([Objective("f1", threshold=3.0), Objective("f2", threshold=3.0)])
    return Problem(function, space, objectives, f"{SYN}:{function}", options)


def test_budget_is_met_exactly_and_everything_is_stored(storage_url, runner):
    study = make_study(storage_url, "dtlz2", runner, optimizer="nsga2", max_trials=30, concurrency=2)
    outcome = study.run()
    assert outcome.status == "finished" and outcome.stop_reason == "trial budget reached"
    stored = study.storage.load_trials(study.record.id)
    assert len(stored) == 30 and {t.index for t in stored} == set(range(30))
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 1 for t in stored)
    Y = np.array([t.values(["f1", "f2", "f3"]) for t in stored])
    assert study.hypervolume == pytest.approx(hypervolume(Y, np.full(3, 1.1)))
    assert 0 < study.normalized_hypervolume < 1
    assert study.storage.get_study(study.name).status == "finished"
    frame = study.trials_dataframe()
    assert list(frame["trial"]) == list(range(30)) and frame["pareto"].sum() == len(study.pareto_trials())


def test_slots_are_refilled_without_waiting_for_slow_trials(tmp_path, runner):
    # designs with x < 0.25 take 1.5 s, the others 0.05 s: a batch barrier would start nothing
    # while a slow trial runs; the asynchronous loop keeps the other slot busy meanwhile.
    problem = synthetic_problem("uneven_sleep", fast=0.05, slow=1.5, slow_below=0.25)
    study = make_study(f"sqlite:///{tmp_path}/a.db", problem, runner, max_trials=24, concurrency=2)
    study.run()
    trials = sorted(study.trials.values(), key=lambda t: t.started_at)
    slow = [t for t in trials if t.params["x"] < 0.25]
    assert slow, "the Sobol sequence puts some designs at x < 0.25"
    for s in slow:
        overlapping = [t for t in trials if t is not s and s.started_at < t.started_at < s.finished_at]
        assert len(overlapping) >= 2, "another slot kept working while the slow trial ran"


def test_retry_then_success_keeps_both_attempts(storage_url, runner, tmp_path):
    problem = synthetic_problem("flaky", state_dir=str(tmp_path / "flaky"), failures=1)
    study = make_study(storage_url, problem, runner, max_trials=4, concurrency=2, max_retries=1)
    study.run()
    stored = study.storage.load_trials(study.record.id)
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 2 for t in stored)
    attempts = study.storage.load_attempts(study.record.id, stored[0].index)
    assert [a["status"] for a in attempts] == ["failed", "completed"]
    assert "flaky failure 1 of 1" in attempts[0]["error"]
    assert "Traceback" in attempts[0]["traceback"]


def test_failed_trials_keep_their_traceback(storage_url, runner):
    study = make_study(storage_url, synthetic_problem("fail", message="overlap in sector 3"), runner,
                       max_trials=3, concurrency=2, max_retries=2)
    study.run()
    for t in study.storage.load_trials(study.record.id):
        assert t.status == TrialStatus.FAILED and t.attempts == 3
        assert t.error == "RuntimeError: overlap in sector 3"
        assert 'raise RuntimeError(message)' in t.traceback
    assert study.hypervolume == 0.0


def test_penalty_policy_completes_failures_with_penalty_values(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/p.db", synthetic_problem("fail"), runner, max_trials=3,
                       concurrency=1, on_failure="penalty", penalty={"f1": 10.0, "f2": 10.0})
    study.run()
    stored = study.storage.load_trials(study.record.id)
    assert all(t.status == TrialStatus.COMPLETED and t.penalized for t in stored)
    assert stored[0].metrics == {"f1": (10.0, None), "f2": (10.0, None)}
    assert stored[0].error.startswith("RuntimeError")
    assert study.tracker.front_ids == []  # penalties are not designs


def test_penalty_policy_requires_every_penalty_value(tmp_path, runner):
    with pytest.raises(ConfigError, match="penalty value"):
        make_study(f"sqlite:///{tmp_path}/p.db", synthetic_problem("fail"), runner, max_trials=3,
                   on_failure="penalty", penalty={"f1": 10.0})


def test_too_many_failures_stop_the_study(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/m.db", synthetic_problem("fail"), runner,
                       max_trials=50, concurrency=2, max_failed_trials=3)
    outcome = study.run()
    assert outcome.status == "stopped" and "3 trials failed" in outcome.stop_reason
    counts = study.counts()
    assert 3 <= counts[TrialStatus.FAILED] <= 4  # the other slot's trial may also fail while draining
    assert counts[TrialStatus.RUNNING] == 0


def test_invalid_results_fail_without_retry(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/n.db", synthetic_problem("nan_result"), runner,
                       max_trials=2, concurrency=2, max_retries=3)
    study.run()
    for t in study.trials.values():
        assert t.status == TrialStatus.FAILED and t.attempts == 1
        assert "metric 'f1' is NaN" in t.error


def test_timeouts_and_crashes_are_retried_then_failed(tmp_path):
    runner = LocalRunner(workers=2, walltime=0.5)
    try:
        study = make_study(f"sqlite:///{tmp_path}/t.db", synthetic_problem("sleep", seconds=20), runner,
                           max_trials=2, concurrency=2, max_retries=1)
        study.run()
        for t in study.trials.values():
            assert t.status == TrialStatus.FAILED and t.attempts == 2
            assert "TrialTimeoutError" in t.error
        crash = make_study(f"sqlite:///{tmp_path}/c.db", synthetic_problem("crash"), runner,
                           max_trials=1, concurrency=1)
        crash.run()
        assert "WorkerLostError" in next(iter(crash.trials.values())).error
    finally:
        runner.close()


def test_wall_clock_halt_requeues_work_and_resume_finishes_the_budget(storage_url):
    runner = LocalRunner(workers=2)
    study = make_study(storage_url, synthetic_problem("sleep", seconds=0.6), runner, max_trials=8,
                       concurrency=2, max_wall_time=1.5)
    outcome = study.run()
    assert outcome.status == "stopped" and "wall-clock" in outcome.stop_reason
    stored = {t.index: t for t in study.storage.load_trials(study.record.id)}
    done_before = {i: t.finished_at for i, t in stored.items() if t.status == TrialStatus.COMPLETED}
    assert 1 <= len(done_before) < 8
    assert all(t.status in (TrialStatus.COMPLETED, TrialStatus.PENDING) for t in stored.values())
    resumed = reopen(study, runner, max_trials=8, concurrency=2)
    assert resumed.run().status == "finished"
    final = {t.index: t for t in resumed.storage.load_trials(resumed.record.id)}
    assert len(final) == 8 and all(t.status == TrialStatus.COMPLETED for t in final.values())
    for i, finished_at in done_before.items():  # completed trials were not run again
        assert final[i].finished_at == finished_at and final[i].attempts == 1
    runner.close()


def test_hypervolume_target_stops_early(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/h.db", build_problem("dtlz2", {"n_objectives": 2,
                       "n_variables": 3}), runner, max_trials=500, concurrency=2,
                       target_normalized_hv=0.5)
    outcome = study.run()
    assert outcome.status == "stopped" and "reached the target" in outcome.stop_reason
    assert study.normalized_hypervolume >= 0.5 and len(study.trials) < 500


def test_stall_rule_stops_when_hypervolume_stops_growing(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/s.db", synthetic_problem("constant"), runner,
                       max_trials=100, concurrency=2, stall_trials=6)
    outcome = study.run()
    assert "no hypervolume gain in the last 6 trials" in outcome.stop_reason
    assert len(study.trials) <= 9


def test_a_study_needs_a_stop_rule(tmp_path, runner):
    with pytest.raises(ConfigError, match="no stop rule"):
        make_study(f"sqlite:///{tmp_path}/x.db", "dtlz2", runner)


def test_resume_of_a_finished_study_with_a_larger_budget_adds_trials(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/r.db", "dtlz2", runner, optimizer="nsga2",
                       max_trials=12, concurrency=2)
    study.run()
    resumed = reopen(study, runner, max_trials=20, concurrency=2)
    outcome = resumed.run()
    assert outcome.trials_started == 8 and len(resumed.trials) == 20
    assert all(t.attempts == 1 for t in resumed.trials.values())
