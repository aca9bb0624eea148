"""Pipeline studies on the local runner: gates, fan-out, retries, metrics, cleanup, space."""

from __future__ import annotations

import pytest
from pipekit import METRICS_STAGE, TOOL, run, stored, study, tool

from detopt.trial import TrialStatus


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_a_gate_makes_the_design_infeasible_and_is_never_retried(tmp_path):
    log = tmp_path / "overlaps.log"
    stages = [{"name": "overlaps", "command": tool("overlaps", str(log), "2"), "retries": 3,
               "gate": {"require": "illegal overlaps/extrusions : 0", "message": "checkOverlaps failed"}},
              {**METRICS_STAGE, "command": tool("metrics", "{{ params.x }}")}]
    cfg = study(tmp_path, stages, max_retries=2)
    run(cfg, tmp_path)
    trials, attempts, states = stored(cfg)
    t = trials[0]
    assert t.status == TrialStatus.FAILED and t.attempts == 1 and len(attempts) == 1
    assert "infeasible design: constraint 'overlaps' violated: checkOverlaps failed" in t.error
    assert lines(log) == ["overlaps"]  # ran once: no stage retry, no trial retry
    assert "evaluate" not in states[0]["stages"]  # the chain stopped at the gate
    assert states[0]["stages"]["overlaps"]["jobs"][0]["status"] == "infeasible"


def test_fan_out_jobs_run_concurrently_and_their_outputs_combine(tmp_path):
    log = tmp_path / "marks.log"
    stages = [{"name": "simulate", "jobs": {"product": {"point": [15, 45], "species": ["pi", "K"]}},
               # each job waits until all four have started: the stage completes only if they overlap
               "command": tool("barrier", str(log), "p{{ payload.point }}-{{ payload.species }}", "4"),
               "outputs": {"value": {"path": "value.txt", "pattern": r"value = (\d+)"}}},
              {"name": "combine", "command": tool("metrics", "{{ stages.simulate.outputs.value | sum / 100 }}"),
               "outputs": {"doc": {"path": "metrics.json"}, "f1": {"path": "metrics.json", "key": "f1.0"},
                           "f1_sem": {"path": "metrics.json", "key": "f1.1"},
                           "f2": {"path": "metrics.json", "key": "f2"}}}]
    cfg = study(tmp_path, stages, runner={"kind": "local", "workers": 4},
                pipeline={"metrics": {"f1": {"from": "combine.f1", "sem": "combine.f1_sem"},
                                      "f2": "combine.f2",
                                      "mean_value": {"from": "simulate.value", "combine": "mean"}}})
    cfg["problem"]["outcome_constraints"] = ["mean_value >= 0"]
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    t = trials[0]
    assert t.status == TrialStatus.COMPLETED, t.error
    names = ["p15-pi", "p15-K", "p45-pi", "p45-K"]
    # every job started before any ended: they ran at the same time
    starts = {n: float(ts) for kind, n, ts in map(str.split, lines(log)) if kind == "start"}
    ends = {n: float(ts) for kind, n, ts in map(str.split, lines(log)) if kind == "end"}
    assert sorted(starts) == sorted(names) == sorted(ends)
    assert max(starts.values()) < min(ends.values())
    lengths = [len(n) for n in names]
    x = sum(lengths) / 100
    assert t.metrics["f1"] == (pytest.approx(x * x), pytest.approx(0.01))
    assert t.metrics["f2"][0] == pytest.approx((x - 1) ** 2)
    assert t.metrics["mean_value"][0] == pytest.approx(sum(lengths) / 4)
    jobs = states[0]["stages"]["simulate"]["jobs"]
    assert [j["payload"] for j in jobs] == [{"point": 15, "species": "pi"}, {"point": 15, "species": "K"},
                                            {"point": 45, "species": "pi"}, {"point": 45, "species": "K"}]
    assert all(j["status"] == "done" and j["tries"] == 1 for j in jobs)
    logs = tmp_path / "work" / "t0" / "a1" / "logs"
    assert sorted(p.name for p in logs.iterdir())[:2] == ["combine.j0.stderr", "combine.j0.stdout"]
    assert (logs / "simulate.j3.stdout").resolve() == \
        tmp_path / "work" / "t0" / "a1" / "simulate" / "j3" / "stdout.txt"
    assert t.logs == {"workdir": str(tmp_path / "work" / "t0" / "a1"), "logs": str(logs)}


def test_a_failed_job_is_retried_alone_and_keeps_its_first_logs(tmp_path):
    counter = tmp_path / "counter"
    other = tmp_path / "other.log"
    stages = [{"name": "flaky", "jobs": 2, "retries": 1,
               "command": ["{{ python }}", TOOL, "{{ 'fail-once' if job.index == 0 else 'mark' }}",
                           "{{ job.index == 0 and '%s' or '%s' }}" % (counter, other),
                           "j{{ job.index }}", "0"]},
              METRICS_STAGE]
    cfg = study(tmp_path, stages)
    run(cfg, tmp_path)
    trials, attempts, states = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED, trials[0].error
    assert len(attempts) == 1
    jobs = states[0]["stages"]["flaky"]["jobs"]
    assert [j["tries"] for j in jobs] == [2, 1] and lines(counter) == ["run", "run"]
    assert len(lines(other)) == 2  # the healthy job ran once (start + end)
    j0 = tmp_path / "work" / "t0" / "a1" / "flaky" / "j0"
    assert "first run fails on purpose" in (j0 / "stderr.r1.txt").read_text()


