"""Benchmark of detopt ``mobo`` against Ax, NSGA-II and Sobol on DTLZ2 (issue 4).

Every method is driven the same way: one trial at a time, ``ask(1)`` then evaluate then
``tell`` (Ax: ``get_next_trials(1)`` then ``complete_trial``). The generation time of a trial
is the optimizer time of that step (tell + ask). Each (method, problem, seed) runs in its own
subprocess so that peak memory (RSS) is per run. Results are JSON files, one per run.

Commands (run in the benchmark venv, which has Ax; see benchmarks/requirements-bench.txt)::

    python benchmarks/bench_mobo.py all --out benchmarks/results/mobo      # the whole plan
    python benchmarks/bench_mobo.py run --method mobo --problem dtlz2-5x100 --seed 0 \
        --evals 200 --out /tmp/r.json                                       # one run
    python benchmarks/bench_mobo.py study --problem dtlz2-5x100 --evals 100 --out /tmp/s.json
    python benchmarks/bench_mobo.py table benchmarks/results/mobo           # markdown tables
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # see docs/benchmarks.md (threads): 1 is faster here

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobo.report import table_markdown  # noqa: E402

PROBLEMS = {
    "dtlz2-3x12": {"n_objectives": 3, "n_variables": 12, "reference_point": [1.1] * 3},
    "dtlz2-5x100": {"n_objectives": 5, "n_variables": 100, "reference_point": [10.0] * 5},
}
CHECKPOINTS = (20, 30, 44, 50, 68, 100, 118, 150, 200)
N_INITIAL = 20  # the same initial design size for every method (Ax: initialization_budget)


def _problem(name: str):
    from detopt.problems.registry import build_problem

    return build_problem("dtlz2", PROBLEMS[name])


def _min_g(X: np.ndarray, m: int) -> float:
    """DTLZ2 distance function at the best point: 0 on the front."""
    return float(np.min(np.sum((X[:, m - 1:] - 0.5) ** 2, axis=1)))


class _Recorder:
    """Per-evaluation normalized hypervolume, min g, IGD+ and generation times."""

    def __init__(self, problem_name: str):
        from detopt.metrics import HypervolumeTracker

        self.problem = _problem(problem_name)
        self.m = len(self.problem.objectives)
        self.ref = np.array(PROBLEMS[problem_name]["reference_point"])
        self.true_hv = self.problem.known_front.hypervolume(self.ref)
        self.front_sample = self.problem.known_front.sample(2000, seed=0)
        self.tracker = HypervolumeTracker(self.ref, self.true_hv)
        self.X: list[np.ndarray] = []
        self.Y: list[np.ndarray] = []
        self.hv: list[float] = []
        self.min_g: list[float] = []
        self.gen_seconds: list[float] = []
        self.igd_plus: dict[int, float] = {}

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        from detopt.problems.dtlz import objectives

        return objectives("dtlz2", x[None, :], self.m)[0]

    def add(self, x: np.ndarray, y: np.ndarray, gen_seconds: float) -> None:
        from detopt.metrics.indicators import igd_plus

        self.X.append(x)
        self.Y.append(y)
        self.gen_seconds.append(gen_seconds)
        self.tracker.add(y, len(self.Y) - 1)
        self.hv.append(float(self.tracker.normalized))
        self.min_g.append(_min_g(np.array(self.X), self.m))
        if len(self.Y) in CHECKPOINTS:
            self.igd_plus[len(self.Y)] = igd_plus(self.tracker.front, self.front_sample)

    def result(self, **extra: Any) -> dict[str, Any]:
        gen = np.array(self.gen_seconds)
        model_gen = gen[N_INITIAL:] if len(gen) > N_INITIAL else gen
        return {
            "evaluations": len(self.Y), "hv_normalized": self.hv, "min_g": self.min_g,
            "igd_plus": {str(k): v for k, v in self.igd_plus.items()},
            "gen_seconds": self.gen_seconds,
            "median_gen_seconds": float(np.median(gen)) if len(gen) else None,
            "median_model_gen_seconds": float(np.median(model_gen)) if len(gen) else None,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            **extra,
        }


# ------------------------------------------------------------------------------ drivers
def run_detopt(method: str, problem_name: str, seed: int, evals: int, time_cap: float,
               options: dict[str, Any]) -> dict[str, Any]:
    """Sequential ask(1)/tell with a detopt optimizer."""
    from detopt.optimizers.base import make_optimizer
    from detopt.trial import Trial, TrialStatus

    rec = _Recorder(problem_name)
    space, objectives = rec.problem.space, rec.problem.objectives
    if method in ("nsga2", "nsga3"):
        options = {"n_initial": N_INITIAL, **options}
    if method == "mobo":
        options = {"n_initial": N_INITIAL, **options}
    opt = make_optimizer(method, space, objectives, seed=seed, options=options)
    start, told = time.monotonic(), None
    for i in range(evals):
        t0 = time.perf_counter()
        if told is not None:
            opt.tell([told])
        params = opt.ask(1, [])[0]
        gen = time.perf_counter() - t0
        x = space.encode(params)
        y = rec.evaluate(x)
        told = Trial(index=i, params=params, status=TrialStatus.COMPLETED,
                     metrics={f"f{j + 1}": (float(v), None) for j, v in enumerate(y)})
        rec.add(x, y, gen)
        if time.monotonic() - start > time_cap:
            break
    info = opt.describe() if hasattr(opt, "describe") else {}
    return rec.result(method=method, options=options, optimizer_info=info)


def run_ax(problem_name: str, seed: int, evals: int, time_cap: float) -> dict[str, Any]:
    """Ax's default multi-objective strategy (Client API, method 'fast'), one trial at a time,
    with the same 20-point Sobol initialization and without the free center point."""
    import ax
    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig

    rec = _Recorder(problem_name)
    d = rec.problem.space.dim
    client = Client(random_seed=seed)
    client.configure_experiment(
        name=f"{problem_name}-{seed}",
        parameters=[RangeParameterConfig(name=f"x{i + 1}", parameter_type="float",
                                         bounds=(0.0, 1.0)) for i in range(d)])
    names = [f"f{j + 1}" for j in range(rec.m)]
    client.configure_optimization(
        objective=", ".join(f"-{n}" for n in names),
        outcome_constraints=[f"{n} <= {r}" for n, r in zip(names, rec.ref)])
    client.configure_generation_strategy(initialization_budget=N_INITIAL,
                                         initialization_random_seed=seed,
                                         initialize_with_center=False)
    start = time.monotonic()
    nodes: list[str] = []
    for _ in range(evals):
        t0 = time.perf_counter()
        trials = client.get_next_trials(max_trials=1)
        gen = time.perf_counter() - t0
        for index, params in trials.items():
            x = np.array([params[f"x{i + 1}"] for i in range(d)])
            y = rec.evaluate(x)
            client.complete_trial(trial_index=index,
                                  raw_data={n: float(v) for n, v in zip(names, y)})
            rec.add(x, y, gen)
        try:
            gs = client._generation_strategy  # noqa: SLF001 - which step produced the trial
            nodes.append(str(gs.current_node_name))
        except Exception:  # noqa: BLE001
            nodes.append("?")
        if time.monotonic() - start > time_cap:
            break
    return rec.result(method="ax", ax_version=ax.__version__, generation_nodes=nodes,
                      time_capped=len(rec.Y) < evals)


def run_study(problem_name: str, seed: int, evals: int, concurrency: int,
              options: dict[str, Any]) -> dict[str, Any]:
    """One asynchronous run through the real Study loop (local runner, SQLite storage)."""
    import tempfile

    from detopt.optimizers.base import make_optimizer
    from detopt.runners.local import LocalRunner
    from detopt.storage import Storage
    from detopt.study import Study, StudySettings

    problem = _problem(problem_name)
    ref = PROBLEMS[problem_name]["reference_point"]
    opt = make_optimizer("mobo", problem.space, problem.objectives, seed=seed,
                         options={"n_initial": N_INITIAL, **options})
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "study.db")
        runner = LocalRunner(workers=concurrency)
        settings = StudySettings(max_trials=evals, concurrency=concurrency, reference_point=ref)
        study = Study.create(f"bench-{problem_name}", problem, opt, runner, storage, settings,
                             config={"bench": True})
        t0 = time.perf_counter()
        outcome = study.run()
        elapsed = time.perf_counter() - t0
        trials = sorted(study.trials.values(), key=lambda t: t.index)
        X = problem.space.encode_many(t.params for t in trials)
        study.close()
    m = len(problem.objectives)
    return {"method": "mobo-study", "concurrency": concurrency, "evaluations": len(trials),
            "hv_normalized_final": study.normalized_hypervolume, "min_g": _min_g(X, m),
            "distinct_designs": len({tuple(np.round(x, 12)) for x in X}),
            "elapsed_seconds": elapsed, "stats": outcome.stats,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


# --------------------------------------------------------------------------- the plan
def plan(seeds: int) -> list[list[str]]:
    """Every run of the benchmark, cheapest first; Ax last (one seed, time-capped)."""
    runs = []
    for problem in PROBLEMS:
        for method in ("sobol", "nsga2", "mobo"):
            for seed in range(seeds):
                runs.append(["run", "--method", method, "--problem", problem, "--seed", str(seed)])
    runs.append(["study", "--problem", "dtlz2-5x100", "--evals", "100", "--seed", "0"])
    for problem in PROBLEMS:
        runs.append(["run", "--method", "ax", "--problem", problem, "--seed", "0"])
    return runs


def run_all(out: Path, seeds: int, ax_time_cap: float, only: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for args in plan(seeds):
        name = "_".join(a for a in args if not a.startswith("--")) + ".json"
        if only and only not in name:
            continue
        target = out / name
        if target.exists():
            print(f"skip {name} (exists)", flush=True)
            continue
        extra = ["--time-cap", str(ax_time_cap)] if "ax" in args else []
        cmd = [sys.executable, __file__, *args, *extra, "--out", str(target)]
        print(time.strftime("%H:%M:%S"), " ".join(args), flush=True)
        subprocess.run(cmd, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="one sequential run")
    p_run.add_argument("--method", choices=["mobo", "nsga2", "sobol", "ax"], required=True)
    p_study = sub.add_parser("study", help="one asynchronous Study run of mobo")
    p_study.add_argument("--concurrency", type=int, default=2)
    for p in (p_run, p_study):
        p.add_argument("--problem", choices=list(PROBLEMS), required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--evals", type=int, default=200)
        p.add_argument("--time-cap", type=float, default=float("inf"))
        p.add_argument("--options", default="{}", help="optimizer options as JSON")
        p.add_argument("--out", type=Path, required=True)
    p_all = sub.add_parser("all", help="the whole benchmark, one run after the other")
    p_all.add_argument("--out", type=Path, default=Path("benchmarks/results/mobo"))
    p_all.add_argument("--seeds", type=int, default=3)
    p_all.add_argument("--ax-time-cap", type=float, default=1800.0)
    p_all.add_argument("--only", default=None, help="run only plan entries containing this")
    p_table = sub.add_parser("table", help="markdown tables from a results folder")
    p_table.add_argument("folder", type=Path)
    args = parser.parse_args()

    if args.command == "all":
        run_all(args.out, args.seeds, args.ax_time_cap, args.only)
        return
    if args.command == "table":
        print(table_markdown(args.folder))
        return
    import torch

    torch.set_num_threads(1)
    options = json.loads(args.options)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if args.command == "study":
        result = run_study(args.problem, args.seed, args.evals, args.concurrency, options)
    elif args.method == "ax":
        result = run_ax(args.problem, args.seed, args.evals, args.time_cap)
    else:
        result = run_detopt(args.method, args.problem, args.seed, args.evals, args.time_cap,
                            options)
    result.update(problem=args.problem, seed=args.seed, started=started,
                  finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                  host=platform.node(), python=platform.python_version(),
                  command=" ".join([Path(sys.executable).name, *sys.argv]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))
    hv = result.get("hv_normalized") or [result.get("hv_normalized_final")]
    print(f"{args.problem} {result['method']} seed {args.seed}: {result['evaluations']} evals, "
          f"HVn {hv[-1]:.3f}, min g {np.min(result['min_g']):.3f}, "
          f"median gen {result.get('median_gen_seconds') or 0:.3f} s, "
          f"RSS {result['peak_rss_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
