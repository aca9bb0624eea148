"""Benchmark of the BIC problem (issue 16): speed, exact Pareto set, optimizers on it.

Commands (the machine may be shared: run with ``nice -n 10``; every timing is per core with
BLAS/OpenMP threads forced to 1)::

    python benchmarks/bench_bic.py speed     --out benchmarks/results/bic/speed.json
    python benchmarks/bench_bic.py enumerate --out benchmarks/results/bic/enumeration.json
    python benchmarks/bench_bic.py find      --enumeration benchmarks/results/bic/enumeration.json \
        --out benchmarks/results/bic/find.json          # mobo, nsga2, sobol x 5 seeds
    python benchmarks/bench_bic.py mixed     --evals 100 --out benchmarks/results/bic/mixed.json
    python benchmarks/bench_bic.py table benchmarks/results/bic   # markdown for docs/benchmarks.md

* ``speed``: CPU and wall time of one ``evaluate`` (all four objectives, bootstrap errors) at
  250-2000 events per point, the first call of a process (draws the random numbers) and the
  following ones (the draws are cached), over the nominal design and random designs.
* ``enumerate``: the 32 stave settings at the nominal readout and geometry, evaluated with
  the default options (seed 12345): the exact Pareto set of that objective function.
* ``find``: each optimizer on the switch-only space, sequential ask(1)/tell; the objective
  values come from the enumeration (the function is deterministic), so only optimizer time is
  spent. Reported: the number of evaluations until every exact Pareto-optimal design has been
  evaluated (a repeated design counts as an evaluation: a real study would run it again).
* ``mixed``: mobo and Sobol on the full mixed space (5 choices, 1 log-int, 2 floats), real
  evaluations, hypervolume (reference point = the objectives' thresholds) after each
  evaluation, 3 seeds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import datetime  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

METHODS = ("mobo", "nsga2", "sobol")


def _hv_curve(history: list[list[int]], enumeration: dict[str, Any],
              objectives: list[str] | None = None) -> np.ndarray:
    """Hypervolume of the designs evaluated so far / that of the exact Pareto set."""
    from detopt.metrics.indicators import hypervolume

    problem = _problem(space="switches", seed=enumeration["seed"], objectives=objectives)
    names = problem.objectives.names
    value = {tuple(r["switches"]): problem.objectives.to_minimization(
        np.array([[r["metrics"][n][0] for n in names]]))[0] for r in enumeration["rows"]}
    ref = problem.objectives.reference_point()
    full = hypervolume(np.array(list(value.values())), ref)
    return np.array([hypervolume(np.array([value[tuple(h)] for h in history[:i + 1]]), ref)
                     for i in range(len(history))]) / full


def _machine() -> dict[str, Any]:
    return {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
            "numpy": np.__version__, "cores_visible": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0], "threads": 1}


def _problem(**options):
    from detopt.problems.registry import build_problem

    return build_problem("bic", options)


# ------------------------------------------------------------------------------ speed
def _speed_child(events: int, n_designs: int) -> dict[str, Any]:
    """Runs in a fresh process, so the first call pays for drawing the random numbers."""
    from detopt.problems import bic

    problem = _problem(events_per_point=events)
    designs = [dict(bic.NOMINAL)] + problem.space.sample(n_designs, seed=2024)
    rows = []
    for i, d in enumerate(designs):
        w0, c0 = time.perf_counter(), time.process_time()
        bic.evaluate(d, events_per_point=events)
        rows.append({"design": i, "wall": time.perf_counter() - w0,
                     "cpu": time.process_time() - c0})
    return {"events_per_point": events, "first": rows[0], "rest": rows[1:]}


def cmd_speed(args) -> dict[str, Any]:
    out = {"machine": _machine(), "runs": []}
    for events in (250, 500, 1000, 2000):
        res = subprocess.run([sys.executable, __file__, "_speed_child", "--events", str(events),
                              "--designs", str(args.designs)], capture_output=True, text=True,
                             check=True)
        run = json.loads(res.stdout)
        rest = run["rest"]
        run["warm_cpu_median"] = float(np.median([r["cpu"] for r in rest]))
        run["warm_wall_median"] = float(np.median([r["wall"] for r in rest]))
        out["runs"].append(run)
        print(f"events {events}: first cpu {run['first']['cpu']:.2f} s, warm cpu median "
              f"{run['warm_cpu_median']:.2f} s (wall {run['warm_wall_median']:.2f} s)", flush=True)
    return out


# ------------------------------------------------------------------------- enumeration
def cmd_enumerate(args) -> dict[str, Any]:
    from detopt.metrics.pareto import non_dominated_mask

    problem = _problem(space="switches", seed=args.seed)
    names = problem.space.tunable_names
    rows = []
    for setting in itertools.product((0, 1), repeat=len(names)):
        c0 = time.process_time()
        r = problem.evaluate_here(dict(zip(names, setting)))
        rows.append({"switches": list(setting), "metrics": {k: list(v) for k, v in r.items()},
                     "cpu": time.process_time() - c0})
    Y = problem.objectives.to_minimization(
        np.array([[row["metrics"][n][0] for n in problem.objectives.names] for row in rows]))
    pareto = non_dominated_mask(Y)
    for row, p in zip(rows, pareto):
        row["pareto"] = bool(p)
    print(f"{int(pareto.sum())} of {len(rows)} settings are Pareto-optimal", flush=True)
    return {"machine": _machine(), "seed": args.seed, "objectives": problem.objectives.names,
            "switch_names": names, "rows": rows}


# ------------------------------------------------------------------------------- find
def _method(spec: str) -> tuple[str, dict[str, Any]]:
    """``"nsga2:pop_size=8"`` -> ("nsga2", {"pop_size": 8})."""
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    return name, options


def _pareto_set(enumeration: dict[str, Any], objectives: list[str] | None) -> set:
    """Switch settings of the exact Pareto set for these objectives (default: all)."""
    from detopt.metrics.pareto import non_dominated_mask

    problem = _problem(space="switches", seed=enumeration["seed"], objectives=objectives)
    names = problem.objectives.names
    Y = problem.objectives.to_minimization(
        np.array([[r["metrics"][n][0] for n in names] for r in enumeration["rows"]]))
    return {tuple(r["switches"]) for r, p in zip(enumeration["rows"], non_dominated_mask(Y)) if p}


def _find_one(spec: str, seed: int, enumeration: dict[str, Any], max_evals: int,
              objectives: list[str] | None = None) -> dict[str, Any]:
    from detopt.optimizers.base import make_optimizer
    from detopt.trial import Trial, TrialStatus

    problem = _problem(space="switches", seed=enumeration["seed"], objectives=objectives)
    names = enumeration["switch_names"]
    table = {tuple(r["switches"]): {k: v for k, v in r["metrics"].items()
                                    if k in problem.objectives.names}
             for r in enumeration["rows"]}
    target = _pareto_set(enumeration, objectives)
    method, options = _method(spec)
    opt = make_optimizer(method, problem.space, problem.objectives, seed=seed, options=options)
    seen: set[tuple[int, ...]] = set()
    found_at, history, gen = None, [], []
    for i in range(max_evals):
        t0 = time.perf_counter()
        params = opt.ask(1, [])[0]
        gen.append(time.perf_counter() - t0)
        key = tuple(int(params[n]) for n in names)
        history.append(list(key))
        seen.add(key)
        metrics = {k: (v[0], v[1]) for k, v in table[key].items()}
        opt.tell([Trial(index=i, params=params, status=TrialStatus.COMPLETED, metrics=metrics)])
        if found_at is None and target <= seen:
            found_at = i + 1
            break
    return {"method": spec, "seed": seed, "evaluations_to_full_pareto_set": found_at,
            "distinct_designs": len(seen), "evaluations": len(history),
            "duplicates": len(history) - len(seen), "pareto_found": len(target & seen),
            "pareto_size": len(target), "median_gen_seconds": float(np.median(gen)),
            "history": history}


def cmd_find(args) -> dict[str, Any]:
    enumeration = json.loads(Path(args.enumeration).read_text())
    runs = []
    if args.append and args.out and Path(args.out).exists():
        runs = json.loads(Path(args.out).read_text())["runs"]
    for method in args.methods:
        for seed in range(args.seeds):
            run = _find_one(method, seed, enumeration, args.max_evals, args.objectives)
            runs.append(run)
            print(f"{method} seed {seed}: {run['evaluations_to_full_pareto_set']} evaluations "
                  f"({run['pareto_found']}/{run['pareto_size']} found, {run['duplicates']} "
                  f"repeats)", flush=True)
    return {"machine": _machine(), "max_evals": args.max_evals, "objectives": args.objectives,
            "runs": runs}


# ------------------------------------------------------------------------------ mixed
def _mixed_one(method: str, seed: int, evals: int) -> dict[str, Any]:
    from detopt.metrics import HypervolumeTracker
    from detopt.optimizers.base import make_optimizer
    from detopt.trial import Trial, TrialStatus

    problem = _problem()
    ref = problem.objectives.reference_point()
    opt = make_optimizer(method, problem.space, problem.objectives, seed=seed)
    tracker = HypervolumeTracker(ref, None)
    hv, gen, sim, keys = [], [], [], set()
    for i in range(evals):
        t0 = time.perf_counter()
        params = opt.ask(1, [])[0]
        gen.append(time.perf_counter() - t0)
        keys.add(tuple(sorted((k, round(v, 9) if isinstance(v, float) else v)
                              for k, v in params.items())))
        c0 = time.process_time()
        metrics = problem.evaluate_here(params)
        sim.append(time.process_time() - c0)
        trial = Trial(index=i, params=params, status=TrialStatus.COMPLETED, metrics=metrics)
        opt.tell([trial])
        tracker.add(problem.objectives.to_minimization(
            np.array([trial.values(problem.objectives.names)]))[0], i)
        hv.append(float(tracker.hypervolume))
    return {"method": method, "seed": seed, "evaluations": evals, "hypervolume": hv,
            "duplicates": evals - len(keys), "median_gen_seconds": float(np.median(gen)),
            "median_sim_cpu_seconds": float(np.median(sim))}


def cmd_mixed(args) -> dict[str, Any]:
    runs = []
    for seed in range(args.seeds):
        for method in ("mobo", "sobol"):
            run = _mixed_one(method, seed, args.evals)
            runs.append(run)
            print(f"{method} seed {seed}: HV {run['hypervolume'][-1]:.4g} after {args.evals} "
                  f"({run['duplicates']} repeats)", flush=True)
    return {"machine": _machine(), "evals": args.evals, "runs": runs}


# ------------------------------------------------------------------------------ table
def cmd_table(args) -> None:
    d = Path(args.results)
    if (d / "speed.json").exists():
        speed = json.loads((d / "speed.json").read_text())
        print("| events per point | first call CPU [s] | later calls CPU, median [s] "
              "| wall, median [s] |")
        print("|---:|---:|---:|---:|")
        for r in speed["runs"]:
            print(f"| {r['events_per_point']} | {r['first']['cpu']:.2f} "
                  f"| {r['warm_cpu_median']:.2f} | {r['warm_wall_median']:.2f} |")
        print()
    if (d / "enumeration.json").exists():
        en = json.loads((d / "enumeration.json").read_text())
        print("| staves 2-6 | " + " | ".join(en["objectives"]) + " | Pareto |")
        print("|---|" + "---:|" * len(en["objectives"]) + "---|")
        for r in en["rows"]:
            if r["pareto"]:
                vals = " | ".join(f"{r['metrics'][n][0]:.4g} ± {r['metrics'][n][1]:.2g}"
                                  for n in en["objectives"])
                print(f"| {''.join(map(str, r['switches']))} | {vals} | yes |")
        print()
    for path in sorted(d.glob("find*.json")):
        fd = json.loads(path.read_text())
        en = json.loads((d / "enumeration.json").read_text())
        subset = fd.get("objectives")
        print(f"{path.name}: objectives {', '.join(subset or en['objectives'])}; exact Pareto "
              f"set: {', '.join(''.join(map(str, k)) for k in sorted(_pareto_set(en, subset)))}\n")
        print("| method | evaluations to the whole Pareto set, per seed | mean | to 99 % of its "
              "hypervolume, per seed | mean | repeats |")
        print("|---|---|---:|---|---:|---:|")
        for m in dict.fromkeys(r["method"] for r in fd["runs"]):
            runs = [r for r in fd["runs"] if r["method"] == m]
            n = [r["evaluations_to_full_pareto_set"] for r in runs]
            shown = ", ".join(str(x) if x else f">{fd['max_evals']}" for x in n)
            mean = f"{np.mean(n):.1f}" if all(n) else "-"
            h99 = [int(np.argmax(_hv_curve(r["history"], en, subset) >= 0.99)) + 1 for r in runs]
            print(f"| {m} | {shown} | {mean} | {', '.join(map(str, h99))} | {np.mean(h99):.1f} "
                  f"| {sum(r['duplicates'] for r in runs)} |")
        print()
    if (d / "mixed.json").exists():
        mx = json.loads((d / "mixed.json").read_text())
        checkpoints = [c for c in (20, 40, 60, 80, 100, 150, 200) if c <= mx["evals"]]
        print("| method | " + " | ".join(f"HV at {c}" for c in checkpoints) + " | repeats |")
        print("|---|" + "---:|" * len(checkpoints) + "---:|")
        for m in ("mobo", "sobol"):
            runs = [r for r in mx["runs"] if r["method"] == m]
            cells = []
            for c in checkpoints:
                v = np.array([r["hypervolume"][c - 1] for r in runs])
                cells.append(f"{v.mean():.4g} ± {v.std():.2g}")
            print(f"| {m} | " + " | ".join(cells) + f" | {sum(r['duplicates'] for r in runs)} |")
        wins = sum(a["hypervolume"][-1] > b["hypervolume"][-1] for a, b in zip(
            [r for r in mx["runs"] if r["method"] == "mobo"],
            [r for r in mx["runs"] if r["method"] == "sobol"]))
        print(f"\nmobo > sobol at {mx['evals']} evaluations in {wins} of "
              f"{len(mx['runs']) // 2} seeds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--designs", type=int, default=6)
    p.add_argument("--out")
    p = sub.add_parser("_speed_child")
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--designs", type=int, default=6)
    p = sub.add_parser("enumerate")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--out")
    p = sub.add_parser("find")
    p.add_argument("--enumeration", required=True)
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--max-evals", type=int, default=96)
    p.add_argument("--append", action="store_true", help="add to the runs already in --out")
    p.add_argument("--objectives", type=lambda v: v.split(","), default=None,
                   help="comma-separated subset of the objectives (default: all four)")
    p.add_argument("--out")
    p = sub.add_parser("mixed")
    p.add_argument("--evals", type=int, default=100)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out")
    p = sub.add_parser("table")
    p.add_argument("results")
    args = parser.parse_args()
    if args.cmd == "_speed_child":
        print(json.dumps(_speed_child(args.events, args.designs)))
        return
    if args.cmd == "table":
        cmd_table(args)
        return
    result = {"speed": cmd_speed, "enumerate": cmd_enumerate, "find": cmd_find,
              "mixed": cmd_mixed}[args.cmd](args)
    result["command"] = " ".join(["python", "benchmarks/bench_bic.py", *sys.argv[1:]])
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
