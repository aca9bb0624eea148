"""mobo on a long study: proposal time at 100, 500, 1,000 and 2,000 results (DTLZ2 3 × 12).

The study runs in the simulated runner of ``concurrency.py`` (``--in-flight`` evaluations in
flight, fixed evaluation time), which reaches 2,000 evaluations in a fraction of the time a
one-at-a-time run takes. When the number of results reaches a checkpoint, the optimizer's
cost of one more *sequential* proposal on that state is measured (untimed in the run):

* ``ask1``: ``ask(1)`` with nothing pending (acquisition optimization on the current model);
* ``ask1_pending``: ``ask(1)`` with the run's pending trials;
* ``warm_fit``: the hyperparameter re-optimization a ``tell`` runs every ``refit_every``
  results (warm-started, ``fit_max_iter``), on the current training data;
* ``cold_fit``: the fit from BoTorch's initial values run every ``cold_refit_every`` results;
* ``condition``: a ``tell`` without re-optimization (the model conditioned on the data).

A one-at-a-time proposal at that size costs ``ask1 + condition`` most of the time,
``ask1 + warm_fit`` every ``refit_every`` results and ``ask1 + warm_fit + cold_fit`` every
``cold_refit_every`` results (the maximum).

    python benchmarks/mobo/scale.py run --evals 2000 --in-flight 32 --out /tmp/s.json
    python benchmarks/mobo/scale.py table benchmarks/results/mobo-scale
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrency import proposal_seconds
from concurrency import run as simulate

CHECKPOINTS = (100, 500, 1000, 2000)


def _timed(fn: Any) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def probe(opt: Any, pending: list[Any]) -> dict[str, Any]:
    """Costs of one sequential proposal on the optimizer's current state (see module docs)."""
    from detopt.optimizers.mobo.model import fit_model

    o = opt.options
    data, fitted, k = opt._data, opt._fitted, len(opt.completed())
    out: dict[str, Any] = {"train_points": data.n, "acquisition": opt.current_acquisition()}

    def fit(previous: Any, results: int, cold_every: int = 0) -> None:
        fit_model(data, previous, n_results=results, refit_every=o.refit_every,
                  max_iter=o.fit_max_iter, max_iter_cold=o.fit_max_iter_cold,
                  cold_every=cold_every)

    with opt._torch_context(seed=0):
        out["condition"] = _timed(lambda: fit(fitted, fitted.fitted_at))
        out["warm_fit"] = _timed(lambda: fit(fitted, k + o.refit_every))
        out["cold_fit"] = _timed(lambda: fit(None, k))
    out["ask1"] = _timed(lambda: opt.ask(1, []))
    out["ask1_pending"] = _timed(lambda: opt.ask(1, pending))
    out["pending"] = len(pending)
    return out


def table(folder: Path) -> str:
    rows = [("| run | results | train points | acquisition | ask(1) s | ask(1), pending s | "
            "condition s | warm fit s | cold fit s | typical proposal s | every refit_every | "
            "worst (with cold fit) | CPU: typical / worst |"), "|" + "---|" * 13]
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text())
        o = r["options"]
        for p in r["probes"]:
            typical = p["ask1"][0] + p["condition"][0]
            refit = p["ask1"][0] + p["warm_fit"][0]
            worst = refit + p["cold_fit"][0]
            cpu_t = p["ask1"][1] + p["condition"][1]
            cpu_w = p["ask1"][1] + p["warm_fit"][1] + p["cold_fit"][1]
            rows.append(
                f"| {path.stem} | {p['results']} | {p['train_points']} | {p['acquisition']} | "
                f"{p['ask1'][0]:.2f} | {p['ask1_pending'][0]:.2f} ({p['pending']}) | "
                f"{p['condition'][0]:.2f} | {p['warm_fit'][0]:.2f} | {p['cold_fit'][0]:.2f} | "
                f"{typical:.2f} | {refit:.2f} | {worst:.2f} | {cpu_t:.2f} / {cpu_w:.2f} |")
        sec = proposal_seconds(r["asks"])
        hv = r["hv_normalized"]
        rows.append(f"| {path.stem}: whole run | {r['evaluations']} | | | | | | | | "
                    f"p50 {np.median(sec):.3f} / p95 {np.percentile(sec, 95):.3f} / max "
                    f"{sec.max():.3f} s per proposal (in flight {r['in_flight']}) | HVn "
                    + ", ".join(f"{c}: {hv[c - 1]:.3f}" for c in CHECKPOINTS if len(hv) >= c)
                    + f" | util {r['utilization']:.3f} | options {json.dumps(o)} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("--problem", default="dtlz2-3x12")
    p_run.add_argument("--evals", type=int, default=2000)
    p_run.add_argument("--in-flight", type=int, default=32)
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--eval-seconds", type=float, default=30.0)
    p_run.add_argument("--options", default="{}")
    p_run.add_argument("--out", type=Path, required=True)
    p_table = sub.add_parser("table")
    p_table.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "table":
        print(table(args.folder))
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    result = simulate(args.problem, args.in_flight, args.seed, args.evals, args.eval_seconds,
                      json.loads(args.options), probe=probe,
                      probe_at=tuple(c for c in CHECKPOINTS if c <= args.evals))
    result.update(started=started, finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                  host=platform.node(), load_average=os.getloadavg(),
                  command=" ".join([Path(sys.executable).name, *sys.argv]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))
    print(json.dumps(result["probes"], indent=1))


if __name__ == "__main__":
    main()
