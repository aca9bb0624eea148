"""The Dask runner on the real scheduler + 2 workers, and on LocalClusters it starts itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import runner_funcs
from studies import CUSTOM, config, stored, wait_for

import detopt
from detopt.errors import ConfigError, RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners import make_runner
from detopt.runners.base import TrialCancelledError
from detopt.runners.dask import DaskRunner
from detopt.task import Resources, TaskCall
from detopt.trial import TrialStatus

HERE = Path(__file__).resolve().parent


def where(seconds: float = 0.0, x: float = 0.5, label: str = "t", **resources) -> TaskCall:
    return TaskCall("runner_funcs:where", {"params": {"x": x}, "seconds": seconds},
                    Resources(**resources), label=label)


@pytest.fixture
def runner(dask_address):
    r = DaskRunner(address=dask_address)
    yield r
    r.close()


@pytest.mark.dask
def test_task_decorator_submit_and_map_with_retries(runner, tmp_path):
    first = runner_funcs.greet.submit(runner, name="ePIC", counter=str(tmp_path / "count"))
    result = first.result(timeout=60)  # attempt 1 raised, the retry succeeded
    assert result["text"] == "hello ePIC" and result["pid"] != os.getpid()
    futures = runner_funcs.greet.map(runner, [{"name": n} for n in ("a", "b", "c")])
    assert [f.result(timeout=60)["text"] for f in futures] == ["hello a", "hello b", "hello c"]


@pytest.mark.dask
def test_short_calls_are_never_published(runner):
    futures = [runner.submit(where(label="short")) for _ in range(5)]
    assert [f.result(timeout=60)["f1"] for f in futures] == [0.25] * 5
    assert runner.publish_after == 5.0
    assert not {f.handle for f in futures} & set(runner.client.list_datasets())


@pytest.mark.dask
def test_timeout_and_cancel_release_the_task(runner):
    late = runner.submit(where(seconds=2, walltime=0.5, label="late"))
    error = late.exception(timeout=60)
    assert isinstance(error, TrialTimeoutError) and late.handle in str(error)
    waiting = runner.submit(where(seconds=2, label="cancelled"))
    assert runner.cancel(waiting)
    assert isinstance(waiting.exception(timeout=5), TrialCancelledError)
    assert runner.submit(where(label="after")).result(timeout=60)["f1"] == 0.25
    keys = {late.handle, waiting.handle}
    assert not keys & set(runner.client.list_datasets()), "released tasks are unpublished"


@pytest.mark.dask
def test_a_killed_driver_leaves_its_task_to_be_reattached(dask_address, tmp_path):
    driver_code = textwrap.dedent("""
        import sys, time
        from detopt.runners.dask import DaskRunner
        from detopt.task import Resources, TaskCall
        r = DaskRunner(address=sys.argv[1], publish_after=0.5)
        f = r.submit(TaskCall("runner_funcs:where", {"params": {"x": 0.5}, "seconds": 4},
                              Resources(), label="killed.t0.a1"))
        deadline = time.monotonic() + 30
        while f.handle not in r.client.list_datasets() and time.monotonic() < deadline:
            time.sleep(0.1)  # published once it has run publish_after seconds
        print(f.handle, f.handle in r.client.list_datasets(), f.done(), flush=True)
        time.sleep(120)
    """)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", driver_code, dask_address], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        handle, published, done = driver.stdout.readline().split()
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.communicate(timeout=30)
    assert handle.startswith("detopt-killed.t0.a1-")
    assert (published, done) == ("True", "False"), "published while it ran"
    runner = DaskRunner(address=dask_address)
    try:
        assert runner.durable
        future = runner.reattach(handle)
        assert future is not None, "the scheduler kept the task of the dead driver"
        result = future.result(timeout=60)
        assert result["f1"] == 0.25 and result["pid"] != driver.pid
        wait_for(lambda: handle not in runner.client.list_datasets(), 30,
                 "the collected task to be unpublished")
        assert runner.reattach(handle) is None and runner.reattach("detopt-unknown") is None
    finally:
        runner.close()


@pytest.mark.dask
def test_upload_makes_a_driver_side_module_importable_on_the_workers(dask_address, tmp_path):
    module = f"detopt_upload_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{module}.py"
    path.write_text("def evaluate(params):\n    return {'f1': params['x'] * 2, 'f2': 1.0}\n")
    call = TaskCall(f"{module}:evaluate", {"params": {"x": 2.0}}, label="upload")
    plain = DaskRunner(address=dask_address)
    try:
        error = plain.submit(call).exception(timeout=60)
        assert isinstance(error, RemoteTaskError) and "cannot import module" in str(error)
        assert not error.retryable
    finally:
        plain.close()
    with make_runner("dask", {"address": dask_address, "upload": [str(path)]}) as uploading:
        assert uploading.submit(call).result(timeout=60) == {"f1": 4.0, "f2": 1.0}


@pytest.mark.dask
def test_closing_a_runner_leaves_a_cluster_it_did_not_start(dask_address):
    DaskRunner(address=dask_address).close()
    with DaskRunner(address=dask_address) as again:
        assert again.submit(where(label="still-up")).result(timeout=60)["f2"] == 0.25


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="runner.bogus"):
        make_runner("dask", {"bogus": 1})
    with pytest.raises(ConfigError, match="runner.workers"):
        make_runner("dask", {"workers": 0})
    with pytest.raises(ConfigError, match="runner.durable"):
        make_runner("dask", {"durable": True})
    with pytest.raises(ConfigError, match=r"runner.upload\[0\]"):
        make_runner("dask", {"address": "tcp://127.0.0.1:1", "upload": ["/no/such/file.py"]})


@pytest.fixture(scope="module")
def own_cluster():
    """A LocalCluster started by the runner: 1 worker, 2 threads (resources CPU=2); a task
    whose worker dies fails at once instead of being retried on another worker."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        runner = DaskRunner(workers=1, threads_per_worker=2)
    yield runner
    runner.close()


