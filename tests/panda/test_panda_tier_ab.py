"""Tiers A and B: the real ActiveMQ broker, the real iDDS REST server on PostgreSQL, the real
worker-side path; no iDDS agents.

What stands in for PanDA: the test process itself. Each work the runner submits to iDDS is
also handed to the localpanda plugin (tests/panda/localpanda.py, the same code the agents use
in tier C), which builds the real PanDA task parameters and runs the job as the pilot and
wrapper would: ``idds_parse_workflow_args`` + ``run_workflow`` in a job directory. The job
publishes its result with iDDS's own ``AsyncResult`` (STOMP, or REST when the broker is down).
Without agents iDDS never marks the works ended, so failures that PanDA would retry are tested
in tier C.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import detopt
from detopt.runners.panda.runner import PandaRunner, options_from_config
from detopt.storage import Storage
from detopt.task import TaskCall
from detopt.trial import TrialStatus

HERE = Path(__file__).resolve().parent
SERVICES = HERE.parents[1] / "scripts" / "services"
pytestmark = [pytest.mark.activemq, pytest.mark.idds]


def runner_options(tmp_path: Path, **extra) -> dict:
    return {"service": "idds", "upload": False, "source_dir": str(HERE),
            "workdir": str(tmp_path / "wd"), "status_interval": 2, "rest_poll_interval": 2,
            "result_grace": 20, "connect_timeout": 10, **extra}


def play_panda(runner: PandaRunner) -> dict[int, int]:
    """Hand every work the runner submits to localpanda as well (see the module docstring)."""
    from localpanda import LocalSubmitterPoller

    plugin, tasks = LocalSubmitterPoller(), {}
    submit = runner.backend.submit_work

    def submit_and_run(work):
        transform_id = submit(work)
        tasks[transform_id] = plugin.submit(work)[0]
        return transform_id

    runner.backend.submit_work = submit_and_run
    return tasks


STUDY = {
    "problem": {
        "evaluate": "panda_funcs:where",
        "parameters": [{"name": "x", "low": 0.0, "high": 1.0}, {"name": "y", "low": 0.0, "high": 1.0}],
        "objectives": [{"name": "f1", "threshold": 3.0}, {"name": "f2", "threshold": 3.0}],
    },
    "optimizer": {"name": "sobol", "seed": 5},
    "study": {"max_trials": 3, "concurrency": 3},
}


def test_a_study_gets_its_results_over_stomp(client_env, tmp_path):
    cfg = copy.deepcopy(STUDY)
    cfg.update(name=f"tier-a-{uuid.uuid4().hex[:6]}", storage=str(tmp_path / "s.db"),
               runner={"kind": "panda", **runner_options(tmp_path)})
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=tmp_path))
    try:
        tasks = play_panda(study.runner)
        study.run()
        delivered = dict(study.runner.delivered)
    finally:
        study.close()
    with Storage(cfg["storage"]) as storage:
        trials = storage.load_trials(storage.get_study(cfg["name"]).id)
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 3
    for t in trials:
        assert t.metrics["f1"][0] == pytest.approx(t.params["x"] + t.params["y"])  # np.float64
        assert t.metrics["f2"][0] == pytest.approx(2.0 - t.params["x"], rel=1e-6)  # np.float32
        assert t.runner_handle.startswith("idds:") and t.metrics["pid"][0] != os.getpid()
    assert delivered == {"stomp": 3} and len(tasks) == 3


def wait_for_file(path: Path, timeout: float, probe=None):
    """The stripped text of ``path`` (or what ``probe`` returns) once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe() if probe else (path.read_text().strip() if path.exists() else None)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{path} did not appear within {timeout:g} s")


def _stop_broker() -> None:
    subprocess.run(["bash", "-c", f". {SERVICES}/lib.sh; stop_activemq"], check=True, timeout=60)


def _start_broker() -> None:
    subprocess.run(["bash", str(SERVICES / "start_activemq.sh")], check=True, timeout=300)


def test_with_the_broker_stopped_the_rest_fallback_delivers(client_env, tmp_path):
    runner = PandaRunner(options_from_config(runner_options(tmp_path)))
    try:
        play_panda(runner)
        _stop_broker()  # mid-study: the runner is set up, nothing submitted yet
        try:
            futures = [runner.submit(TaskCall("panda_funcs:where", {"params": {"x": x}},
                                              label=f"nobroker.t{i}.a1"))
                       for i, x in enumerate((0.1, 0.7))]
            results = [f.result(timeout=240) for f in futures]
            assert not runner.channel.up
        finally:
            _start_broker()
        assert [r["f1"] for r in results] == [pytest.approx(0.1), pytest.approx(0.7)]
        assert runner.delivered == {"rest": 2}
    finally:
        runner.close()


def test_an_infeasible_design_is_reported_at_once_and_not_retried(client_env, tmp_path):
    runner = PandaRunner(options_from_config(runner_options(tmp_path)))
    try:
        tasks = play_panda(runner)
        future = runner.submit(TaskCall("panda_funcs:infeasible", {"params": {"x": 0.5}},
                                        label="inf.t0.a1"))
        error = future.exception(timeout=240)
    finally:
        runner.close()
    assert type(error).__name__ == "RemoteTaskError" and error.type_name == "InfeasibleDesignError"
    assert not error.retryable and "rings touch" in error.message
    task_dir = Path(client_env["LOCALPANDA_JOBS"]) / str(next(iter(tasks.values())))
    rc = wait_for_file(task_dir / "job0.a1" / "rc", 120)  # the job may still be publishing
    assert rc == "0" and len(list(task_dir.glob("job*"))) == 1  # success: PanDA would not retry


def test_a_new_runner_reattaches_and_finds_a_result_published_while_none_listened(client_env, tmp_path):
    first = PandaRunner(options_from_config(runner_options(tmp_path)))
    play_panda(first)
    future = first.submit(TaskCall("panda_funcs:where", {"params": {"x": 0.3}, "seconds": 1.0},
                                   label="gone.t0.a1"))
    handle = future.handle
    first.close()  # the driver is gone; the job runs on and publishes to nobody
    jobs = Path(client_env["LOCALPANDA_JOBS"])
    task_dir = wait_for_file(jobs, 60, lambda: next(iter(jobs.iterdir()), None))
    assert wait_for_file(Path(task_dir) / "job0.a1" / "rc", 240) == "0"
    second = PandaRunner(options_from_config(runner_options(tmp_path)))
    try:
        again = second.reattach(handle)
        assert again is not None
        assert again.result(timeout=60)["f1"] == pytest.approx(0.3)
        assert second.delivered == {"rest": 1}  # the job's own copy in the iDDS message store
    finally:
        second.close()
