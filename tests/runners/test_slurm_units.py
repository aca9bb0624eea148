"""SLURM runner pieces that need no cluster: options, state mapping, the job entry point."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from detopt.errors import ConfigError, RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners import make_runner, slurm_job
from detopt.runners.base import TrialCancelledError
from detopt.runners.slurm import _check_value, _extra_args, _slurm_time
from detopt.runners.slurm_states import JobState, error_for
from detopt.task import TaskCall


def test_time_limits_are_formatted_for_sbatch():
    assert _slurm_time(1) == "0-00:00:01"
    assert _slurm_time(90.2) == "0-00:01:31"
    assert _slurm_time(2 * 86400 + 3723) == "2-01:02:03"


def test_extra_directives_are_split_like_sbatch_lines_and_checked():
    assert _extra_args(["#SBATCH --exclusive", '--comment="two words"', "--nice=3"]) == \
        ["--exclusive", "--comment=two words", "--nice=3"]
    assert _extra_args("--exclusive") == ["--exclusive"]
    assert _extra_args(["--ntasks-per-core=1", "--exclusive"]) == ["--ntasks-per-core=1", "--exclusive"]
    for bad, message in ((["--output=/x"], "sets --output"), (["-J name"], "sets -J"),
                         # every spelling sbatch accepts: attached short values, long prefixes
                         (["-o/tmp/x"], "sets -o"), (["--outp=/tmp/x"], "sets --output"),
                         (["-D/tmp"], "sets -D"), (["-Jother"], "sets -J"),
                         (["--job=x"], "sets --job-name"), (["--exp=NONE"], "sets --export"),
                         (["exclusive"], "not an sbatch option"), (["--a\n--b"], "several lines")):
        with pytest.raises(ConfigError, match=message):
            _extra_args(bad)


def test_plain_values_only():
    assert _check_value("partition", "gpu-a100") == "gpu-a100"
    assert _check_value("constraint", "skylake&ib") == "skylake&ib"
    for bad in ("debug; rm -rf /", "two words", "$(id)", "--wrap=x", "a\nb", "debug\n"):
        with pytest.raises(ConfigError, match="runner.partition"):
            _check_value("partition", bad)


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="runner.partiton"):
        make_runner("slurm", {"partiton": "debug"})
    with pytest.raises(ConfigError, match="runner.poll_interval"):
        make_runner("slurm", {"poll_interval": 0})
    with pytest.raises(ConfigError, match="runner.env"):
        make_runner("slurm", {"env": ["A=1"]})


@pytest.mark.parametrize("state, error_type, retryable, words", [
    ("TIMEOUT", TrialTimeoutError, True, "time limit 00:01:00"),
    ("CANCELLED", TrialCancelledError, True, "cancelled outside detopt"),
    ("OUT_OF_MEMORY", WorkerLostError, False, "ran out of memory"),
    ("NODE_FAIL", WorkerLostError, True, "lost by the batch system"),
    ("PREEMPTED", WorkerLostError, True, "lost by the batch system"),
    ("BOOT_FAIL", WorkerLostError, True, "lost by the batch system"),
    ("DEADLINE", WorkerLostError, True, "lost by the batch system"),
    ("FAILED", WorkerLostError, True, "without writing a result"),
])
def test_final_states_map_to_trial_errors(state, error_type, retryable, words):
    job = JobState("42", state, reason="None", exit_code="0:9", elapsed="00:01:31",
                   time_limit="00:01:00")
    error = error_for(job)
    assert type(error) is error_type and error.retryable is retryable
    assert str(error).startswith(f"SLURM job 42 {state} (") and words in str(error)
    assert "exit code 0:9" in str(error) and "\n" not in str(error)


def test_the_job_entry_point_writes_the_outcome(tmp_path):
    call_file, result_file = tmp_path / "call.pkl", tmp_path / "result.pkl"
    call_file.write_bytes(pickle.dumps(TaskCall("detopt.problems.synthetic:sphere",
                                                {"params": {"x": 2.0}})))
    assert slurm_job.main([str(call_file), str(result_file)]) == 0
    assert pickle.loads(result_file.read_bytes()) == ("ok", {"f1": 4.0, "f2": 1.0})

    call_file.write_bytes(pickle.dumps(TaskCall("detopt.problems.synthetic:fail",
                                                {"params": {}, "message": "no photons"})))
    proc = subprocess.run([sys.executable, "-m", "detopt.runners.slurm_job", str(call_file),
                           str(result_file)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "RuntimeError: no photons" in proc.stderr
    status, error = pickle.loads(result_file.read_bytes())
    assert status == "error" and isinstance(error, RemoteTaskError)
    assert "in fail" in error.traceback_text

    call_file.write_bytes(b"not a pickle")
    assert slurm_job.main([str(call_file), str(result_file)]) == 2
    status, error = pickle.loads(result_file.read_bytes())
    assert status == "error" and "cannot read the call file" in str(error) and not error.retryable
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