def test_a_started_local_cluster_honours_cores_and_stops_with_the_runner(own_cluster, tmp_path):
    assert own_cluster.slots == 2 and not own_cluster.durable
    assert own_cluster.resource_request(Resources(cores=2, gpus=1)) == {"CPU": 2.0}

    def pair(cores: int, folder: Path) -> list[bool]:
        calls = [TaskCall("runner_funcs:rendezvous",
                          {"me": me, "other": other, "folder": str(folder), "wait": 5.0},
                          Resources(cores=cores), label=f"c{cores}")
                 for me, other in (("a", "b"), ("b", "a"))]
        return [f.result(timeout=60) for f in [own_cluster.submit(c) for c in calls]]

    assert pair(1, tmp_path / "one") == [True, True], "two 1-core calls run side by side"
    assert sorted(pair(2, tmp_path / "two")) == [False, True], "2-core calls take turns"
    with pytest.raises(ConfigError, match="CPU=3"):
        own_cluster.submit(TaskCall("runner_funcs:where", resources=Resources(cores=3)))


def test_a_worker_that_dies_is_a_lost_worker(own_cluster):
    error = own_cluster.submit(TaskCall("runner_funcs:crash", label="crash")).exception(timeout=120)
    assert isinstance(error, WorkerLostError) and error.retryable
    assert own_cluster.submit(where(label="after-crash")).result(timeout=120)["f1"] == 0.25


def test_closing_the_runner_stops_the_cluster_it_started():
    runner = DaskRunner(workers=1)
    scheduler = runner.client.scheduler.address
    runner.close()
    from distributed import Client

    with pytest.raises(OSError):
        Client(scheduler, timeout=2).close()


@pytest.mark.dask
def test_a_halted_study_leaves_its_tasks_and_resume_reattaches(dask_address, tmp_path):
    cfg = config(CUSTOM, tmp_path, {"kind": "dask", "address": dask_address, "publish_after": 0.2},
                 problem={"evaluate_options": {"seconds": 3.0}},
                 study={"max_trials": 2, "concurrency": 2, "max_wall_time": 1.5})
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=tmp_path))
    try:
        outcome = study.run()
    finally:
        study.close()
    assert outcome.stop_reason.startswith("wall-clock limit")
    trials, _ = stored(cfg)
    handles = {i: t.runner_handle for i, t in trials.items()}
    assert all(t.status == TrialStatus.RUNNING for t in trials.values()) and len(handles) == 2

    resumed = detopt.resume_study(cfg["storage"], cfg["name"], {"max_wall_time": 300})
    try:
        outcome = resumed.run()
    finally:
        resumed.close()
    assert outcome.stop_reason == "trial budget reached"
    trials, attempts = stored(cfg)
    assert all(t.status == TrialStatus.COMPLETED and t.attempts == 1 for t in trials.values())
    assert [a["status"] for a in attempts] == ["completed", "completed"], "re-attached, not re-run"
    assert {i: t.runner_handle for i, t in trials.items()} == handles
