"""Closure test 2, in small: the same DTLZ2 study through the PanDA/iDDS runner (tier C) and the
local runner; hypervolume vs trials, trials in flight, and where the time goes.

Study: DTLZ2, 3 objectives x 12 variables, mobo, 60 trials, concurrency 4, seeds 0 and 1.

    # tier C services (see docs/testing.md / docs/runners.md#panda-idds), then:
    nice -n 10 python benchmarks/closure2_panda.py run --runner local --seeds 0 1
    nice -n 10 python benchmarks/closure2_panda.py run --runner panda --seeds 0 1
    python benchmarks/closure2_panda.py plot

The panda runs need the iDDS REST server, ActiveMQ and the iDDS agents with the localpanda
plugin (the stand-in for PanDA, tests/panda/localpanda.py), and the client environment
(``IDDS_HOST``, ``X509_USER_PROXY``; the broker settings come from the server).

Time split per trial: *proposing* = the optimizer's ``ask`` calls (timed on the optimizer
thread; with prefetch they overlap evaluations), *evaluating* = the DTLZ2 function itself (timed
in-process, microseconds), *scheduling + transfer* = the rest of each trial's wall time from
submission to stored result (for iDDS: REST submission, the agents' polling, job start, the
worker's STOMP self-test, the result message).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "panda"
STUDY: dict[str, Any] = {
    "problem": {"builtin": "dtlz2", "options": {"n_objectives": 3, "n_variables": 12}},
    "optimizer": {"name": "mobo"},
    "study": {"max_trials": 60, "concurrency": 4},
}


def runner_section(kind: str, workdir: Path) -> dict[str, Any]:
    if kind == "local":
        return {"kind": "local", "workers": 4}
    src = workdir / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "README").write_text("the DTLZ2 evaluation is in detopt itself\n")
    return {"kind": "panda", "service": "idds", "upload": False, "source_dir": str(src),
            "workdir": str(workdir / "panda"), "status_interval": 3, "rest_poll_interval": 10,
            "result_grace": 60, "slots": 4}


def run_one(kind: str, seed: int, trials: int, workdir: Path) -> dict[str, Any]:
    import detopt
    from detopt.storage import Storage

    cfg = json.loads(json.dumps(STUDY))
    cfg["name"] = f"closure2-{kind}-s{seed}-{uuid.uuid4().hex[:6]}"
    cfg["storage"] = str(workdir / f"{cfg['name']}.db")
    cfg["optimizer"]["seed"] = seed
    cfg["study"]["max_trials"] = trials
    cfg["runner"] = runner_section(kind, workdir)
    t0 = time.time()
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=workdir))
    setup = time.time() - t0
    asks: list[tuple[float, float]] = []
    ask = study.optimizer.ask

    def timed_ask(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return ask(*args, **kwargs)
        finally:
            asks.append((start, time.time()))

    study.optimizer.ask = timed_ask
    start = time.time()
    try:
        study.run()
        delivered = dict(getattr(study.runner, "delivered", {}) or {})
    finally:
        study.close()
    wall = time.time() - start
    with Storage(cfg["storage"]) as storage:
        rows = storage.load_trials(storage.get_study(cfg["name"]).id)
    ref = np.full(3, 1.1)
    done = sorted((t for t in rows if t.status.name == "COMPLETED"), key=lambda t: t.finished_at)
    return {"runner": kind, "seed": seed, "setup_s": setup, "wall_s": wall, "asks": asks,
            "delivered": delivered, "reference_point": ref.tolist(),
            "trials": [{"index": t.index, "started": t.started_at - start,
                        "finished": t.finished_at - start, "attempts": t.attempts,
                        "f": [t.metrics[f"f{i}"][0] for i in range(1, 4)]} for t in done],
            "failed": sum(1 for t in rows if t.status.name != "COMPLETED")}


def eval_seconds(n: int = 2000) -> float:
    from detopt.problems.dtlz import evaluate

    rng = np.random.default_rng(0)
    xs = [{f"x{i}": float(v) for i, v in enumerate(rng.random(12))} for _ in range(n)]
    start = time.perf_counter()
    for x in xs:
        evaluate(x, "dtlz2", 3)
    return (time.perf_counter() - start) / n


def hv_curve(result: dict[str, Any]) -> list[float]:
    import moocore

    ref = np.asarray(result["reference_point"])
    ys, out = [], []
    for t in sorted(result["trials"], key=lambda t: t["index"]):
        if np.all(np.asarray(t["f"]) < ref):
            ys.append(t["f"])
        out.append(float(moocore.hypervolume(np.asarray(ys), ref=ref)) if ys else 0.0)
    return out


def summary(result: dict[str, Any], per_eval: float) -> dict[str, float]:
    trials = result["trials"]
    wall = [t["finished"] - t["started"] for t in trials]
    propose = sum(b - a for a, b in result["asks"])
    n = max(1, len(trials))
    return {"trials": len(trials), "wall_s": result["wall_s"], "setup_s": result["setup_s"],
            "trial_wall_mean_s": float(np.mean(wall)), "trial_wall_median_s": float(np.median(wall)),
            "proposing_s_per_trial": propose / n, "evaluating_s_per_trial": per_eval,
            "scheduling_transfer_s_per_trial": float(np.mean(wall)) - per_eval,
            "final_hv": hv_curve(result)[-1]}


def plot(results: list[dict[str, Any]], per_eval: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    colors = {"local": "tab:blue", "panda": "tab:orange"}
    for r in results:
        style = "-" if r["seed"] == 0 else "--"
        label = f"{r['runner']} seed {r['seed']}"
        axes[0].plot(range(1, len(r["trials"]) + 1), hv_curve(r), style, color=colors[r["runner"]], label=label)
        events = sorted([(t["started"], 1) for t in r["trials"]] + [(t["finished"], -1) for t in r["trials"]])
        times, level, levels = [0.0], 0, [0]
        for when, step in events:
            level += step
            times.append(when)
            levels.append(level)
        axes[1].step(times, levels, where="post", color=colors[r["runner"]], linestyle=style, label=label)
    axes[0].set(xlabel="trials", ylabel="hypervolume (ref 1.1)", title="DTLZ2 3x12, mobo: hypervolume")
    axes[1].set(xlabel="seconds since start", ylabel="trials in flight", title="trials in flight")
    axes[1].set_xscale("symlog", linthresh=10)
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    kinds = sorted({r["runner"] for r in results})
    parts = {"proposing": [], "scheduling + transfer": [], "evaluating": []}
    for kind in kinds:
        sums = [summary(r, per_eval) for r in results if r["runner"] == kind]
        parts["proposing"].append(np.mean([s["proposing_s_per_trial"] for s in sums]))
        parts["scheduling + transfer"].append(np.mean([s["scheduling_transfer_s_per_trial"] for s in sums]))
        parts["evaluating"].append(per_eval)
    bottom = np.zeros(len(kinds))
    for name, values in parts.items():
        axes[2].bar(kinds, values, bottom=bottom, label=name)
        bottom += np.asarray(values)
    axes[2].set(ylabel="seconds per trial", title="where a trial's time goes", yscale="log")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--runner", choices=("local", "panda"), required=True)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--trials", type=int, default=60)
    r.add_argument("--workdir", type=Path, default=Path("/tmp/detopt-closure2"))
    sub.add_parser("plot")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.cmd == "run":
        for seed in args.seeds:
            result = run_one(args.runner, seed, args.trials, args.workdir)
            path = OUT / f"{args.runner}-seed{seed}.json"
            path.write_text(json.dumps(result, indent=1))
            print(json.dumps({k: v for k, v in summary(result, 0.0).items()}), file=sys.stderr)
        return
    results = [json.loads(p.read_text()) for p in sorted(OUT.glob("*-seed*.json"))]
    per_eval = eval_seconds()
    table = {f"{r['runner']}-seed{r['seed']}": summary(r, per_eval) for r in results}
    (OUT / "summary.json").write_text(json.dumps({"eval_seconds": per_eval, "runs": table}, indent=1))
    plot(results, per_eval, OUT / "closure2.png")
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
