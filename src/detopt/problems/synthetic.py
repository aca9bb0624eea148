"""Small synthetic evaluation functions: cheap, sleeping, failing, crashing, flaky.

They exist to exercise the study loop, runners and failure policies with real processes, in
tests and in the overhead benchmarks. Each takes the trial's ``params`` dict and returns two
objectives ``f1``, ``f2`` (both to minimize) unless it is meant to fail.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any


def sphere(params: dict[str, Any]) -> dict[str, float]:
    """Two conflicting quadratics over all numeric parameters (cost: microseconds)."""
    xs = [float(v) for v in params.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {"f1": sum(x * x for x in xs), "f2": sum((x - 1.0) ** 2 for x in xs)}


def sleep(params: dict[str, Any], seconds: float = 1.0) -> dict[str, float]:
    """Sleep ``seconds`` (a stand-in for a simulation), then return :func:`sphere`."""
    time.sleep(seconds)
    return sphere(params)


def fail(params: dict[str, Any], message: str = "simulated failure") -> dict[str, float]:
    """Always raise ``RuntimeError(message)``."""
    raise RuntimeError(message)


def crash(params: dict[str, Any], code: int = 3) -> dict[str, float]:
    """Kill the worker process without returning (like a segfault or an OOM kill)."""
    os._exit(code)


def nan_result(params: dict[str, Any]) -> dict[str, float]:
    """Return a NaN objective, which the study must reject."""
    return {"f1": float("nan"), "f2": 0.0}


def flaky(params: dict[str, Any], state_dir: str, failures: int = 1) -> dict[str, float]:
    """Fail the first ``failures`` attempts for each distinct design, then succeed.

    Attempts are counted in files under ``state_dir``, so retries in other processes see them.
    """
    key = "_".join(f"{k}={params[k]!r}" for k in sorted(params))
    counter = Path(state_dir) / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.attempts"
    counter.parent.mkdir(parents=True, exist_ok=True)
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    if seen < failures:
        raise RuntimeError(f"flaky failure {seen + 1} of {failures}")
    return sphere(params)


def constant(params: dict[str, Any], value: float = 1.0) -> dict[str, float]:
    """The same result for every design: a study on it stops gaining hypervolume at once."""
    return {"f1": value, "f2": value}


def uneven_sleep(params: dict[str, Any], fast: float = 0.05, slow: float = 1.5,
                 slow_below: float = 0.25) -> dict[str, float]:
    """Sleep ``slow`` seconds when ``params["x"] < slow_below``, else ``fast``: run times that
    depend on the design, as real simulations' do."""
    time.sleep(slow if float(params["x"]) < slow_below else fast)
    return sphere(params)

