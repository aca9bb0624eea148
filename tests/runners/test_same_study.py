"""The same study runs unchanged on the local, Dask and SLURM runners (only ``runner`` differs).

Checks per runner: the DTLZ2 study (20 trials, 2 at a time) completes with the results the
evaluation gives for the stored designs, each trial keeps its runner handle (and log files on
SLURM); a trial that raises is retried, then stored as failed with the traceback text from the
process that ran it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from studies import CUSTOM, DTLZ2, config, run, slurm_runner, stored

from detopt.config import build_problem, parse_config
from detopt.task import execute
from detopt.trial import TrialStatus

RUNNERS = [
    pytest.param("local", id="local"),
    pytest.param("dask", marks=pytest.mark.dask, id="dask"),
    pytest.param("slurm", marks=pytest.mark.slurm, id="slurm"),
]


@pytest.fixture
def runner_section(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    kind = request.param
    if kind == "local":
        return {"kind": "local", "workers": 2}
    if kind == "dask":
        return {"kind": "dask", "address": request.getfixturevalue("dask_address")}
    request.getfixturevalue("slurm_timeout_job")  # start it early (see conftest.py)
    return slurm_runner(tmp_path)


@pytest.mark.parametrize("runner_section", RUNNERS, indirect=True)
def test_dtlz2_study_completes_with_the_evaluations_results(runner_section, tmp_path):
    cfg = config(DTLZ2, tmp_path, runner_section)
    _, outcome = run(cfg, tmp_path)
    assert outcome.stop_reason == "trial budget reached"

    trials, attempts = stored(cfg)
    assert sorted(trials) == list(range(20))
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 1 for t in trials.values())
    assert [a["status"] for a in attempts] == ["completed"] * 20
    # the stored metrics are what the evaluation returns for the stored design
    problem = build_problem(parse_config(cfg, base_dir=tmp_path))
    for trial in trials.values():
        expected = execute(problem.call(trial.params))
        assert {m: v[0] for m, v in trial.metrics.items()} == pytest.approx(expected)
    handles = [t.runner_handle for t in trials.values()]
    assert len(set(handles)) == 20, "one handle per trial"
    kind = runner_section["kind"]
    if kind == "dask":
        assert all(h.startswith("detopt-") for h in handles)
        assert all(re.search(rf"\.t{i}\.a1-", trials[i].runner_handle) for i in trials)
    if kind == "slurm":
        for trial in trials.values():
            job_id, _, workdir = trial.runner_handle.partition("@")
            assert job_id.isdigit() and Path(workdir).is_dir()
            assert Path(trial.logs["stdout"]).exists() and Path(trial.logs["stderr"]).exists()
            assert Path(trial.logs["stdout"]).parent == Path(workdir)


@pytest.mark.parametrize("runner_section", RUNNERS, indirect=True)
def test_raising_trial_is_retried_then_failed_with_the_remote_traceback(runner_section, tmp_path):
    cfg = config(CUSTOM, tmp_path, runner_section,
                 problem={"evaluate": "runner_funcs:raise_here", "evaluate_options": {}},
                 study={"max_trials": 1, "concurrency": 1, "max_retries": 1})
    _, outcome = run(cfg, tmp_path)
    assert outcome.stop_reason == "trial budget reached"

    trials, attempts = stored(cfg)
    trial = trials[0]
    assert trial.status == TrialStatus.FAILED and trial.attempts == 2
    assert [a["status"] for a in attempts] == ["failed", "failed"]
    assert trial.error.startswith("RuntimeError: detector overlap in job")
    # the traceback was formatted where the function ran: its frames and its process id
    assert "runner_funcs.py" in trial.traceback and "in raise_here" in trial.traceback
    pid = int(re.search(r"pid (\d+)", trial.error).group(1))
    assert pid != os.getpid()
    if runner_section["kind"] == "slurm":  # ... and the job that ran it is the stored one
        assert f"in job {trial.runner_handle.partition('@')[0]} " in trial.error
        assert attempts[0]["runner_handle"] != attempts[1]["runner_handle"]
        assert "in raise_here" in Path(trial.logs["stderr"]).read_text()
