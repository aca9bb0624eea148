"""A broad benchmark suite for mobo: pymoo's ZDT, DTLZ, WFG, MW (constrained) and the car-side
impact problem, plus detopt's dRICH; mobo against NSGA-II and Sobol.

Every run is sequential ``ask(1)`` / evaluate / ``tell`` in its own process (20 initial
Sobol designs for every method, as in bench_mobo.py). Constraints of the pymoo problems
(``g <= 0``) are outcome constraints of the detopt problem; the hypervolume counts feasible
results only.

Reference point and normalization, per problem: ``reference`` runs pymoo's NSGA-II for
20,000 evaluations (population 100, 200 generations, 3 seeds) and takes the nadir of the
feasible non-dominated front of all three runs plus 10 % of its range as the reference point
(the objectives' thresholds, so mobo optimizes toward the same box it is measured in). HVn is
the hypervolume of a run's feasible results divided by the largest hypervolume of that
reference front and of everything any run of the suite found (so 1.0 = as good as the best
known front). dRICH: AID2E's thresholds (the problem's own) as reference point, normalized
by the best front found.

    python benchmarks/mobo/suite.py reference --out benchmarks/results/mobo-suite/reference.json
    python benchmarks/mobo/suite.py run --problem dtlz1 --method mobo --seed 0 --out /tmp/r.json
    python benchmarks/mobo/suite.py all --out benchmarks/results/mobo-suite
    python benchmarks/mobo/suite.py table benchmarks/results/mobo-suite
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

#: name -> (pymoo name, keyword arguments); dRICH is handled apart
PYMOO = {
    "zdt1": ("zdt1", {}),                              # 2 x 30, convex front
    "zdt3": ("zdt3", {}),                              # 2 x 30, disconnected front
    "dtlz1": ("dtlz1", {"n_obj": 3}),                  # 3 x 7, multimodal, values up to ~500
    "dtlz7": ("dtlz7", {"n_obj": 3}),                  # 3 x 10, disconnected front
    "wfg4": ("wfg4", {"n_var": 10, "n_obj": 3}),       # 3 x 10, multimodal, scaled 2/4/6
    "dtlz2-4obj": ("dtlz2", {"n_var": 13, "n_obj": 4}),  # 4 x 13
    "wfg4-5obj": ("wfg4", {"n_var": 14, "n_obj": 5}),  # 5 x 14
    "mw7": ("mw7", {}),                                # 2 x 15, 2 constraints
    "mw14": ("mw14", {}),                              # 3 x 15, 1 constraint
    "carside": ("carside", {}),                        # 3 x 7, 10 constraints (car side impact)
}
PROBLEMS = (*PYMOO, "drich")
METHODS = ("mobo", "nsga2", "sobol")
CHECKPOINTS = (20, 40, 60, 100, 150, 200)
N_INITIAL = 20
DRICH_TRACKS = 1000


# ------------------------------------------------------------------------------ problems
class SuiteProblem:
    """A problem of the suite: detopt space and objectives, and a direct evaluation."""

    def __init__(self, name: str, reference: dict[str, Any] | None):
        from detopt.objectives import Objective, ObjectiveSet
        from detopt.space import FloatParameter, Space

        self.name = name
        if name == "drich":
            from detopt.problems.registry import build_problem

            self._drich = build_problem("drich", {"tracks_per_point": DRICH_TRACKS})
            self.space, self.objectives = self._drich.space, self._drich.objectives
            self.ref = self.objectives.reference_point()
            self.n_constraints = 0
            return
        from pymoo.problems import get_problem

        pname, kwargs = PYMOO[name]
        self._pymoo = get_problem(pname, **kwargs)
        p = self._pymoo
        self.space = Space([FloatParameter(f"x{i + 1}", float(lo), float(hi))
                            for i, (lo, hi) in enumerate(zip(p.xl, p.xu))])
        self.ref = None if reference is None else np.array(reference[name]["ref"])
        self.n_constraints = int(p.n_ieq_constr)
        thresholds = self.ref if self.ref is not None else [None] * p.n_obj
        self.objectives = ObjectiveSet(
            [Objective(f"f{j + 1}", "minimize", threshold=None if t is None else float(t))
             for j, t in enumerate(thresholds)],
            outcome_constraints=[f"g{j + 1} <= 0" for j in range(self.n_constraints)])

    def evaluate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Metrics (mean, None) of one design; raises ``TrialError`` for a failed dRICH one."""
        if self.name == "drich":
            return self._drich.evaluate_here(params)
        x = self.space.encode(params) * (self._pymoo.xu - self._pymoo.xl) + self._pymoo.xl
        out = self._pymoo.evaluate(x[None, :], return_values_of=["F", "G"])
        F, G = out if isinstance(out, tuple) else (out, None)
        metrics = {f"f{j + 1}": (float(v), None) for j, v in enumerate(np.ravel(F))}
        if self.n_constraints:
            metrics.update({f"g{j + 1}": (float(v), None) for j, v in enumerate(np.ravel(G))})
        return metrics

    def minimization(self, metrics: dict[str, Any]) -> tuple[np.ndarray, bool]:
        """Objectives in minimization form and whether the outcome constraints hold."""
        y = self.objectives.to_minimization(
            np.array([[metrics[n][0] for n in self.objectives.names]]))[0]
        ok = all(c.violation(metrics[c.metric][0]) <= 0
                 for c in self.objectives.outcome_constraints)
        return y, ok


