"""Evaluation function of the dRICH problem at Geant4 fidelity (``fidelity: geant4``).

Each call runs the standalone step (:mod:`.step`) in a child process -- Geant4 runs one design
per process, and a Geant4 abort must not take the detopt worker down -- with the data-free
environment set by :func:`.env.prepare_environment` (so ``CI=true`` never triggers a download).
A design that Geant4's own overlap check rejects raises InfeasibleDesignError naming the volumes
(never retried).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detopt.errors import DetoptError, InfeasibleDesignError, TrialError

from ..model import apply_constraints
from ..parameters import resolve
from .env import prepare_environment, require_geant4


class Geant4StepError(TrialError):
    """The Geant4 child process failed (the message holds the end of its output)."""


def run_step(params: Mapping[str, float] | None, *, out: Path, preset: str = "aid2e_calibrated",
             tracks_per_point: int = 200, seed: int = 12345,
             objectives: Sequence[str] | None = None, hits: Path | None = None,
             sem: str = "bootstrap", nice: int = 0) -> dict[str, Any]:
    """Run the standalone Geant4 step for one design in a child process; its JSON record."""
    require_geant4()
    resolve(params)  # user errors (unknown name, out of range) here, not in the child
    env = dict(os.environ)
    env.update(prepare_environment())
    cmd = [sys.executable, "-m", "detopt.problems.drich.g4.step", "--params",
           json.dumps(dict(params or {})), "--preset", str(preset), "--tracks",
           str(int(tracks_per_point)), "--seed", str(int(seed)), "--sem", sem, "--out", str(out)]
    for name in objectives or ():
        cmd += ["--objective", name]
    if hits is not None:
        cmd += ["--hits", str(hits)]
    if nice:
        cmd = ["nice", "-n", str(int(nice))] + cmd
    proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0 or not Path(out).exists():
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise Geant4StepError(f"Geant4 step exited with {proc.returncode}: " + " | ".join(tail))
    return json.loads(Path(out).read_text())


def overlap_error(record: Mapping[str, Any]) -> InfeasibleDesignError:
    """InfeasibleDesignError naming the overlapping volumes of a step record."""
    overlaps = record["overlaps"]
    depth = max((o["depth_cm"] for o in overlaps if o["depth_cm"] == o["depth_cm"]), default=0.0)
    return InfeasibleDesignError("geant4_overlap", -depth,
                                 "Geant4 CheckOverlaps: " + "; ".join(o["text"] for o in overlaps))


def evaluate(params: Mapping[str, float] | None = None, *, preset: str = "aid2e_calibrated",
             tracks_per_point: int = 200, seed: int = 12345,
             objectives: Sequence[str] | None = None, constraints: str = "fail",
             sem: str = "bootstrap") -> dict[str, tuple[float, float]]:
    """One dRICH design at Geant4 fidelity: ``{metric: (mean, sem)}`` like the fast model.

    ``constraints``: "fail" (the proxies are checked first, ~1 ms, and a violated one fails
    fast as in the fast model; then Geant4's check gates the simulation), "outcome" (margins
    are returned as outcomes; only Geant4's check fails a design) or "ignore".
    """
    if constraints not in ("fail", "outcome", "ignore"):
        raise DetoptError(f"unknown value '{constraints}'.", field="constraints",
                          fix="use one of ['fail', 'outcome', 'ignore'].")
    result = apply_constraints(params, constraints)
    with tempfile.TemporaryDirectory(prefix="detopt-g4-") as tmp:
        record = run_step(params, out=Path(tmp) / "objectives.json", preset=preset,
                          tracks_per_point=tracks_per_point, seed=seed, objectives=objectives,
                          sem=sem)
    if not record["feasible"]:
        raise overlap_error(record)
    result.update({k: (v[0], v[1]) for k, v in record["objectives"].items()})
    return result
