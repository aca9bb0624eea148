"""The local runner with real worker processes: results, exceptions with tracebacks, timeouts,
crashes and cancellation each cost only their own call."""

import os
import time

import pytest

from detopt.errors import RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners import TrialCancelledError, make_runner
from detopt.runners.local import LocalRunner
from detopt.task import TaskCall

SYN = "detopt.problems.synthetic"


def call(function, **kwargs):
    return TaskCall(f"{SYN}:{function}", {"params": kwargs.pop("params", {"x": 1.0}), **kwargs})


def test_results_come_back_in_any_order_with_the_right_values(runner):
    futures = [runner.submit(call("sphere", params={"x": float(i)})) for i in range(50)]
    assert [f.result(timeout=30)["f1"] for f in futures] == [float(i * i) for i in range(50)]
    assert all(f.handle.startswith("local:") for f in futures)


def test_exception_travels_back_with_its_traceback(runner):
    future = runner.submit(call("fail", message="mirror too small"))
    with pytest.raises(RemoteTaskError) as info:
        future.result(timeout=30)
    assert info.value.type_name == "RuntimeError"
    assert "mirror too small" in str(info.value)
    assert "synthetic.py" in info.value.traceback_text and "raise RuntimeError" in info.value.traceback_text


def test_timeout_and_crash_cost_only_their_call():
    runner = LocalRunner(workers=2, walltime=1.0)
    try:
        slow = runner.submit(call("sleep", seconds=30))
        crash = runner.submit(call("crash", code=7))
        with pytest.raises(WorkerLostError, match="exit code 7"):
            crash.result(timeout=30)
        with pytest.raises(TrialTimeoutError, match="1 s limit"):
            slow.result(timeout=30)
        # the pool replaced both workers and keeps working
        assert [runner.submit(call("sphere")).result(timeout=30)["f1"] for _ in range(4)] == [1.0] * 4
    finally:
        runner.close()


def test_call_walltime_overrides_runner_default(runner):
    short = call("sleep", seconds=5).with_resources(walltime=0.3)
    with pytest.raises(TrialTimeoutError):
        runner.submit(short).result(timeout=30)


def test_cancel_running_and_queued_calls(runner):
    running = [runner.submit(call("sleep", seconds=30)) for _ in range(2)]
    queued = runner.submit(call("sleep", seconds=30))
    time.sleep(0.5)
    assert runner.cancel(queued) and queued.cancelled()
    assert runner.cancel(running[0])
    with pytest.raises(TrialCancelledError):
        running[0].result(timeout=30)


def test_workers_are_fresh_interpreters_without_the_drivers_main(tmp_path):
    # A user script without a __main__ guard must not be re-executed by the workers.
    script = tmp_path / "script.py"
    marker = tmp_path / "ran"
    script.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).open('a').write('x')\n"
        "from detopt.runners.local import LocalRunner\n"
        "from detopt.task import TaskCall\n"
        "r = LocalRunner(workers=2)\n"
        "print(r.submit(TaskCall('detopt.problems.synthetic:sphere', {'params': {'x': 2.0}})).result())\n"
        "r.close()\n")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'f1': 4.0" in done.stdout
    assert marker.read_text() == "x"


def test_closing_stops_all_worker_processes():
    runner = LocalRunner(workers=2)
    pids = [w.process.pid for w in runner._pool]
    runner.submit(call("sleep", seconds=30))
    runner.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_runner_options_from_config_are_checked():
    from detopt.errors import ConfigError

    runner = make_runner("local", {"workers": 1, "walltime": "2m"})
    assert runner.slots == 1 and runner.walltime == 120.0
    runner.close()
    with pytest.raises(ConfigError, match="runner.wokers"):
        make_runner("local", {"wokers": 2})
    with pytest.raises(ConfigError, match="runner.timeout: the option 'timeout' is now called"):
        make_runner("local", {"timeout": "2m"})
    with pytest.raises(ConfigError, match="unknown runner"):
        make_runner("cloud")
