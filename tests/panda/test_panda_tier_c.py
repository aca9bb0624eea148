"""Tier C: the full iDDS lifecycle. The real iDDS agents (clerk, transformer, submitter, poller,
finisher) take each work from the database, generate its PanDA task parameters and hand it to
their carrier plugin. What stands in for PanDA: tests/panda/localpanda.py, a test-only carrier
plugin that runs each job on this machine through the real worker-side path and retries a
failed job up to ``maxAttempt`` times, as JEDI would (a real PanDA cannot run here; see its
docstring). Everything else is real: REST server, PostgreSQL, ActiveMQ, agents, client, worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from detopt.runners.panda.runner import PandaRunner, options_from_config, parse_handle
from detopt.storage import Storage
from detopt.task import TaskCall
from detopt.trial import TrialStatus

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.activemq, pytest.mark.idds, pytest.mark.slow]


def options(tmp_path: Path, **extra) -> dict:
    return {"service": "idds", "upload": False, "source_dir": str(HERE),
            "workdir": str(tmp_path / "wd"), "status_interval": 2, "rest_poll_interval": 5,
            "result_grace": 20, "connect_timeout": 10, **extra}


def _task_dirs(jobs: Path, name: str) -> list[Path]:
    """The localpanda task directories of the work called ``name``."""
    out = []
    for tp in jobs.glob("*/task_params.json"):
        if json.loads(tp.read_text())["taskName"].startswith(name + "_"):
            out.append(tp.parent)
    return out


def test_a_failing_job_is_retried_by_the_attempt_policy_then_fails_with_its_message(
        client_env, idds_agents, tmp_path):
    runner = PandaRunner(options_from_config(options(tmp_path, retries=1)))
    try:
        ok = runner.submit(TaskCall("panda_funcs:where", {"params": {"x": 0.4}}, label="c.t0.a1"))
        bad = runner.submit(TaskCall("panda_funcs:fails", {"params": {"x": 0.5}}, label="c.t1.a1"))
        assert ok.result(timeout=400)["f1"] == pytest.approx(0.4)
        error = bad.exception(timeout=400)
    finally:
        runner.close()
    assert type(error).__name__ == "RemoteTaskError" and error.type_name == "ValueError"
    assert error.message == "boom at x=0.500" and "panda_funcs.py" in error.traceback_text
    _, tf, _ = parse_handle(bad.handle)
    (task,) = _task_dirs(idds_agents, bad.logs["work"])
    attempts = sorted(d.name for d in task.glob("job0.a*"))
    assert attempts == ["job0.a1", "job0.a2"]  # retries: 1 -> maxAttempt 2, both ran and failed
    assert all((task / a / "rc").read_text().strip() != "0" for a in attempts)
    params = json.loads((task / "task_params.json").read_text())
    assert params["maxAttempt"] == 2 and params["taskName"].endswith(f"_{tf}")


def test_sigkilled_driver_resumes_and_reattaches_without_a_second_submission(
        client_env, idds_agents, tmp_path):
    """3 trials, 3 at a time, 25 s each: the driver is killed while all three run; ``detopt
    resume`` must take their results from those works (one transform and one job each)."""
    name = f"tier-c-kill-{uuid.uuid4().hex[:6]}"
    cfg = {"name": name, "storage": str(tmp_path / "s.db"),
           "problem": {"evaluate": "panda_funcs:where", "evaluate_options": {"seconds": 25.0},
                       "parameters": [{"name": "x", "low": 0.0, "high": 1.0},
                                      {"name": "y", "low": 0.0, "high": 1.0}],
                       "objectives": [{"name": "f1", "threshold": 3.0}, {"name": "f2", "threshold": 3.0}]},
           "optimizer": {"name": "sobol", "seed": 2}, "study": {"max_trials": 3, "concurrency": 3},
           "runner": {"kind": "panda", **options(tmp_path)}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ}

    def detopt(*args):
        return subprocess.Popen([sys.executable, "-m", "detopt", *args, str(path), "--no-progress",
                                 "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=tmp_path)

    def stored():
        if not Path(cfg["storage"]).exists():
            return {}
        with Storage(cfg["storage"]) as storage:
            record = storage.get_study(name)
            return {t.index: t for t in storage.load_trials(record.id)} if record else {}

    driver = detopt("run")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            trials = stored()
            running = {i: t.runner_handle for i, t in trials.items()
                       if t.status == TrialStatus.RUNNING and (t.runner_handle or "").startswith("idds:")}
            if len(running) == 3:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the three trials never ran with iDDS handles")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.communicate(timeout=30)

    resumed = detopt("resume")
    stdout, stderr = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, stderr
    trials = stored()
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 1 for t in trials.values())
    for index, handle in running.items():  # the same works, and their results were used
        assert trials[index].runner_handle == handle
    journal = [json.loads(line) for line in (tmp_path / "wd" / "journal.jsonl").read_text().splitlines()]
    assert sorted(j["label"] for j in journal) == [f"{name}.t{i}.a1" for i in range(3)]
    for entry in journal:  # exactly one PanDA task, with one job, per trial
        (task,) = _task_dirs(idds_agents, entry["name"])
        assert [d.name for d in task.glob("job*")] == ["job0.a1"]
