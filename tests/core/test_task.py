"""@detopt.task: a local call stays a local call; submit/map run it on a runner and return
standard futures; retries, environment and resources travel with the call."""

import os
from concurrent.futures import Future
from pathlib import Path

import pytest

import detopt
from detopt.errors import ConfigError, RemoteTaskError
from detopt.task import Resources, TaskCall, execute, function_reference, resolve


@detopt.task(cores=1, memory="2GB", walltime="1h", env={"DETOPT_TEST_GREETING": "hello"})
def greet(name: str) -> dict:
    return {"text": f"{os.environ.get('DETOPT_TEST_GREETING')} {name}", "pid": os.getpid()}


@detopt.task(retries=2)
def fails_twice(counter: str) -> int:
    path = Path(counter)
    seen = int(path.read_text()) if path.exists() else 0
    path.write_text(str(seen + 1))
    if seen < 2:
        raise ValueError(f"attempt {seen + 1}")
    return seen + 1


@detopt.task(retries=1)
def always_fails() -> None:
    raise KeyError("missing calibration")


def test_calling_runs_locally_in_this_process():
    result = greet("dRICH")
    assert result["pid"] == os.getpid()
    assert result["text"] == "None dRICH"  # env applies to submitted calls, not plain calls


def test_submit_and_map_run_in_workers_with_the_env(runner):
    future = greet.submit(runner, name="ePIC")
    assert isinstance(future, Future)
    assert future.result(timeout=60)["text"] == "hello ePIC"
    assert future.result()["pid"] != os.getpid()
    futures = greet.map(runner, [{"name": str(i)} for i in range(6)])
    assert [f.result(timeout=60)["text"] for f in futures] == [f"hello {i}" for i in range(6)]
    assert "DETOPT_TEST_GREETING" not in os.environ


def test_retries_resubmit_until_success(runner, tmp_path):
    assert fails_twice.submit(runner, counter=str(tmp_path / "c")).result(timeout=60) == 3


def test_exhausted_retries_return_the_last_error_with_traceback(runner):
    with pytest.raises(RemoteTaskError) as info:
        always_fails.submit(runner).result(timeout=60)
    assert info.value.type_name == "KeyError" and "missing calibration" in str(info.value)
    assert "always_fails" in info.value.traceback_text


def test_resources_are_parsed_and_carried():
    call = greet.call(name="x")
    assert call.resources == Resources(cores=1, memory_mb=2048, walltime=3600.0,
                                       env={"DETOPT_TEST_GREETING": "hello"})
    assert call.function.endswith(":greet") and call.kwargs == {"name": "x"}
    with pytest.raises(ConfigError, match="walltime"):
        detopt.task(walltime="soonish")(lambda: None)


def test_references_must_be_importable():
    with pytest.raises(ConfigError, match="lambda or nested"):
        function_reference(lambda: None)
    with pytest.raises(ConfigError, match="cannot import module"):
        resolve("no_such_module_xyz:f")
    with pytest.raises(ConfigError, match="has no"):
        resolve("os.path:no_such_function")
    with pytest.raises(RemoteTaskError, match="cannot import module") as info:  # in a worker
        execute(TaskCall("no_such_module_xyz:f"))
    assert not info.value.retryable