def test_retries_used_up_fail_the_trial_naming_stage_and_job(tmp_path):
    stages = [{"name": "broken", "command": tool("exit", "5"), "retries": 1}, METRICS_STAGE]
    cfg = study(tmp_path, stages)
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    assert trials[0].status == TrialStatus.FAILED
    assert "stage 'broken' job 0 failed after 2 tries: the command exited with status 5" \
        in trials[0].error
    assert states[0]["stages"]["broken"]["jobs"][0]["status"] == "failed"


def test_a_missing_or_non_numeric_metric_names_the_file_and_key(tmp_path):
    stages = [{**METRICS_STAGE, "outputs": {"doc": {"path": "metrics.json", "key": "nested"}}}]
    cfg = study(tmp_path, stages, pipeline={"metrics": {"f1": "evaluate.doc", "f2": "evaluate.doc"}},
                max_retries=2)
    run(cfg, tmp_path)
    trials, attempts, _ = stored(cfg)
    metrics_file = tmp_path / "work" / "t0" / "a1" / "evaluate" / "j0" / "metrics.json"
    assert trials[0].status == TrialStatus.FAILED and len(attempts) == 1  # not retried
    assert f"output 'doc' of stage 'evaluate' job 0 ({metrics_file}) is {{'v': [1, 2," in trials[0].error
    assert "not a number" in trials[0].error

    stages = [{**METRICS_STAGE, "outputs": {"f1": {"path": "metrics.json", "key": "f3"}}}]
    cfg = study(tmp_path, stages, pipeline={"metrics": {"f1": "evaluate.f1", "f2": "evaluate.f1"}})
    run(cfg, tmp_path)
    trials, _, _ = stored(cfg)
    assert trials[0].status == TrialStatus.FAILED
    assert f"output 'f1' ({metrics_file}): key 'f3' not found" in trials[0].error


def test_cleanup_removes_bulky_outputs_of_successful_trials_only(tmp_path):
    stages = [{"name": "simulate", "jobs": 2, "command": tool("metrics", "{{ params.x }}")},
              {**METRICS_STAGE, "command": tool("metrics", "{{ params.x }}")},
              {"name": "fail_if_big", "command": tool("exit", "{{ 1 if params.x > 0.5 else 0 }}")}]
    cfg = study(tmp_path, stages, trials=2,
                pipeline={"cleanup": {"remove": ["simulate/*/metrics.json", "fail_if_big"]},
                          "metrics": {"f1": "evaluate.metrics", "f2": "evaluate.metrics"}})
    for stage in cfg["problem"]["pipeline"]["stages"][1:2]:
        stage["outputs"] = {"metrics": {"path": "metrics.json", "key": "f2"}}
    run(cfg, tmp_path)
    trials, _, _ = stored(cfg)
    assert {t.status for t in trials.values()} == {TrialStatus.COMPLETED, TrialStatus.FAILED}
    for i, t in trials.items():
        root = tmp_path / "work" / f"t{i}" / "a1"
        sims = sorted(root.glob("simulate/*/metrics.json"))
        if t.status == TrialStatus.COMPLETED:
            assert sims == [] and (root / "fail_if_big" / "j0" / "stdout.txt").is_file()
            assert (root / "simulate" / "j1" / "stderr.txt").is_file()  # logs stay
            assert sorted(p.name for p in (root / "fail_if_big" / "j0").iterdir()) == \
                ["stderr.txt", "stdout.txt"]  # a removed folder keeps its logs
        else:
            assert len(sims) == 2  # keep_failed: everything stays for a look


def test_the_free_space_check_stops_before_a_stage(tmp_path):
    stages = [{**METRICS_STAGE, "min_free_space": "1000TB"}]
    cfg = study(tmp_path, stages)
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    assert trials[0].status == TrialStatus.FAILED
    assert "stage 'evaluate' needs min_free_space 1048576000 MB" in trials[0].error
    assert "evaluate" not in states[0]["stages"]


def test_driver_side_stages_and_a_final_callable(tmp_path):
    stages = [{"name": "prepare", "where": "driver", "command": tool("metrics", "{{ params.x }}"),
               "outputs": {"doc": {"path": "metrics.json"}}},
              {"name": "collect", "call": "pipeline_funcs:collect",
               "kwargs": {"doc": "{{ stages.prepare.outputs.doc }}", "x": "{{ params.x }}",
                          "where": "{{ stages.prepare.jobs[0].workdir }}"}}]
    cfg = study(tmp_path, stages)
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    t = trials[0]
    assert t.status == TrialStatus.COMPLETED, t.error
    x = t.params["x"]
    assert t.metrics["f1"] == (pytest.approx(x * x), pytest.approx(0.01))
    assert t.metrics["f2"] == (pytest.approx((x - 1) ** 2), None)
    assert states[0]["stages"]["prepare"]["jobs"][0]["handle"] is None  # never a runner call
    assert states[0]["stages"]["collect"]["jobs"][0]["handle"].startswith("local:")


def test_metrics_from_a_fan_out_stage_need_a_combination(tmp_path):
    from detopt.config import build_problem, parse_config
    from detopt.errors import ConfigError

    cfg = study(tmp_path, [{**METRICS_STAGE, "jobs": 2}])
    with pytest.raises(ConfigError, match="runs several jobs") as err:
        build_problem(parse_config(cfg, base_dir=tmp_path))
    assert err.value.field == "problem.pipeline.metrics"
