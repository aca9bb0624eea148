"""Fixtures of the runner tests.

``slurm_timeout_job``: the time-limit test needs a job to run past a one-minute limit (SLURM
counts limits in whole minutes and checks them about every 30 s), i.e. 60-90 s of waiting. The
job is therefore started by the first SLURM test of the session and checked by the last one, so
the other SLURM tests overlap with that wait. It is only started when the time-limit test is
selected.
"""

from __future__ import annotations

import pytest

from detopt.runners.slurm import SlurmRunner
from detopt.task import Resources, TaskCall

TIMEOUT_TEST = "test_a_job_over_its_time_limit_fails_with_the_timeout_error"


@pytest.fixture(scope="session")
def slurm_runner_session(slurm_env, tmp_path_factory) -> SlurmRunner:
    """One SLURM runner for the session's runner-level tests (fast polling, 10 min limit)."""
    runner = SlurmRunner(partition="debug", walltime="00:10:00", poll_interval=0.25,
                         state_interval=1.0, workdir=tmp_path_factory.mktemp("slurm-jobs"))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def slurm_timeout_job(request, slurm_runner_session):
    """A job asking for 1 s (SLURM: one minute) that would sleep 10 min, if the test runs."""
    if not any(item.name == TIMEOUT_TEST for item in request.session.items):
        yield None
        return
    future = slurm_runner_session.submit(TaskCall(
        "runner_funcs:where", {"params": {"x": 0.0}, "seconds": 600}, Resources(walltime=1),
        label="timeout.t0.a1"))
    yield future
    slurm_runner_session.cancel(future)
