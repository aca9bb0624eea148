"""The driver is SIGKILLed in the middle of a study; ``detopt resume`` finishes it.

Checks: no trial that completed before the kill runs again, trials that were running are
re-run, and the budget is met exactly (no lost and no extra trials).
"""

import os
import signal
import subprocess
import sys
import time

import yaml

from detopt.storage import Storage
from detopt.trial import TrialStatus

CONFIG = {
    "name": "killed",
    "storage": "killed.db",
    "problem": {
        "evaluate": "detopt.problems.synthetic:sleep",
        "evaluate_options": {"seconds": 0.4},
        "parameters": [{"name": "x", "low": 0.0, "high": 1.0}, {"name": "y", "low": 0.0, "high": 1.0}],
        "objectives": [{"name": "f1", "threshold": 3.0}, {"name": "f2", "threshold": 3.0}],
    },
    "optimizer": {"name": "nsga2", "seed": 3, "options": {"pop_size": 6}},
    "runner": {"kind": "local", "workers": 2},
    "study": {"max_trials": 20, "concurrency": 2},
}


def detopt(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "detopt", *args, "--no-progress", "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def stored_trials(db):
    with Storage(db) as storage:
        record = storage.get_study("killed")
        return ({t.index: t for t in storage.load_trials(record.id)} if record else {}), \
            (storage.load_attempts(record.id) if record else [])


def test_sigkill_then_resume_runs_each_completed_trial_once(tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    db = tmp_path / "killed.db"
    driver = detopt("run", str(config))
    deadline = time.time() + 120
    while time.time() < deadline:
        if db.exists():
            trials, _ = stored_trials(db)
            done = [t for t in trials.values() if t.status == TrialStatus.COMPLETED]
            running = [t for t in trials.values() if t.status == TrialStatus.RUNNING]
            if len(done) >= 6 and running:
                break
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(timeout=30)
    assert driver.returncode == -signal.SIGKILL

    before, _ = stored_trials(db)
    completed_before = {i: (t.finished_at, t.metrics) for i, t in before.items()
                        if t.status == TrialStatus.COMPLETED}
    running_before = [i for i, t in before.items() if t.status == TrialStatus.RUNNING]
    assert 6 <= len(completed_before) < 20 and running_before

    resumed = detopt("resume", str(config))
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr

    after, attempts = stored_trials(db)
    assert sorted(after) == list(range(20)), "the budget is met exactly"
    assert all(t.status == TrialStatus.COMPLETED for t in after.values())
    for i, (finished_at, metrics) in completed_before.items():
        assert after[i].finished_at == finished_at and after[i].metrics == metrics
        assert [a["status"] for a in attempts if a["trial_index"] == i] == ["completed"]
    for i in running_before:  # re-run after the kill, the lost attempt recorded
        assert [a["status"] for a in attempts if a["trial_index"] == i] == ["interrupted", "completed"]
    completed_runs = [a for a in attempts if a["status"] == "completed"]
    assert len(completed_runs) == 20, "no trial completed twice"
    assert "trial budget reached" in stdout
