"""The SLURM runner on the real single-node cluster (sbatch, sacct, squeue, scancel).

The time-limit test's job is started by the first SLURM test of the session (see conftest.py)
and checked last, so that the other tests overlap with its 60-90 s wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import runner_funcs
import yaml
from studies import CUSTOM, config, sacct_jobs, slurm_runner, stored, wait_for

from detopt.errors import RemoteTaskError, TrialTimeoutError
from detopt.runners import make_runner
from detopt.runners.base import TrialCancelledError
from detopt.runners.slurm import SlurmRunner
from detopt.task import Resources, TaskCall
from detopt.trial import TrialStatus

pytestmark = pytest.mark.slurm


def scancel(job_id: str) -> None:
    subprocess.run(["scancel", job_id], check=True, capture_output=True, timeout=30)


@pytest.fixture
def runner(slurm_runner_session, slurm_timeout_job) -> SlurmRunner:
    """The session's runner; asking for it starts the time-limit job early (see conftest)."""
    return slurm_runner_session


def test_accounting_is_detected_and_the_squeue_path_works_too(runner, tmp_path):
    assert runner.state_source == "sacct"  # the test cluster runs slurmdbd
    forced = SlurmRunner(partition="debug", poll_interval=0.25, state_interval=1.0,
                         state_source="squeue", workdir=tmp_path)
    try:
        ok = forced.submit(TaskCall("runner_funcs:where", {"params": {"x": 0.5}}, label="sq.ok"))
        bad = forced.submit(TaskCall("runner_funcs:raise_here", {"params": {}}, label="sq.bad"))
        slow = forced.submit(TaskCall("runner_funcs:where", {"params": {"x": 0.5}, "seconds": 300},
                                      label="sq.cancelled"))
        job_id = slow.handle.partition("@")[0]
        wait_for(lambda: "RUNNING" in subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True).stdout,
            60, "the job to run")
        scancel(job_id)  # from outside: the runner learns it from squeue alone
        assert ok.result(timeout=120)["job_id"] == float(ok.handle.partition("@")[0])
        with pytest.raises(RemoteTaskError, match="detector overlap"):
            bad.result(timeout=120)
        error = slow.exception(timeout=120)
        assert isinstance(error, TrialCancelledError) and error.retryable
        assert f"SLURM job {job_id} CANCELLED" in str(error)
    finally:
        forced.close()


def test_task_decorator_submit_and_map_with_retries(runner, tmp_path):
    first = runner_funcs.greet.submit(runner, name="ePIC", counter=str(tmp_path / "count"))
    result = first.result(timeout=120)  # attempt 1 raised, the retry (a new job) succeeded
    assert result["text"] == "hello ePIC" and result["job"] and result["pid"] != os.getpid()
    futures = runner_funcs.greet.map(runner, [{"name": n} for n in ("a", "b", "c")])
    assert [f.result(timeout=120)["text"] for f in futures] == ["hello a", "hello b", "hello c"]
    assert "DETOPT_TEST_GREETING" not in os.environ


def test_sbatch_gets_the_options_and_the_call_resources(slurm_env, tmp_path):
    r = make_runner("slurm", {"partition": "debug", "qos": "normal", "walltime": "2h", "memory": "1GB",
                              "cores": 2, "extra": ["#SBATCH --nice=5", '--comment="detopt test"'],
                              "workdir": str(tmp_path)})
    try:
        args = r.sbatch_args(TaskCall("m:f", resources=Resources(cores=3, walltime=90,
                                                                 memory_mb=300)), tmp_path / "w%1")
        assert args[:2] == ["sbatch", "--parsable"]
        for expected in ("--partition=debug", "--qos=normal", "--cpus-per-task=3",
                         "--time=0-00:01:30", "--mem=300M", "--nice=5", "--comment=detopt test",
                         f"--output={tmp_path}/w%%1/stdout.txt"):
            assert expected in args
        defaults = r.sbatch_args(TaskCall("m:f"), tmp_path)
        assert "--cpus-per-task=2" in defaults and "--time=0-02:00:00" in defaults
        assert "--mem=1024M" in defaults
        # a real submission with these options: extra directives reach SLURM
        future = r.submit(TaskCall("runner_funcs:where", {"params": {"x": 1.0}}, label="opts"))
        assert future.handle, future.exception()
        job_id = future.handle.partition("@")[0]
        assert future.result(timeout=120)["job_id"] == float(job_id)
        shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                               text=True).stdout
        assert "Nice=5" in shown and "Comment=detopt test" in shown and "QOS=normal" in shown
    finally:
        r.close()


def test_reattach_finds_finished_and_running_jobs_and_not_unknown_ones(runner, tmp_path):
    done = runner.submit(TaskCall("runner_funcs:where", {"params": {"x": 0.25}}, label="re.done"))
    done.result(timeout=120)
    running = runner.submit(TaskCall("runner_funcs:where", {"params": {"x": 0.75}, "seconds": 3},
                                     label="re.running"))
    other = SlurmRunner(partition="debug", poll_interval=0.25, state_interval=1.0,
                        workdir=runner.workdir)
    try:
        assert other.reattach(done.handle).result(timeout=5)["f1"] == pytest.approx(0.0625)
        again = other.reattach(running.handle)
        assert again.result(timeout=120) == running.result(timeout=120)
        assert other.reattach(f"999999@{tmp_path}/never-submitted") is None
    finally:
        other.close()


