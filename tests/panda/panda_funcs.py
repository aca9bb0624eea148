"""Evaluation functions the PanDA tests run in jobs (found on the jobs' PYTHONPATH or in the
unpacked source tarball)."""

from __future__ import annotations

import os
import time

import numpy as np

from detopt.errors import InfeasibleDesignError


def where(params: dict, seconds: float = 0.0) -> dict:
    """Two objectives from x, y, plus where it ran (numpy values on purpose: they must arrive)."""
    if seconds:
        time.sleep(seconds)
    x, y = float(params["x"]), float(params.get("y", 0.0))
    return {"f1": np.float64(x + y), "f2": np.float32(2.0 - x), "pid": np.int64(os.getpid())}


def detail(params: dict) -> dict:
    """Non-metric values (for runner-level tests): where it ran, an array."""
    return {**where(params), "cwd": os.getcwd(), "vec": np.arange(3)}


def fails(params: dict) -> dict:
    raise ValueError(f"boom at x={params['x']:.3f}")


def infeasible(params: dict) -> dict:
    raise InfeasibleDesignError("overlap", margin=-0.5, detail="rings touch")


def returns_set(params: dict) -> set:
    return {object()}
