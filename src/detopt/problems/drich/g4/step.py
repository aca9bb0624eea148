"""The standalone Geant4 step: one design -> hits (Parquet) + objectives (JSON).

Runs in its own process (Geant4's run manager is a per-process singleton), as
``python -m detopt.problems.drich.g4.step`` or ``detopt drich simulate --fidelity geant4``, so
that a pipeline stage or a SLURM job can run it. The JSON holds the objectives with their
standard errors, Geant4's overlap verdict (volumes named), per-point diagnostics and the timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..constraints import constraint_margins
from ..metrics import photon_core_width
from ..model import DEFAULT_OBJECTIVES, _Samples
from ..scan import AEROGEL, Sample


def sample_diagnostics(samples: _Samples) -> dict[str, dict[str, float]]:
    """Per (point, species): photons in the window per track, mean ring angle, single-photon
    resolution and acceptance -- the comparison quantities of ``detopt drich validate``."""
    out: dict[str, dict[str, float]] = {}
    for (point, species), smp in sorted(samples.samples.items(),
                                        key=lambda kv: (kv[0][0].label, kv[0][1])):
        out[f"{point.label}/{species}"] = _one(smp)
    return out


def _one(smp: Sample) -> dict[str, float]:
    ev = smp.event
    n = smp.n_win[ev]
    total = float(n.sum())
    return {
        "radiator": "aerogel" if smp.point.radiator == AEROGEL else "gas",
        "n_window": float(n.mean()) if n.size else float("nan"),
        "n_window_sem": float(n.std(ddof=1) / np.sqrt(n.size)) if n.size > 1 else float("nan"),
        "theta_mean": float(smp.sum_theta[ev].sum() / total) if total else float("nan"),
        "theta_expected": float(smp.theta_exp),
        "sigma_1pe": photon_core_width(smp) if total > 10 else float("nan"),
        "acceptance": float(np.mean(n > 5)) if n.size else float("nan"),
        "tracks": int(ev.sum()),
    }


def write_hits(path: Path, raw: Sequence[Mapping[str, Any]], metadata: Mapping[str, Any]) -> None:
    """Raw Geant4 hits of every run as one Parquet table (global frame, cm, eV)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[np.ndarray]] = {}
    for run in raw:
        n = len(run["event"])
        columns.setdefault("point", []).append(np.full(n, run["point"], dtype=np.int16))
        columns.setdefault("species", []).append(np.full(n, run["species"], dtype=object))
        for key, values in run.items():
            if key not in ("point", "species"):
                columns.setdefault(key, []).append(np.asarray(values))
    table = pa.table({k: np.concatenate(v) if v else np.zeros(0) for k, v in columns.items()})
    table = table.replace_schema_metadata({"detopt": json.dumps(dict(metadata))})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def run_design(params: Mapping[str, float] | None, *, preset: str = "aid2e_calibrated",
               tracks_per_point: int = 200, seed: int = 12345,
               objectives: Sequence[str] | None = None, hits: Path | None = None,
               sem: str = "bootstrap") -> dict[str, Any]:
    """Simulate one design at Geant4 fidelity in this process; the JSON-ready result."""
    from .fidelity import evaluate_in_process

    start = time.perf_counter()
    names = list(objectives or DEFAULT_OBJECTIVES)
    result, overlaps, sim, samples = evaluate_in_process(
        params, preset=preset, tracks_per_point=tracks_per_point, seed=seed, objectives=names,
        sem=sem)
    record: dict[str, Any] = {
        "fidelity": "geant4", "params": dict(params or {}), "preset": str(preset),
        "tracks_per_point": int(tracks_per_point), "seed": int(seed),
        "feasible": not overlaps,
        "overlaps": [{"volume": o.volume, "other": o.other, "kind": o.kind,
                      "depth_cm": o.depth_cm, "text": str(o)} for o in overlaps],
        "proxy_margins": constraint_margins(params),
        "objectives": {k: [float(v[0]), float(v[1])] for k, v in result.items()},
        "diagnostics": sample_diagnostics(samples),
        "geant4": {"events": sim.events, "seconds": sim.seconds,
                   "events_per_second": sim.events / sim.seconds if sim.seconds else None},
        "seconds": time.perf_counter() - start,
    }
    if hits is not None:
        write_hits(Path(hits), sim.raw, {k: record[k] for k in
                                         ("params", "preset", "tracks_per_point", "seed")})
        record["hits"] = str(hits)
    return record


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry of the child process (arguments, never a shell string)."""
    parser = argparse.ArgumentParser(prog="python -m detopt.problems.drich.g4.step")
    parser.add_argument("--params", default="{}", help="design parameters as a JSON object")
    parser.add_argument("--preset", default="aid2e_calibrated")
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--objective", action="append", default=None)
    parser.add_argument("--sem", default="bootstrap")
    parser.add_argument("--hits", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True, help="objectives JSON to write")
    args = parser.parse_args(argv)
    record = run_design(json.loads(args.params), preset=args.preset, tracks_per_point=args.tracks,
                        seed=args.seed, objectives=args.objective, hits=args.hits, sem=args.sem)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover - child process entry
    sys.exit(main())
