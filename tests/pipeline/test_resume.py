"""The driver is SIGKILLed while a pipeline trial is in its simulate stage; ``detopt resume``
does not re-run the finished geometry and check stages nor the finished simulate job, runs the
unfinished jobs again (the local runner is not durable: its workers died with the driver, and
took their commands with them), and the trial completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import yaml
from pipekit import METRICS_STAGE, stored, study, tool

from detopt.trial import TrialStatus


def detopt(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "detopt", *args, "--no-progress", "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def events(log):
    return [" ".join(line.split()[:2]) for line in lines(log)]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_resume_after_sigkill_continues_inside_the_trial(tmp_path):
    (tmp_path / "geometry").mkdir()
    (tmp_path / "geometry" / "det.xml").write_text('<lccdd><mirror radius="200*cm"/></lccdd>')
    check_log, sim_log, release = tmp_path / "check.log", tmp_path / "sim.log", tmp_path / "release"
    stages = [
        {"name": "check", "command": tool("overlaps", str(check_log), "0"),
         "gate": {"require": "extrusions : 0"}},
        {"name": "simulate", "jobs": 3,
         "command": tool("mark", str(sim_log), "j{{ job.index }}", "0",
                         "{{ '-' if job.index == 0 else '%s' }}" % release)},
        METRICS_STAGE,
    ]
    parameters = [{"name": "x", "low": 0.0, "high": 1.0},
                  {"name": "radius", "low": 180, "high": 260, "unit": "cm", "file": "det.xml",
                   "xpath": "//mirror", "attribute": "radius"}]
    cfg = study(tmp_path, stages, parameters=parameters, runner={"kind": "local", "workers": 3},
                pipeline={"geometry": {"source": "geometry"}})
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))

    driver = detopt("run", str(path))
    wait_for(lambda: {"end j0", "start j1", "start j2"} <= set(events(sim_log)), 180,
             "job 0 to finish while jobs 1 and 2 run")
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(timeout=30)
    geometry_file = tmp_path / "work" / "t0" / "a1" / "geometry" / "det.xml"
    edited = geometry_file.stat().st_mtime_ns
    trials, _, states = stored(cfg)
    assert trials[0].status == TrialStatus.RUNNING
    assert trials[0].runner_handle == f"pipeline:{cfg['name']}.t0.a1"
    assert [j["status"] for j in states[0]["stages"]["simulate"]["jobs"]] == ["done", "running", "running"]

    # the killed driver's commands died with it: released now, none of them finishes
    release.write_text("go")
    time.sleep(1.5)
    assert events(sim_log).count("end j1") == 0 and events(sim_log).count("end j2") == 0

    resumed = detopt("resume", str(path))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err

    trials, attempts, states = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED, trials[0].error
    assert [a["status"] for a in attempts] == ["completed"]  # one attempt, continued
    assert lines(check_log) == ["overlaps"]  # the check stage ran once
    assert geometry_file.stat().st_mtime_ns == edited  # the geometry was not prepared again
    sim = events(sim_log)
    assert sim.count("start j0") == 1 and sim.count("end j0") == 1  # finished: not re-run
    for job in ("j1", "j2"):  # unfinished: run again, finished once
        assert sim.count(f"start {job}") == 2 and sim.count(f"end {job}") == 1
    jobs = states[0]["stages"]["simulate"]["jobs"]
    assert [j["tries"] for j in jobs] == [1, 1, 1] and all(j["status"] == "done" for j in jobs)
    assert [j.get("interrupted", 0) for j in jobs] == [0, 1, 1]  # no retry used up
