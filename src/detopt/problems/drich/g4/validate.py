"""``detopt drich validate``: the fast model against Geant4 on N designs.

Designs: the nominal one plus random designs from a Latin hypercube in a box of +-20 % of each
range around nominal (the region an optimizer explores; reference 5.8), kept if they pass the
overlap proxies. Both fidelities simulate the same tracks (same seed, same preset). Written to
the output directory: ``designs.jsonl`` (one record per design and fidelity; a rerun skips the
designs already there), ``overlaps.json``, ``summary.json``, ``report.md`` and PNG plots.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


from ..constraints import constraint_margins, design_check
from ..geometry import Design
from ..model import DEFAULT_OBJECTIVES, _Samples, compute_objectives
from ..parameters import NOMINAL, PARAMETERS
from ..presets import get_preset
from .env import prepare_environment, require_geant4
from .evaluate import run_step
from .step import sample_diagnostics

BOX_FRACTION = 0.2


def random_designs(n: int, seed: int, fraction: float | None = BOX_FRACTION,
                   feasible_only: bool = True) -> list[dict[str, float]]:
    """``n`` LHS designs (+-``fraction`` of each range around nominal; None: the whole box)."""
    from scipy.stats import qmc

    rng_seed = seed
    out: list[dict[str, float]] = []
    while len(out) < n:
        u = qmc.LatinHypercube(d=len(PARAMETERS), seed=rng_seed).random(max(2 * n, 8))
        rng_seed += 1
        for row in u:
            params = {}
            for p, x in zip(PARAMETERS, row):
                if fraction is None:
                    lo, hi = p["low"], p["high"]
                else:
                    half = fraction * (p["high"] - p["low"])
                    lo, hi = max(p["low"], p["nominal"] - half), min(p["high"], p["nominal"] + half)
                params[p["name"]] = round(float(lo + x * (hi - lo)), 3)
            if not feasible_only or design_check(params) is None:
                out.append(params)
            if len(out) == n:
                break
    return out


def fast_record(params: Mapping[str, float], preset: str, tracks: int, seed: int,
                objectives: Sequence[str]) -> dict[str, Any]:
    """The fast model's objectives and diagnostics of one design (same layout as the step's)."""
    start = time.perf_counter()
    samples = _Samples(Design.from_params(params), get_preset(preset), tracks, seed, True)
    result = compute_objectives(samples, list(objectives), "bootstrap", seed)
    return {"fidelity": "fast", "params": dict(params), "preset": preset,
            "tracks_per_point": tracks, "seed": seed,
            "objectives": {k: [float(v[0]), float(v[1])] for k, v in result.items()},
            "diagnostics": sample_diagnostics(samples), "seconds": time.perf_counter() - start}


def _done(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    records: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                records[(json.dumps(rec["params"], sort_keys=True), rec["fidelity"])] = rec
    return records


def run_validation(out_dir: Path, *, n_designs: int = 20, tracks: int = 100,
                   nominal_tracks: int = 500, overlap_designs: int = 100,
                   preset: str = "pure", seed: int = 12345, design_seed: int = 7,
                   nice: int = 10, objectives: Sequence[str] | None = None,
                   log: Any = print) -> dict[str, Any]:
    """Run (or resume) the validation and write its report; returns the summary."""
    require_geant4(field="--fidelity")
    out_dir.mkdir(parents=True, exist_ok=True)
    objectives = list(objectives or DEFAULT_OBJECTIVES)  # only their scan points are simulated
    designs = [dict(NOMINAL)] + random_designs(n_designs - 1, design_seed)
    jsonl = out_dir / "designs.jsonl"
    done = _done(jsonl)
    for i, params in enumerate(designs):
        n = nominal_tracks if i == 0 else tracks
        key = json.dumps(params, sort_keys=True)
        for fidelity in ("fast", "geant4"):
            if (key, fidelity) in done:
                continue
            if fidelity == "fast":
                rec = fast_record(params, preset, n, seed, objectives)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    rec = run_step(params, out=Path(tmp) / "o.json", preset=preset,
                                   tracks_per_point=n, seed=seed, objectives=objectives,
                                   nice=nice)
            rec["design"] = i
            with jsonl.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            done[(key, fidelity)] = rec
            log(f"design {i} {fidelity}: {rec['seconds']:.1f} s "
                + " ".join(f"{k}={v[0]:.3f}" for k, v in rec["objectives"].items()))
    overlap_path = out_dir / "overlaps.json"
    if not overlap_path.exists():
        extra = random_designs(overlap_designs, design_seed + 1000, fraction=None,
                               feasible_only=False)
        overlap_path.write_text(json.dumps(geant4_overlaps(designs + extra, nice)))
    verdicts = json.loads(overlap_path.read_text())
    from .report import write_report

    return write_report(out_dir, designs, done, verdicts, objectives,
                        {"tracks": tracks, "nominal_tracks": nominal_tracks, "preset": preset,
                         "seed": seed, "design_seed": design_seed,
                         "overlap_designs": overlap_designs, "objectives": objectives})


def geant4_overlaps(designs: Sequence[Mapping[str, float]], nice: int = 0
                    ) -> list[dict[str, Any]]:
    """Geant4's overlap verdicts (one child process), with the proxies' verdict beside them."""
    env = dict(__import__("os").environ)
    env.update(prepare_environment())
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps([dict(d) for d in designs]))
        cmd = [sys.executable, "-m", "detopt.problems.drich.g4.overlaps", str(src), str(dst)]
        if nice:
            cmd = ["nice", "-n", str(int(nice))] + cmd
        subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        verdicts = json.loads(dst.read_text())
    for v in verdicts:
        margins = constraint_margins(v["params"])
        v["proxy_margins"] = margins
        v["proxy_feasible"] = min(margins.values()) >= 0
    return verdicts
