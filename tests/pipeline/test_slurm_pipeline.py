"""A pipeline study on the real SLURM test cluster: every stage job is a SLURM job with its
stage's resources (checked in sacct); the driver is SIGKILLed during the simulate stage and
``detopt resume`` re-attaches to the job still running instead of submitting it again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from pipekit import METRICS_STAGE, stored, study, tool

from detopt.trial import TrialStatus

pytestmark = pytest.mark.slurm


def detopt(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "detopt", *args, "--no-progress", "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def events(log):
    return [" ".join(line.split()[:2]) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def sacct(prefix: str) -> dict[str, list[dict[str, str]]]:
    out = subprocess.run(["sacct", "--noheader", "--parsable2", "--allocations", "--starttime=now-1days",
                          "--format=JobIDRaw,JobName%100,State,AllocCPUS,ReqMem,Timelimit"],
                         capture_output=True, text=True, check=True).stdout
    jobs: dict[str, list[dict[str, str]]] = {}
    for line in out.splitlines():
        row = dict(zip(("id", "name", "state", "cpus", "mem", "time"), line.split("|"), strict=True))
        if row["name"].startswith(prefix):
            jobs.setdefault(row["name"].removeprefix(prefix), []).append(row)
    return jobs


def test_stage_jobs_are_slurm_jobs_and_resume_reattaches(slurm_env, tmp_path):
    sim_log, release = tmp_path / "sim.log", tmp_path / "release"
    stages = [
        {"name": "check", "command": tool("overlaps", str(tmp_path / "check.log"), "0"),
         "gate": {"require": "extrusions : 0"},
         "resources": {"cores": 1, "memory": "200MB", "walltime": "5m"}},
        {"name": "simulate", "jobs": 2,
         "command": tool("mark", str(sim_log), "j{{ job.index }}", "0",
                         "{{ '-' if job.index == 0 else '%s' }}" % release),
         "resources": {"cores": 2, "memory": "300MB", "walltime": "10m"}},
        {**METRICS_STAGE, "resources": {"cores": 1, "memory": "100MB", "walltime": "2m"}},
    ]
    runner = {"kind": "slurm", "partition": "debug", "workdir": str(tmp_path / "jobs"),
              "poll_interval": 0.25, "state_interval": 1.0}
    cfg = study(tmp_path, stages, runner=runner)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))

    driver = detopt("run", str(path))
    wait_for(lambda: {"end j0", "start j1"} <= set(events(sim_log)), 240,
             "simulate job 0 to finish while job 1 runs")
    wait_for(lambda: stored(cfg)[2][0]["stages"]["simulate"]["jobs"][0]["status"] == "done", 60,
             "the driver to store job 0")
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(timeout=30)
    _, _, states = stored(cfg)
    before = states[0]["stages"]["simulate"]["jobs"][1]
    assert before["status"] == "running" and "@" in before["handle"]
    release.write_text("go")  # the SLURM job outlived the driver and finishes now

    resumed = detopt("resume", str(path))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    trials, attempts, states = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED, trials[0].error
    assert [a["status"] for a in attempts] == ["completed"]
    after = states[0]["stages"]["simulate"]["jobs"][1]
    assert after["handle"] == before["handle"] and after["tries"] == 1  # re-attached
    assert events(sim_log).count("start j1") == 1  # never submitted twice

    prefix = f"{cfg['name']}.t0.a1."
    # the driver reads a job's result file before accounting may have recorded the job's end
    wait_for(lambda: len(sacct(prefix)) == 4 and all(
        r["state"] == "COMPLETED" for rows in sacct(prefix).values() for r in rows), 60,
        "sacct to record the four jobs")
    jobs = sacct(prefix)
    assert sorted(jobs) == ["check.j0", "evaluate.j0", "simulate.j0", "simulate.j1"]
    assert all(len(rows) == 1 and rows[0]["state"] == "COMPLETED" for rows in jobs.values())
    expected = {"check.j0": ("1", "200M", "00:05:00"), "simulate.j0": ("2", "300M", "00:10:00"),
                "simulate.j1": ("2", "300M", "00:10:00"), "evaluate.j0": ("1", "100M", "00:02:00")}
    for name, (cpus, mem, limit) in expected.items():
        row = jobs[name][0]
        assert (row["cpus"], row["mem"], row["time"]) == (cpus, mem, limit), row
    assert after["handle"].startswith(jobs["simulate.j1"][0]["id"] + "@")
