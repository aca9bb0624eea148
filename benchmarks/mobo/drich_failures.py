"""How many of an optimizer's proposals fail on the dRICH problem, and what it reaches.

``--constraints check`` (the problem's default): the overlap proxies are the space's design
check, so optimizers should propose no overlapping design. ``--constraints fail``: proposals
are not checked and overlapping designs fail (AID2E's policy; what mobo's failure model is for).
Sequential ask(1) / evaluate / tell in this process (no runner, so runs are reproducible):
trial 0 is the nominal ePIC design, as in examples/drich.yaml, then the optimizer proposes
the rest. An overlapping geometry raises ``InfeasibleDesignError`` in about a millisecond and
is told as a FAILED trial with the error as its reason, as the Study loop does.

Recorded per run: the status of every trial, which proposals were model-based (mobo past its
initial design), the hypervolume of the completed trials (AID2E's thresholds as reference
point, minimization form) after every trial, and the optimizer time per trial.

    python benchmarks/mobo/drich_failures.py run --seed 7 --trials 70 --out /tmp/r.json
    python benchmarks/mobo/drich_failures.py all --out benchmarks/results/mobo-drich/mobo-check
    python benchmarks/mobo/drich_failures.py all --constraints fail --out benchmarks/results/mobo-drich/mobo-fail
    python benchmarks/mobo/drich_failures.py all --method nsga2 --out benchmarks/results/mobo-drich/nsga2-check
    python benchmarks/mobo/drich_failures.py table benchmarks/results/mobo-drich/*
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

NOMINAL = {"mirror_radius": 219.8, "mirror_centerx": 114.6, "sensor_radius": 110.0,
           "sensor_centerx": 183.4, "sensor_dz": 10.4, "snout_length": 20.0,
           "aerogel_thickness": 4.0}
SEEDS = (7, 8, 9, 10, 11)


def run(method: str, seed: int, trials: int, options: dict[str, Any],
        tracks: int, constraints: str = "check") -> dict[str, Any]:
    import torch

    from detopt.errors import TrialError
    from detopt.metrics import HypervolumeTracker
    from detopt.optimizers.base import make_optimizer
    from detopt.problems.registry import build_problem
    from detopt.trial import Trial, TrialStatus

    torch.set_num_threads(1)
    problem = build_problem("drich", {"tracks_per_point": tracks, "constraints": constraints})
    objectives = problem.objectives
    ref = objectives.reference_point()
    tracker = HypervolumeTracker(ref)
    opt = make_optimizer(method, problem.space, objectives, seed=seed, options=options)
    status: list[str] = []
    model_based: list[bool] = []
    hv: list[float] = []
    gen: list[float] = []
    errors: dict[str, int] = {}
    told: Trial | None = None
    for i in range(trials):
        t0 = time.perf_counter()
        if told is not None:
            opt.tell([told])
        by_model = method == "mobo" and opt._fitted is not None and \
            opt._n_results >= opt.n_initial
        params = dict(NOMINAL) if i == 0 else opt.ask(1, [])[0]
        gen.append(time.perf_counter() - t0)
        model_based.append(bool(by_model and i > 0))
        try:
            metrics = problem.evaluate_here(params)
            told = Trial(index=i, params=params, status=TrialStatus.COMPLETED, metrics=metrics)
            y = objectives.to_minimization(np.array([told.values(objectives.names)]))[0]
            tracker.add(y, i)
        except TrialError as exc:
            told = Trial(index=i, params=params, status=TrialStatus.FAILED,
                         error=f"{type(exc).__name__}: {exc}")
            kind = str(exc).split(":")[0][:60]
            errors[kind] = errors.get(kind, 0) + 1
        status.append(told.status.value)
        hv.append(float(tracker.hypervolume))
    opt.tell([told])
    failed = np.array([s == "failed" for s in status])
    mb = np.array(model_based)
    return {
        "method": method, "seed": seed, "trials": trials, "options": options,
        "constraints": constraints,
        "tracks_per_point": tracks, "status": status, "model_based": model_based,
        "hypervolume": hv, "gen_seconds": gen, "errors": errors,
        "failed": int(failed.sum()), "model_proposals": int(mb.sum()),
        "model_failed": int(failed[mb].sum()),
        "info": opt.describe() if hasattr(opt, "describe") else {},
    }


def table(folders: list[Path]) -> str:
    rows = [("| variant | seeds | trials | failed (all) | model-based proposals | failed among "
             "them | failure share (model) | failure share, trials 23+ | HV@40 | HV@final "
             "| median gen s (model) |"),
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for folder in folders:
        runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        if not runs:
            continue
        mf = [r["model_failed"] for r in runs]
        mp = [r["model_proposals"] for r in runs]
        share = [a / b for a, b in zip(mf, mp) if b]
        hv40 = [r["hypervolume"][39] for r in runs if len(r["hypervolume"]) >= 40]
        hvf = [r["hypervolume"][-1] for r in runs]
        gen = [float(np.median([g for g, m in zip(r["gen_seconds"], r["model_based"]) if m]))
               for r in runs if any(r["model_based"])]
        late = np.mean([s == "failed" for r in runs for s in r["status"][22:]])
        rows.append(
            f"| {folder.name} | {len(runs)} | {runs[0]['trials']} | "
            f"{'/'.join(str(r['failed']) for r in runs)} | {'/'.join(map(str, mp))} | "
            f"{'/'.join(map(str, mf))} | "
            + (f"{sum(mf) / sum(mp):.2f} (seeds {', '.join(f'{s:.2f}' for s in share)})"
               if sum(mp) else "—") +
            f" | {late:.2f} | "
            f"{np.mean(hv40):.3f} ± {np.std(hv40):.3f} | {np.mean(hvf):.3f} ± {np.std(hvf):.3f} | "
            f"{np.mean(gen) if gen else float('nan'):.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_all = sub.add_parser("all", help="every seed, one process each")
    for p in (p_run, p_all):
        p.add_argument("--method", default="mobo")
        p.add_argument("--trials", type=int, default=70)
        p.add_argument("--tracks", type=int, default=1000)
        p.add_argument("--options", default="{}", help="optimizer options as JSON")
        p.add_argument("--constraints", choices=["check", "fail"], default="check",
                       help="check: overlap proxies as the space's design check (default); "
                            "fail: unchecked proposals, overlapping designs fail")
        p.add_argument("--out", type=Path, required=True)
    p_run.add_argument("--seed", type=int, default=7)
    p_all.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated")
    p_table = sub.add_parser("table")
    p_table.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "table":
        print(table(args.folders))
        return
    if args.command == "all":
        args.out.mkdir(parents=True, exist_ok=True)
        for seed in (int(v) for v in args.seeds.split(",")):
            target = args.out / f"drich_{args.method}_{seed}.json"
            if target.exists():
                print(f"skip {target.name} (exists)", flush=True)
                continue
            cmd = [sys.executable, __file__, "run", "--method", args.method, "--seed", str(seed),
                   "--trials", str(args.trials), "--tracks", str(args.tracks),
                   "--options", args.options, "--constraints", args.constraints,
                   "--out", str(target)]
            print(time.strftime("%H:%M:%S"), " ".join(cmd[2:]), flush=True)
            subprocess.run(cmd, check=False)
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    result = run(args.method, args.seed, args.trials, json.loads(args.options), args.tracks,
                 args.constraints)
    result.update(started=started, finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                  command=" ".join([Path(sys.executable).name, *sys.argv]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))
    print(f"drich {args.method} seed {args.seed}: {result['failed']}/{args.trials} failed, "
          f"model-based {result['model_failed']}/{result['model_proposals']} failed, "
          f"HV {result['hypervolume'][-1]:.4f}", flush=True)


if __name__ == "__main__":
    main()
