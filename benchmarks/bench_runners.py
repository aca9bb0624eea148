"""Runner overhead against the raw engines, and worker utilization through the Study loop (issue 5).

Part 1, overhead per call on no-op calls (``detopt.problems.synthetic.sphere``), each detopt
runner against the engine it wraps, measured in the same run, alternating, ``--repeats`` times:

* ``concurrent.futures.ProcessPoolExecutor`` (2 processes)  vs  ``LocalRunner(workers=2)``
* Dask ``client.submit`` + ``gather`` on the same cluster    vs  ``DaskRunner(address)``
  (durable, default ``publish_after=5`` s: no-op calls are never published; also
  ``publish_after=0``, every task published and unpublished, and ``durable=False``).
  A second raw variant fetches results as they finish (``as_completed(with_results=True)``),
  which is what a loop acting on each result has to do; one ``gather`` at the end is cheaper.
* ``sbatch --wrap "<python> -c <call sphere>"`` + polling ``squeue`` until the jobs are gone
  vs  ``SlurmRunner`` (job entry point, call/result pickles, sacct poller); same poll interval

Two numbers per engine: *throughput* (N calls submitted at once, wall time / N) and *round
trip* (one call at a time, submit to result). Ratio = detopt / raw (target: <= 1.5).

Part 2, utilization: a real Study (Sobol, SQLite, 2 parameters) whose evaluation sleeps 1 s,
at concurrency = workers = 2, on each runner: utilization = busy worker-seconds (trials x 1 s)
/ (workers x wall time of ``Study.run``). Target: >= 95 % on local and Dask.

    python benchmarks/bench_runners.py --dask-address tcp://127.0.0.1:18786 --slurm \\
        [--repeats 3] [--out benchmarks/results/runners.json]

SLURM and Dask parts need the services (``DETOPT_KEEP_SERVICES=1 scripts/test.sh
tests/test_services.py``, then ``source /tmp/detopt-ci/*.env``); without the options they are
skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import detopt
from detopt.problems.synthetic import sphere
from detopt.task import TaskCall

PARAMS = {"x": 0.5, "y": 0.25}
NOOP = TaskCall("detopt.problems.synthetic:sphere", {"params": PARAMS}, label="bench.noop")
RAW_JOB = "from detopt.problems.synthetic import sphere; sphere({'x': 0.5, 'y': 0.25})"


# ----------------------------------------------------------------------------- part 1
def throughput(submit: Callable[[], Any], gather: Callable[[list], Any], n: int) -> float:
    """Seconds per call with ``n`` calls in flight at once."""
    start = time.perf_counter()
    gather([submit() for _ in range(n)])
    return (time.perf_counter() - start) / n


def round_trip(call_once: Callable[[], Any], n: int) -> float:
    """Seconds per call, one call at a time."""
    start = time.perf_counter()
    for _ in range(n):
        call_once()
    return (time.perf_counter() - start) / n


def measure(engine: tuple[Callable, Callable, Callable], n: int, m: int) -> dict[str, float]:
    """Throughput over ``n`` calls and round trip over ``m`` calls of (submit, gather, once)."""
    submit, gather, once = engine
    return {"throughput": throughput(submit, gather, n), "round_trip": round_trip(once, m)}


def runner_pair(runner) -> tuple[Callable, Callable, Callable]:
    return (lambda: runner.submit(NOOP), lambda fs: [f.result(timeout=600) for f in fs],
            lambda: runner.submit(NOOP).result(timeout=600))


def bench_local(n: int, m: int) -> dict[str, dict[str, float]]:
    from detopt.runners.local import LocalRunner

    with ProcessPoolExecutor(2) as pool, LocalRunner(workers=2) as runner:
        raw = (lambda: pool.submit(sphere, PARAMS), lambda fs: [f.result() for f in fs],
               lambda: pool.submit(sphere, PARAMS).result())
        ours = runner_pair(runner)
        for submit, gather, _ in (raw, ours):  # warm-up: workers started, modules imported
            throughput(submit, gather, 50)
        return {"raw": measure(raw, n, m), "detopt": measure(ours, n, m)}


def bench_dask(address: str, n: int, m: int) -> dict[str, dict[str, float]]:
    from distributed import Client, as_completed

    from detopt.runners.dask import DaskRunner

    out = {}
    with Client(address, set_as_default=False) as client:
        raw = (lambda: client.submit(sphere, PARAMS, pure=False), client.gather,
               lambda: client.submit(sphere, PARAMS, pure=False).result())
        throughput(raw[0], raw[1], 50)
        out["raw"] = measure(raw, n, m)
        # the same engine used as a loop that acts on each result must: fetch as they finish
        streaming = lambda fs: [r for _, r in as_completed(  # noqa: E731
            fs, with_results=True, loop=client.loop)]
        out["raw_streaming"] = {"throughput": throughput(raw[0], streaming, n),
                                "round_trip": out["raw"]["round_trip"]}
    variants = (("detopt", {}), ("detopt_publish_all", {"publish_after": 0.0}),
                ("detopt_not_durable", {"durable": False}))
    for label, options in variants:
        with DaskRunner(address=address, **options) as runner:
            ours = runner_pair(runner)
            throughput(ours[0], ours[1], 50)
            out[label] = measure(ours, n, m)
    return out


def _raw_sbatch(workdir: Path, python: str) -> str:
    proc = subprocess.run(["sbatch", "--parsable", "--partition=debug", "--time=00:10:00",
                           "--mem=500M", f"--output={workdir}/raw-%j.out",
                           "--wrap", f"{python} -c \"{RAW_JOB}\""],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip().split(";")[0]


def _wait_gone(ids: list[str], poll: float) -> None:
    pending = set(ids)
    while pending:
        time.sleep(poll)
        out = subprocess.run(["squeue", "--noheader", f"--jobs={','.join(sorted(pending))}",
                              "--format=%i"], capture_output=True, text=True).stdout
        pending &= set(out.split())


def bench_slurm(n: int, m: int, poll: float, workdir: Path) -> dict[str, dict[str, float]]:
    from detopt.runners.slurm import SlurmRunner

    python = sys.executable
    raw = (lambda: _raw_sbatch(workdir, python), lambda ids: _wait_gone(ids, poll),
           lambda: _wait_gone([_raw_sbatch(workdir, python)], poll))
    with SlurmRunner(partition="debug", wallwalltime="00:10:00", memory="500MB", poll_interval=poll,
                     state_interval=max(1.0, poll), workdir=workdir / "detopt") as runner:
        ours = runner_pair(runner)
        for submit, gather, _ in (raw, ours):
            throughput(submit, gather, 2)
        return {"raw": measure(raw, n, m), "detopt": measure(ours, n, m)}


# ----------------------------------------------------------------------------- part 2
def utilization(runner: dict[str, Any], trials: int, workers: int,
                folder: Path) -> dict[str, float]:
    """Busy worker-seconds / (workers x wall) for 1 s evaluations through a real Study."""
    name = f"util-{runner['kind']}-{uuid.uuid4().hex[:6]}"
    cfg = {
        "name": name, "storage": str(folder / f"{name}.db"),
        "problem": {"evaluate": "detopt.problems.synthetic:sleep",
                    "evaluate_options": {"seconds": 1.0},
                    "parameters": [{"name": "x", "low": 0.0, "high": 1.0},
                                   {"name": "y", "low": 0.0, "high": 1.0}],
                    "objectives": [{"name": "f1", "threshold": 3.0},
                                   {"name": "f2", "threshold": 3.0}]},
        "optimizer": {"name": "sobol", "seed": 1},
        "runner": runner,
        "study": {"max_trials": trials, "concurrency": workers},
    }
    study = detopt.new_study(detopt.parse_config(cfg, base_dir=folder))
    try:
        start = time.perf_counter()
        outcome = study.run()
        wall = time.perf_counter() - start
        spans = [t.finished_at - t.started_at for t in study.trials.values()]
    finally:
        study.close()
    assert outcome.stop_reason == "trial budget reached", outcome.stop_reason
    busy = trials * 1.0
    return {"trials": trials, "workers": workers, "wall_s": wall,
            "utilization": busy / (workers * wall),
            "median_trial_span_s": statistics.median(spans)}


# ------------------------------------------------------------------------------- main
def median_of(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {who: {what: statistics.median(r[who][what] for r in runs) for what in runs[0][who]}
            for who in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dask-address")
    ap.add_argument("--slurm", action="store_true", help="use the SLURM cluster of SLURM_CONF")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--calls", type=int, default=1000, help="no-op calls per local/Dask run")
    ap.add_argument("--jobs", type=int, default=20, help="no-op jobs per SLURM run")
    ap.add_argument("--trials", type=int, default=30, help="1 s trials per utilization run")
    ap.add_argument("--poll", type=float, default=0.25,
                    help="SLURM poll interval: squeue for raw sbatch, result files for detopt")
    ap.add_argument("--out", default="benchmarks/results/runners.json")
    args = ap.parse_args()

    results: dict[str, Any] = {"overhead": {}, "utilization": {}, "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-runners-", dir=Path.cwd()) as tmp:
        folder = Path(tmp)  # below the current directory: a filesystem the SLURM jobs see
        engines: dict[str, Callable[[], dict]] = {"local": lambda: bench_local(args.calls, 200)}
        if args.dask_address:
            engines["dask"] = lambda: bench_dask(args.dask_address, args.calls, 100)
        if args.slurm:
            engines["slurm"] = lambda: bench_slurm(args.jobs, 5, args.poll, folder)
        for engine, bench in engines.items():
            runs = [bench() for _ in range(args.repeats)]
            results["overhead"][engine] = {"median": median_of(runs), "runs": runs}
            median = results["overhead"][engine]["median"]
            print(f"overhead {engine}: {json.dumps(median)}", flush=True)

        setups = {"local": {"kind": "local", "workers": 2}}
        if args.dask_address:
            setups["dask"] = {"kind": "dask", "address": args.dask_address}
        if args.slurm:
            setups["slurm"] = {"kind": "slurm", "partition": "debug", "time": "00:10:00",
                               "mem": "500MB", "poll_interval": args.poll, "state_interval": 1.0,
                               "workdir": str(folder / "util-jobs")}
        for engine, runner in setups.items():
            results["utilization"][engine] = utilization(runner, args.trials, 2, folder)
            print(f"utilization {engine}: {json.dumps(results['utilization'][engine])}", flush=True)

    print_table(results)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))


def print_table(results: dict[str, Any]) -> None:
    print("\n| engine | raw throughput | detopt throughput | ratio | raw round trip | "
          "detopt round trip | ratio |")
    print("|---|---|---|---|---|---|---|")
    for engine, data in results["overhead"].items():
        med = data["median"]
        for who in [k for k in med if not k.startswith("raw")]:
            raw, ours = med["raw"], med[who]
            print(f"| {engine} ({who}) | {raw['throughput'] * 1e3:.2f} ms | "
                  f"{ours['throughput'] * 1e3:.2f} ms | "
                  f"{ours['throughput'] / raw['throughput']:.2f} | "
                  f"{raw['round_trip'] * 1e3:.1f} ms | {ours['round_trip'] * 1e3:.1f} ms | "
                  f"{ours['round_trip'] / raw['round_trip']:.2f} |")
            if "raw_streaming" in med:
                stream = med["raw_streaming"]["throughput"]
                print(f"| {engine} ({who}) vs raw as_completed | {stream * 1e3:.2f} ms | "
                      f"{ours['throughput'] * 1e3:.2f} ms | "
                      f"{ours['throughput'] / stream:.2f} | | | |")
    print("\n| runner | trials | workers | wall | utilization | median trial span |")
    print("|---|---|---|---|---|---|")
    for engine, u in results["utilization"].items():
        print(f"| {engine} | {u['trials']} | {u['workers']} | {u['wall_s']:.1f} s | "
              f"{100 * u['utilization']:.1f} % | {u['median_trial_span_s']:.3f} s |")


if __name__ == "__main__":
    main()
