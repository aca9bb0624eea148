"""Study loop + storage overhead per trial with a no-op evaluation (issue 2).

For 100, 1,000 and 10,000 trials, on SQLite and (with --pg-url) PostgreSQL, runs a real Study
(Sobol optimizer, cheap two-objective evaluation) and reports the driver's cost per trial. Two
runners: ``inline`` (evaluation in the driver: pure loop + storage cost) and ``local`` (two
worker processes: what a user pays end to end).

Baseline, measured in the same run: the least a durable loop can do per trial on the same
database: draw a Sobol point, evaluate, INSERT the trial and UPDATE it with its result, each
in its own transaction, through SQLAlchemy Core. detopt's ratio to it shows the price of
everything else (validation, attempts history, hypervolume tracking, proposal pipeline).

Growth: the per-trial cost of the last 10 % of trials divided by that of the first 10 % of the
same run (1.0 = flat), from the trials' stored timestamps.

    python benchmarks/bench_loop.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:15432/bench]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from scipy.stats import qmc
from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, insert, update

from detopt.optimizers.base import make_optimizer
from detopt.problems.registry import build_problem
from detopt.problems.synthetic import sphere
from detopt.runners import make_runner
from detopt.storage import Storage
from detopt.settings import StudySettings
from detopt.study import Study


def run_detopt(url: str, n: int, runner_kind: str) -> dict[str, float]:
    problem = build_problem("sphere", {"n_variables": 2})
    optimizer = make_optimizer("sobol", problem.space, problem.objectives, seed=0)
    runner = make_runner(runner_kind, {"workers": 2} if runner_kind == "local" else {})
    storage = Storage(url)
    study = Study.create(f"bench-{uuid.uuid4().hex[:8]}", problem, optimizer, runner, storage,
                         StudySettings(max_trials=n, concurrency=runner.slots), config={"bench": True})
    start = time.perf_counter()
    study.run()
    elapsed = time.perf_counter() - start
    trials = sorted(study.trials.values(), key=lambda t: t.finished_at)
    finish = np.array([t.finished_at for t in trials])
    k = max(1, n // 10)
    first, last = (finish[k] - finish[0]) / k, (finish[-1] - finish[-1 - k]) / k
    study.close()
    return {"per_trial_ms": 1e3 * elapsed / n, "growth_last_vs_first_10pct": last / first}


def run_baseline(url: str, n: int) -> dict[str, float]:
    """The bare minimum: Sobol point, evaluation, INSERT + UPDATE in separate transactions,
    on an engine configured exactly like detopt's (SQLite WAL, synchronous=NORMAL)."""
    engine = Storage._create_engine(url)
    meta = MetaData()
    table = Table(f"baseline_{uuid.uuid4().hex[:8]}", meta,
                  Column("id", Integer, primary_key=True), Column("status", String(16)),
                  Column("params", JSON), Column("metrics", JSON), Column("t", Float))
    meta.create_all(engine)
    sobol = qmc.Sobol(d=2, scramble=True, seed=0)
    start = time.perf_counter()
    for i in range(n):
        x = (sobol.random(1)[0] * 3 - 1).tolist()
        params = {"x1": x[0], "x2": x[1]}
        with engine.begin() as conn:
            conn.execute(insert(table).values(id=i, status="running", params=params, t=time.time()))
        result = sphere(params)
        with engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == i).values(status="completed", metrics=result))
    elapsed = time.perf_counter() - start
    meta.drop_all(engine)
    engine.dispose()
    return {"per_trial_ms": 1e3 * elapsed / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", help="PostgreSQL SQLAlchemy URL (omit to skip PostgreSQL)")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--out", default="benchmarks/results/loop.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="detopt-bench-"))
    backends = {"sqlite": lambda: f"sqlite:///{tmp / (uuid.uuid4().hex + '.db')}"}
    if args.pg_url:
        backends["postgresql"] = lambda: args.pg_url
    rows = []
    for backend, url_of in backends.items():
        for n in sizes:
            base = run_baseline(url_of(), n)
            row = {"backend": backend, "trials": n, "baseline_ms": base["per_trial_ms"]}
            for kind in ("inline", "local"):
                r = run_detopt(url_of(), n, kind)
                row[f"{kind}_ms"] = r["per_trial_ms"]
                row[f"{kind}_growth"] = r["growth_last_vs_first_10pct"]
                row[f"{kind}_vs_baseline"] = r["per_trial_ms"] / base["per_trial_ms"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print("\n| backend | trials | baseline ms/trial | inline ms/trial (×baseline, growth) | "
          "local ms/trial (×baseline, growth) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['trials']} | {r['baseline_ms']:.2f} | {r['inline_ms']:.2f} "
              f"(×{r['inline_vs_baseline']:.2f}, {r['inline_growth']:.2f}) | {r['local_ms']:.2f} "
              f"(×{r['local_vs_baseline']:.2f}, {r['local_growth']:.2f}) |")


if __name__ == "__main__":
    main()