def reference(out: Path) -> None:
    """Reference points from long NSGA-II runs (see the module docs)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize
    from pymoo.problems import get_problem

    from detopt.metrics.indicators import hypervolume
    from detopt.metrics.pareto import pareto_front

    result = {}
    for name, (pname, kwargs) in PYMOO.items():
        problem = get_problem(pname, **kwargs)
        F = []
        for seed in range(3):
            res = minimize(problem, NSGA2(pop_size=100), ("n_gen", 200), seed=seed,
                           verbose=False, save_history=False)
            pop = res.pop
            feasible = pop.get("CV").ravel() <= 0 if problem.n_ieq_constr else \
                np.ones(len(pop), dtype=bool)
            F.append(pop.get("F")[feasible])
        front = pareto_front(np.vstack(F))
        lo, hi = front.min(axis=0), front.max(axis=0)
        ref = hi + 0.1 * np.where(hi > lo, hi - lo, 1.0)
        result[name] = {"ref": ref.tolist(), "hv_nsga2_20k": float(hypervolume(front, ref)),
                        "front": front.tolist()}
        print(name, np.round(ref, 3), result[name]["hv_nsga2_20k"], flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result))


# ---------------------------------------------------------------------------------- runs
def run(problem_name: str, method: str, seed: int, evals: int, options: dict[str, Any],
        reference_file: Path | None) -> dict[str, Any]:
    import torch

    from detopt.errors import TrialError
    from detopt.optimizers.base import make_optimizer
    from detopt.trial import Trial, TrialStatus

    torch.set_num_threads(1)
    refs = json.loads(reference_file.read_text()) if reference_file else None
    problem = SuiteProblem(problem_name, refs)
    options = {"n_initial": N_INITIAL, **options} if method in ("mobo", "nsga2") else options
    opt = make_optimizer(method, problem.space, problem.objectives, seed=seed, options=options)
    Y, feasible, status, wall, cpu = [], [], [], [], []
    told = None
    for i in range(evals):
        t0, c0 = time.perf_counter(), time.process_time()
        if told is not None:
            opt.tell([told])
        params = opt.ask(1, [])[0]
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        try:
            metrics = problem.evaluate(params)
            told = Trial(index=i, params=dict(params), status=TrialStatus.COMPLETED,
                         metrics=metrics)
            y, ok = problem.minimization(metrics)
            Y.append(y.tolist())
            feasible.append(bool(ok))
        except TrialError as exc:
            told = Trial(index=i, params=dict(params), status=TrialStatus.FAILED, error=str(exc))
            Y.append(None)
            feasible.append(False)
        status.append(told.status.value)
    info = opt.describe() if hasattr(opt, "describe") else {}
    return {"problem": problem_name, "method": method, "seed": seed, "evaluations": evals,
            "options": options, "Y": Y, "feasible": feasible, "status": status,
            "gen_seconds": wall, "gen_cpu_seconds": cpu,
            "ref": None if problem.ref is None else list(map(float, problem.ref)),
            "info": {k: v for k, v in info.items() if k != "last_ask"}}


# -------------------------------------------------------------------------------- report
def _hv_curve(r: dict[str, Any], ref: np.ndarray) -> list[float]:
    from detopt.metrics import HypervolumeTracker

    tracker = HypervolumeTracker(ref)
    out = []
    for i, (y, ok) in enumerate(zip(r["Y"], r["feasible"])):
        if y is not None and ok:
            tracker.add(np.array(y), i)
        out.append(float(tracker.hypervolume))
    return out


def _best_hv(runs: list[dict[str, Any]], ref: np.ndarray, extra: np.ndarray | None) -> float:
    from detopt.metrics.indicators import hypervolume
    from detopt.metrics.pareto import pareto_front

    pts = [np.array(y) for r in runs for y, ok in zip(r["Y"], r["feasible"])
           if y is not None and ok]
    if extra is not None and len(extra):
        pts += list(extra)
    if not pts:
        return float("nan")
    return float(hypervolume(pareto_front(np.array(pts)), ref))


def table(folder: Path, reference_file: Path | None = None) -> str:
    refs = json.loads(reference_file.read_text()) if reference_file and reference_file.exists() \
        else {}
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
            if p.name != "reference.json"]
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_problem[r["problem"]].append(r)
    head = ("| problem | method | seeds | " + " | ".join(f"HVn@{c}" for c in (20, 60, 200))
            + " | gain 20→60 | s/proposal p50 | p95 | max |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for problem in [p for p in PROBLEMS if p in by_problem]:
        rs = by_problem[problem]
        ref = np.array(rs[0]["ref"])
        extra = np.array(refs[problem]["front"]) if problem in refs else None
        best = _best_hv(rs, ref, extra)
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rs:
            groups[r.get("variant") or r["method"]].append(r)
        for label in sorted(groups, key=lambda k: (k not in METHODS, METHODS.index(k)
                                                   if k in METHODS else 0, k)):
            g = groups[label]
            curves = [np.array(_hv_curve(r, ref)) / best for r in g]

            def at(k: int, curves: list[np.ndarray] = curves) -> str:
                vals = [c[k - 1] for c in curves if len(c) >= k]
                return f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "—"

            gain = [c[59] - c[19] for c in curves if len(c) >= 60]
            sec = np.concatenate([np.array(r["gen_seconds"][N_INITIAL:]) for r in g])
            rows.append(f"| {problem} | {label} | {len(g)} | {at(20)} | {at(60)} | {at(200)} | "
                        f"{np.mean(gain):+.3f} | {np.median(sec):.3f} | "
                        f"{np.percentile(sec, 95):.3f} | {sec.max():.3f} |")
    return "\n".join(rows)


def run_all(out: Path, seeds: int, problems: list[str], methods: list[str], evals: int,
            options: str, variant: str, reference_file: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for seed in range(seeds):
        for problem in problems:
            for method in methods:
                label = variant or method
                target = out / f"{problem}_{label}_s{seed}.json"
                if target.exists():
                    continue
                cmd = [sys.executable, __file__, "run", "--problem", problem, "--method", method,
                       "--seed", str(seed), "--evals", str(evals), "--options",
                       options if method == "mobo" else "{}", "--variant", variant,
                       "--reference", str(reference_file), "--out", str(target)]
                print(time.strftime("%H:%M:%S"), target.name, flush=True)
                subprocess.run(cmd, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_ref = sub.add_parser("reference")
    p_ref.add_argument("--out", type=Path, required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("--problem", choices=PROBLEMS, required=True)
    p_run.add_argument("--method", choices=METHODS, required=True)
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--out", type=Path, required=True)
    p_all = sub.add_parser("all")
    p_all.add_argument("--out", type=Path, required=True)
    p_all.add_argument("--seeds", type=int, default=3)
    p_all.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    p_all.add_argument("--methods", nargs="+", default=list(METHODS))
    for p in (p_run, p_all):
        p.add_argument("--evals", type=int, default=200)
        p.add_argument("--options", default="{}", help="mobo options as JSON")
        p.add_argument("--variant", default="", help="label of the mobo options")
        p.add_argument("--reference", type=Path,
                       default=Path("benchmarks/results/mobo-suite/reference.json"))
    p_table = sub.add_parser("table")
    p_table.add_argument("folder", type=Path)
    p_table.add_argument("--reference", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "reference":
        reference(args.out)
    elif args.command == "table":
        print(table(args.folder, args.reference or args.folder / "reference.json"))
    elif args.command == "all":
        run_all(args.out, args.seeds, args.problems, args.methods, args.evals, args.options,
                args.variant, args.reference)
    else:
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        result = run(args.problem, args.method, args.seed, args.evals, json.loads(args.options),
                     args.reference if args.reference.exists() else None)
        result.update(variant=args.variant, started=started,
                      finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), host=platform.node(),
                      load_average=os.getloadavg(),
                      command=" ".join([Path(sys.executable).name, *sys.argv]))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result))
        sec = np.array(result["gen_seconds"][N_INITIAL:])
        print(f"{args.problem} {args.method} {args.variant} seed {args.seed}: median gen "
              f"{np.median(sec):.3f} s", flush=True)


if __name__ == "__main__":
    main()
