"""Benchmark of the dRICH fast simulation: time per design and seed-to-seed noise.

Run (one core, as in docs/bench-drich.md):

    python benchmarks/bench_drich.py            # full: ~2-3 minutes
    python benchmarks/bench_drich.py --quick    # fewer repeats and seeds

Measures, on one core (BLAS/OpenMP threads forced to 1):
  * the constraint check (fail-fast path),
  * the time per design evaluation of the three AID2E objectives at 250/500/1000/2000 tracks
    per scan point and species, i.e. 2k/4k/8k/16k tracks per evaluation (target <= 1 s at 8k),
    over the nominal design and random feasible designs (wall and CPU time),
  * the time with every optional objective (K/p, per-track N-sigma, semi-analytic reach),
  * the seed-to-seed standard deviation of the objectives at 8k tracks (target <= 0.05 in
    N-sigma) and the mean bootstrap SEM reported by evaluate.
Prints a Markdown report.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from detopt.problems import drich  # noqa: E402


def random_feasible_designs(n: int, seed: int = 2024) -> list[dict[str, float]]:
    """Random designs in a +-20 %-of-range box around nominal that pass the constraints."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, float]] = []
    while len(out) < n:
        d = {}
        for p in drich.PARAMETERS:
            half = 0.2 * (p["high"] - p["low"])
            value = p["nominal"] + rng.uniform(-half, half)
            d[p["name"]] = float(np.clip(value, p["low"], p["high"]))
        if min(drich.constraint_margins(d).values()) >= 0:
            out.append(d)
    return out


def time_call(fn, repeats: int) -> tuple[float, float]:
    """Mean wall and CPU seconds per call."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall0) / repeats, (time.process_time() - cpu0) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and seeds")
    args = parser.parse_args()
    repeats = 1 if args.quick else 2
    n_seeds = 8 if args.quick else 20
    designs = [dict(drich.NOMINAL)] + random_feasible_designs(3 if args.quick else 5)

    print(f"# dRICH fast simulation benchmark ({datetime.date.today().isoformat()})\n")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores visible, threads forced to 1\n")

    wall, cpu = time_call(lambda: drich.constraint_margins(designs[1]), 200)
    infeasible = {"snout_length": 10.0}

    def fail_fast():
        try:
            drich.evaluate(infeasible)
        except Exception:  # noqa: BLE001 - InfeasibleDesignError expected
            pass

    wall_f, _ = time_call(fail_fast, 50)
    print(f"constraint check: {1e3 * wall:.2f} ms (CPU {1e3 * cpu:.2f} ms); "
          f"evaluate() of an infeasible design fails in {1e3 * wall_f:.2f} ms\n")

    drich.evaluate(designs[0], tracks_per_point=250)  # warm-up (spectrum caches, imports)
    print(f"seconds per design evaluation (3 AID2E objectives, bootstrap SEM, aid2e_calibrated); "
          f"random: mean over {len(designs) - 1} random feasible designs\n")
    print("| tracks per point | tracks per evaluation | nominal: wall | nominal: CPU "
          "| random: wall | random: CPU |")
    print("|---|---|---|---|---|---|")
    for tpp in (250, 500, 1000, 2000):
        walls, cpus = [], []
        for d in designs:
            w, c = time_call(lambda d=d: drich.evaluate(d, tracks_per_point=tpp), repeats)
            walls.append(w)
            cpus.append(c)
        print(f"| {tpp} | {8 * tpp:,} | {walls[0]:.3f} | {cpus[0]:.3f} | {np.mean(walls[1:]):.3f} "
              f"| {np.mean(cpus[1:]):.3f} |")

    every = list(drich.OBJECTIVES)
    w, c = time_call(lambda: drich.evaluate(designs[0], tracks_per_point=1000, objectives=every),
                     repeats)
    print(f"\nall {len(every)} objectives (AID2E + K/p + per-track + semi-analytic reach) "
          f"at 1000 tracks "
          f"per point: {w:.3f} s wall, {c:.3f} s CPU\n")

    print("seed-to-seed noise at 1000 tracks per point (8k tracks per evaluation), nominal design, "
          f"{n_seeds} seeds:\n")
    print("| preset | objective | mean | std over seeds | mean bootstrap SEM |")
    print("|---|---|---|---|---|")
    for preset in ("aid2e_calibrated", "pure"):
        runs = [drich.evaluate({}, preset=preset, seed=s, tracks_per_point=1000)
                for s in range(n_seeds)]
        for name in drich.DEFAULT_OBJECTIVES:
            means = np.array([r[name][0] for r in runs])
            sems = np.array([r[name][1] for r in runs])
            print(f"| {preset} | {name} | {means.mean():.3f} | {means.std(ddof=1):.4f} "
                  f"| {sems.mean():.4f} |")


if __name__ == "__main__":
    main()
