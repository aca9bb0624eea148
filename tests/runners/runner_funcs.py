"""Evaluation functions for the runner tests.

They are imported by reference in other processes: Dask workers
(``scripts/services/start_dask.sh`` puts every ``tests/**`` folder on their ``PYTHONPATH``) and
SLURM jobs (the SLURM runner forwards the driver's ``sys.path``, where pytest put this folder).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import detopt
from detopt.problems.synthetic import sphere


def where(params: dict[str, Any], seconds: float = 0.0) -> dict[str, float]:
    """Sleep, then return the sphere objectives plus where the call ran (job id, pid)."""
    time.sleep(seconds)
    return {**sphere(params), "job_id": float(os.environ.get("SLURM_JOB_ID", -1)),
            "pid": float(os.getpid())}


def raise_here(params: dict[str, Any]) -> dict[str, float]:
    """Fail with a message that names the process and job it ran in."""
    raise RuntimeError(f"detector overlap in job {os.environ.get('SLURM_JOB_ID', '-')} "
                       f"pid {os.getpid()} on {socket.gethostname()}")


def slow_first(params: dict[str, Any], state_dir: str, slow: float = 120.0,
               fast: float = 0.1) -> dict[str, float]:
    """The first call for a design sleeps ``slow`` seconds (long enough to be cancelled),
    later calls ``fast``; calls are counted in files under ``state_dir``."""
    key = "_".join(f"{k}={params[k]!r}" for k in sorted(params)).replace("/", "_")
    marker = Path(state_dir) / f"{key[:150]}.calls"
    marker.parent.mkdir(parents=True, exist_ok=True)
    seen = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(seen + 1))
    time.sleep(slow if seen == 0 else fast)
    return sphere(params)


def interval(seconds: float) -> tuple[float, float, int]:
    """Sleep ``seconds``; return (start, end, pid): to see which calls overlapped."""
    start = time.time()
    time.sleep(seconds)
    return start, time.time(), os.getpid()


def crash(code: int = 3) -> None:
    """Kill the process running the call, without answering."""
    os._exit(code)


@detopt.task(cores=1, memory="200MB", walltime="10m", retries=1,
             env={"DETOPT_TEST_GREETING": "hello"})
def greet(name: str, counter: str | None = None) -> dict[str, Any]:
    """A decorated task; with ``counter``, the first attempt fails (to exercise retries)."""
    if counter is not None:
        path = Path(counter)
        seen = int(path.read_text()) if path.exists() else 0
        path.write_text(str(seen + 1))
        if seen == 0:
            raise ValueError("first attempt fails")
    return {"text": f"{os.environ.get('DETOPT_TEST_GREETING')} {name}", "pid": os.getpid(),
            "job": os.environ.get("SLURM_JOB_ID")}


def rendezvous(me: str, other: str, folder: str, wait: float) -> bool:
    """Leave the mark ``me`` in ``folder``; True if the mark ``other`` is there within ``wait``
    seconds: two calls that run at the same time both see each other; two that take turns
    do not (only the second sees the first)."""
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    (base / me).touch()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if (base / other).exists():
            return True
        time.sleep(0.02)
    return False
