"""The stage-job entry point: commands as argument lists, gates, failures, timeouts, setup."""

from __future__ import annotations

import os
import sys
import time

import pytest
from pipekit import TOOL

from detopt.errors import TrialTimeoutError
from detopt.pipeline.container import SETUP_PROGRAM, setup_argv
from detopt.pipeline.job import StageJobError, run_stage_job


def spec(tmp_path, argv, **extra):
    return {"stage": "s", "job": 0, "kind": "command", "argv": argv, "cwd": str(tmp_path / "j0"),
            "trial_dir": str(tmp_path), "env": {}, "outputs": {}, "timeout": None,
            "gate": None, "setup": None, "container": None, **extra}


OVERLAP_GATE = {"exit_codes": [9], "pattern": None, "source": "stdout",
                "require": r"illegal overlaps/extrusions : 0$", "message": "overlaps found"}


def test_a_gate_reports_an_infeasible_design_instead_of_failing(tmp_path):
    log = str(tmp_path / "runs.log")
    ok = run_stage_job(spec(tmp_path, [sys.executable, TOOL, "overlaps", log, "0"], gate=OVERLAP_GATE))
    assert ok["infeasible"] is None and ok["returncode"] == 0
    bad = run_stage_job(spec(tmp_path, [sys.executable, TOOL, "overlaps", log, "3"], gate=OVERLAP_GATE))
    assert bad["infeasible"].startswith("overlaps found") and "not found in stdout.txt" in bad["infeasible"]
    by_code = run_stage_job(spec(tmp_path, [sys.executable, TOOL, "exit", "9"], gate=OVERLAP_GATE))
    assert by_code["infeasible"] == "overlaps found (exit status 9)"
    pattern = {**OVERLAP_GATE, "require": None, "pattern": r"extrusions : [1-9]"}
    found = run_stage_job(spec(tmp_path, [sys.executable, TOOL, "overlaps", log, "3"], gate=pattern))
    assert found["infeasible"] == "overlaps found: Number of illegal overlaps/extrusions : 3"


def test_a_failing_command_raises_with_the_end_of_its_stderr(tmp_path):
    with pytest.raises(StageJobError) as err:
        run_stage_job(spec(tmp_path, [sys.executable, TOOL, "fail-once", str(tmp_path / "c")]))
    assert err.value.retryable
    assert "exited with status 3" in str(err.value) and "first run fails on purpose" in str(err.value)
    assert str(tmp_path / "j0" / "stderr.txt") in str(err.value)
    # a crash (exit 1) with a gate on the output is a failure, not an infeasible design
    with pytest.raises(StageJobError, match="status 1"):
        run_stage_job(spec(tmp_path, [sys.executable, TOOL, "exit", "1"], gate=OVERLAP_GATE))
    with pytest.raises(StageJobError, match="cannot start") as err:
        run_stage_job(spec(tmp_path, ["/no/such/program", "x"]))
    assert not err.value.retryable


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "grandchild-survived"
    script = f"import subprocess, sys; subprocess.Popen(['sh', '-c', 'sleep 3; touch {marker}']); " \
             "import time; time.sleep(30)"
    started = time.monotonic()
    with pytest.raises(TrialTimeoutError, match="0.5 s timeout"):
        run_stage_job(spec(tmp_path, [sys.executable, "-c", script], timeout=0.5))
    assert time.monotonic() - started < 20
    time.sleep(3.5)
    assert not marker.exists()


def test_a_setup_script_is_sourced_without_a_shell_seeing_the_values(tmp_path):
    script = tmp_path / "this env.sh"  # a space in the path too
    script.write_text('export DETOPT_T="$1|$2"\ncd /\n')
    value = "x; touch pwned $(touch pwned) 'q\""
    argv = [sys.executable, TOOL, "argv", value]
    out = run_stage_job(spec(tmp_path, argv, setup={"script": str(script), "args": [value, "b c"]},
                             outputs={"seen": {"path": "argv.json", "format": "json"}}))
    # the setup's `cd /` does not matter: the command runs where it was started (exec)
    assert out["outputs"]["seen"] == {"argv": [value], "env": f"{value}|b c"}
    assert not list(tmp_path.rglob("pwned"))
    # the program given to bash is a constant: values only ever appear after it
    full = setup_argv(str(script), [value], argv)
    assert full[:5] == ["bash", "--noprofile", "--norc", "-c", SETUP_PROGRAM]
    assert value not in SETUP_PROGRAM
    failing = tmp_path / "bad.sh"
    failing.write_text("return 4\n")
    with pytest.raises(StageJobError, match="status 127.*setup script .*bad.sh failed"):
        run_stage_job(spec(tmp_path, argv, setup={"script": str(failing), "args": []}))


def test_the_stage_environment_reaches_only_the_command(tmp_path):
    out = run_stage_job(spec(tmp_path, [sys.executable, TOOL, "argv"], env={"DETOPT_T": "v 1"},
                             outputs={"seen": {"path": "argv.json", "format": "json"}}))
    assert out["outputs"]["seen"]["env"] == "v 1"
    assert "DETOPT_T" not in os.environ
