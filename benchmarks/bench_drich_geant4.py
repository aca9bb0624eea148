"""Benchmark: seconds per dRICH design at each fidelity (fast ray trace vs Geant4), same tracks.

Run (the numbers in docs/benchmarks.md):

    nice -n 10 python benchmarks/bench_drich_geant4.py --tracks 50 --designs 3

For each design (nominal + random feasible ones), in one run so that the machine's load affects
both alike: the fast model's ``evaluate`` (in this process, one thread) and the Geant4 fidelity's
``evaluate`` (a child process: Python + Geant4 start-up, geometry, overlap check, physics tables,
the events, detopt's reconstruction). Both at the same tracks per point, AID2E's three
objectives (4 points x 2 species). Also reported: the Geant4 event rate and the start-up part.
Writes benchmarks/results/drich_geant4/bench.json and prints a Markdown table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from detopt.problems import drich  # noqa: E402
from detopt.problems.drich.g4.evaluate import run_step  # noqa: E402
from detopt.problems.drich.g4.validate import random_designs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=50, help="tracks per point and species")
    parser.add_argument("--designs", type=int, default=3)
    parser.add_argument("--preset", default="aid2e_calibrated")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "drich_geant4" / "bench.json")
    args = parser.parse_args()
    designs = [dict(drich.NOMINAL)] + random_designs(args.designs - 1, seed=11)
    rows = []
    for i, params in enumerate(designs):
        start = time.perf_counter()
        drich.evaluate(params, preset=args.preset, tracks_per_point=args.tracks)
        fast = time.perf_counter() - start
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            rec = run_step(params, out=Path(tmp) / "o.json", preset=args.preset,
                           tracks_per_point=args.tracks)
        g4_wall = time.perf_counter() - start
        rows.append({"design": i, "fast_s": fast, "geant4_s": g4_wall,
                     "geant4_events": rec["geant4"]["events"],
                     "geant4_event_s": rec["geant4"]["seconds"],
                     "geant4_in_child_s": rec["seconds"]})
        print(f"design {i}: fast {fast:.3f} s, Geant4 {g4_wall:.1f} s", flush=True)
    fast = float(np.mean([r["fast_s"] for r in rows]))
    g4 = float(np.mean([r["geant4_s"] for r in rows]))
    events = float(np.mean([r["geant4_events"] for r in rows]))
    ev_s = float(np.mean([r["geant4_event_s"] for r in rows]))
    summary = {
        "tracks_per_point": args.tracks, "tracks_per_design": 8 * args.tracks,
        "designs": len(rows), "preset": args.preset,
        "fast_s_per_design": fast, "geant4_s_per_design": g4, "speedup": g4 / fast,
        "geant4_events_per_s": events / ev_s,
        "geant4_overhead_s": float(np.mean([r["geant4_s"] - r["geant4_event_s"] for r in rows])),
        "load_average": os.getloadavg(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1))
    print(f"\n| fidelity | s per design ({8 * args.tracks} tracks) |\n|---|---|\n"
          f"| fast | {fast:.3f} |\n| Geant4 | {g4:.1f} |\n\nspeed-up {g4 / fast:.0f}x; Geant4 "
          f"{events / ev_s:.1f} events/s, {summary['geant4_overhead_s']:.1f} s start-up and "
          f"overlap check per design; load average {summary['load_average'][0]:.1f} on "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
