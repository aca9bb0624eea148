"""Smoke tests: the services started by scripts/test.sh are real and reachable.

Nothing here imports detopt, so these run even while the package itself is incomplete.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest


# ---------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_postgres_create_insert_drop(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    table = f"smoke_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            assert version.startswith("PostgreSQL"), version
            conn.execute(sa.text(f"CREATE TABLE {table} (id serial PRIMARY KEY, payload jsonb)"))
            conn.execute(
                sa.text(f"INSERT INTO {table} (payload) VALUES (CAST(:p AS jsonb))"),
                [{"p": '{"x": %d}' % i} for i in range(10)],
            )
            total = conn.execute(sa.text(f"SELECT sum((payload->>'x')::int) FROM {table}")).scalar_one()
            assert total == sum(range(10))
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        assert table not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# ---------------------------------------------------------------- SLURM


def _run(cmd: list[str], env: dict[str, str], timeout: float = 30) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc.stdout


def _sacct_state(job_id: str, env: dict[str, str]) -> str:
    out = _run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "JobID,State,ExitCode"], env)
    for line in out.splitlines():
        jid, state, _exit = line.split("|")
        if jid == job_id:
            return state
    return ""


@pytest.mark.slurm
def test_slurm_sbatch_completes_and_sacct_sees_it(slurm_env: dict[str, str], tmp_path: Path) -> None:
    assert "debug" in _run(["sinfo", "-h", "-o", "%P"], slurm_env)
    out_file = tmp_path / "job.out"
    job_id = _run(
        ["sbatch", "--parsable", "-p", "debug", "-o", str(out_file), "--wrap", "echo hi"], slurm_env
    ).strip().split(";")[0]
    assert job_id.isdigit(), job_id

    deadline = time.monotonic() + 120
    state = ""
    while time.monotonic() < deadline:
        state = _sacct_state(job_id, slurm_env)
        if state and state not in {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING"}:
            break
        time.sleep(0.5)
    assert state == "COMPLETED", f"job {job_id}: sacct state {state!r}"
    assert out_file.read_text().strip() == "hi"


@pytest.mark.slurm
def test_slurm_runs_two_jobs_concurrently(slurm_env: dict[str, str], tmp_path: Path) -> None:
    ids = [
        _run(
            ["sbatch", "--parsable", "-p", "debug", "-n", "1", "-o", str(tmp_path / f"j{i}.out"),
             "--wrap", "sleep 30"],
            slurm_env,
        ).strip().split(";")[0]
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        states: list[str] = []
        while time.monotonic() < deadline:
            out = _run(["squeue", "-h", "-j", ",".join(ids), "-o", "%T"], slurm_env)
            states = out.split()
            if states.count("RUNNING") == 2:
                break
            time.sleep(0.3)
        assert states.count("RUNNING") == 2, f"jobs {ids} never ran together: {states}"
    finally:
        subprocess.run(["scancel", *ids], env=slurm_env, capture_output=True, timeout=30)


# ---------------------------------------------------------------- Dask


def _inc(x: int) -> int:
    return x + 1


def _worker_info() -> tuple[str, bool, str | None]:
    import importlib.util
    import os

    return sys.prefix, importlib.util.find_spec("detopt") is not None, os.environ.get("OMP_NUM_THREADS")


@pytest.mark.dask
def test_dask_submit_returns(dask_address: str) -> None:
    from distributed import Client

    # _inc/_worker_info are module-level functions of this test module: they are pickled by reference,
    # which works because start_dask.sh puts tests/ on the scheduler's and workers' PYTHONPATH.
    with Client(dask_address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
        assert client.submit(_inc, 41, pure=False).result(timeout=60) == 42
        assert client.gather(client.map(_inc, range(20), pure=False)) == list(range(1, 21))
        workers = client.scheduler_info()["workers"]
        assert len(workers) >= 2
        assert all(w["nthreads"] == 1 for w in workers.values())
        # the workers run the repo's .venv (same interpreter prefix as the tests) and see detopt
        assert client.run_on_scheduler(_worker_info)[:2] == (sys.prefix, True)
        infos = client.run(_worker_info)
        for addr, (prefix, has_detopt, omp) in infos.items():
            assert prefix == sys.prefix, f"worker {addr} runs {prefix}, tests run {sys.prefix}"
            assert has_detopt, f"worker {addr} cannot import detopt"
            assert omp == "1", f"worker {addr}: OMP_NUM_THREADS={omp!r}"