def test_scancel_from_outside_is_retried_by_the_study(slurm_env, tmp_path):
    import detopt

    cfg = config(CUSTOM, tmp_path, slurm_runner(tmp_path),
                 problem={"evaluate": "runner_funcs:slow_first",
                          "evaluate_options": {"state_dir": str(tmp_path / "calls")}},
                 study={"max_trials": 1, "concurrency": 1, "max_retries": 1})
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=tmp_path))
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(study.run()), daemon=True)
    thread.start()
    try:
        def first_handle():  # the job's handle, not the intent stored just before sbatch
            trial = stored(cfg)[0].get(0)
            handle = trial.runner_handle if trial is not None else None
            return handle if handle and "@" in handle else None

        handle = wait_for(first_handle, 60, "the first job")
        job_id = handle.partition("@")[0]
        # cancel once the evaluation itself runs (it leaves a mark), not while python starts
        wait_for(lambda: list((tmp_path / "calls").glob("*.calls")), 60, "the evaluation to start")
        scancel(job_id)
        thread.join(timeout=180)
        assert not thread.is_alive()
    finally:
        study.request_stop("test over")
        thread.join(timeout=60)
        study.close()
    trials, attempts = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED and trials[0].attempts == 2
    assert [a["status"] for a in attempts] == ["failed", "completed"]
    assert f"SLURM job {job_id} CANCELLED" in attempts[0]["error"]
    assert attempts[0]["runner_handle"] == handle != attempts[1]["runner_handle"]
    states = {j["job_id"]: j["state"] for j in wait_for(
        lambda: len(sacct_jobs(cfg["name"])) == 2 and sacct_jobs(cfg["name"]), 60, "accounting")}
    assert states[job_id].startswith("CANCELLED")


@pytest.mark.slow
def test_sigkilled_driver_is_resumed_and_reattaches_without_resubmitting(slurm_env, tmp_path):
    """4 trials, 2 at a time, 4 s each: the driver is killed while the last two jobs run (no
    submission is then in flight); ``detopt resume`` must take their results from those jobs."""
    cfg = config(CUSTOM, tmp_path, slurm_runner(tmp_path),
                 problem={"evaluate_options": {"seconds": 4.0}},
                 study={"max_trials": 4, "concurrency": 2})
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(runner_funcs.__file__).parent), os.environ.get("PYTHONPATH", "")])}

    def detopt(*args):
        return subprocess.Popen([sys.executable, "-m", "detopt", *args, str(path), "--no-progress",
                                 "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=tmp_path)

    driver = detopt("run")
    try:
        def last_two_running():
            if not Path(cfg["storage"]).exists():
                return None
            trials = stored(cfg)[0]
            running = [t for t in trials.values() if t.status == TrialStatus.RUNNING]
            if len(trials) == 4 and len(running) == 2 and all(
                    t.runner_handle and "@" in t.runner_handle for t in running):  # not intents
                return {t.index: t.runner_handle for t in running}
            return None
        running = wait_for(last_two_running, 120, "the last two trials to run")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.communicate(timeout=30)
    jobs_at_kill = {h.partition("@")[0] for h in running.values()}
    queued = subprocess.run(["squeue", "-h", "-j", ",".join(jobs_at_kill), "-o", "%i"],
                            capture_output=True, text=True).stdout.split()
    assert queued, "the jobs outlive the driver (still queued or running at the kill)"

    resumed = detopt("resume")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert "trial budget reached" in stdout

    trials, attempts = stored(cfg)
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 1 for t in trials.values())
    assert [a["status"] for a in attempts] == ["completed"] * 4, "no interrupted attempt"
    for index, handle in running.items():  # the same jobs, and their results were used
        assert trials[index].runner_handle == handle
        assert trials[index].metrics["job_id"][0] == float(handle.partition("@")[0])
    jobs = wait_for(lambda: len(sacct_jobs(cfg["name"])) >= 4 and sacct_jobs(cfg["name"]), 60,
                    "accounting of all jobs")
    names = sorted(j["name"] for j in jobs)
    assert names == [f"{cfg['name']}.t{i}.a1" for i in range(4)], "exactly one job per attempt"
    assert all(j["state"] == "COMPLETED" for j in jobs)


@pytest.mark.slow
def test_a_job_over_its_time_limit_fails_with_the_timeout_error(slurm_timeout_job):
    error = slurm_timeout_job.exception(timeout=300)
    job_id = slurm_timeout_job.handle.partition("@")[0]
    assert isinstance(error, TrialTimeoutError) and error.retryable
    assert f"SLURM job {job_id} TIMEOUT" in str(error) and "time limit" in str(error)
