"""mobo with many trials in flight: a simulated runner whose evaluations take a fixed time.

Trials carry their virtual start and finish times, so mobo's ``keep_up`` sees the
evaluation time as it would in a study. The simulation keeps ``W`` evaluations in flight, as the study loop does when it asks for as
many proposals as slots are free: whenever evaluations finish, the optimizer is told all of
them, then asked for ``free`` proposals with the others pending. Evaluations take a fixed
*virtual* time (``--eval-seconds``); the optimizer's real time (tell + ask) is added to the
virtual clock, during which the free workers are idle (no prefetching: pessimistic).

Recorded per run: every ask (n, pending, tell and ask seconds), the normalized hypervolume
after every evaluation (in completion order), worker utilization (busy worker-time over
W × makespan), distinct designs, and the minimum distance between the designs of one batch.

    python benchmarks/mobo/concurrency.py run --problem dtlz2-3x12 --in-flight 32 --seed 0 \\
        --out /tmp/c.json
    python benchmarks/mobo/concurrency.py all --out benchmarks/results/mobo-concurrency
    python benchmarks/mobo/concurrency.py table benchmarks/results/mobo-concurrency
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_mobo import N_INITIAL, PROBLEMS, _Recorder

IN_FLIGHT = (1, 8, 32, 128)
CHECKPOINTS = (60, 100, 150, 200)


def run(problem_name: str, in_flight: int, seed: int, evals: int, eval_seconds: float,
        options: dict[str, Any], probe: Callable[[Any, list[Any]], dict[str, Any]] | None = None,
        probe_at: tuple[int, ...] = ()) -> dict[str, Any]:
    """One simulated run; ``probe(optimizer, pending)`` is called (untimed) right after the
    tell that makes the number of results reach each of ``probe_at``."""
    import torch

    from detopt.optimizers.base import make_optimizer
    from detopt.trial import Trial, TrialStatus

    torch.set_num_threads(1)
    rec = _Recorder(problem_name)
    space, objectives = rec.problem.space, rec.problem.objectives
    options = {"n_initial": N_INITIAL, **options}
    opt = make_optimizer("mobo", space, objectives, seed=seed, options=options)
    clock = 0.0
    running: list[tuple[float, int]] = []  # (finish time, trial index) heap
    starts: dict[int, float] = {}
    trials: dict[int, Trial] = {}
    asks: list[dict[str, Any]] = []
    busy = 0.0
    batch_spacing: list[float] = []
    finished: list[Trial] = []
    probes: list[dict[str, Any]] = []
    marks = sorted(probe_at)
    while True:
        free = in_flight - len(running)
        room = evals - len(trials)
        n = min(free, room)
        if n > 0:
            pending = [trials[i] for _, i in running]
            t0, c0 = time.perf_counter(), time.process_time()
            opt.tell(finished)  # the tell time counts: the loop waits for it too
            tell_s, tell_cpu = time.perf_counter() - t0, time.process_time() - c0
            if probe is not None and marks and len(opt.finished) >= marks[0]:
                while marks and len(opt.finished) >= marks[0]:
                    marks.pop(0)
                probes.append({"results": len(opt.finished), **probe(opt, pending)})
            t1, c1 = time.perf_counter(), time.process_time()
            proposals = opt.ask(n, pending)
            ask_s, ask_cpu = time.perf_counter() - t1, time.process_time() - c1
            info = opt.describe().get("last_ask", {})
            asks.append({"n": n, "pending": len(pending), "told": len(finished),
                         "results": len(opt.finished), "tell_seconds": tell_s,
                         "ask_seconds": ask_s, "tell_cpu_seconds": tell_cpu,
                         "ask_cpu_seconds": ask_cpu, "method": info.get("method", "sobol"),
                         "out_of_time": info.get("out_of_time", 0)})
            clock += tell_s + ask_s
            finished = []
            U = space.encode_many(proposals)
            if len(U) > 1:
                dist = np.linalg.norm(U[:, None, :] - U[None, :, :], axis=2)
                batch_spacing.append(float(np.min(dist[np.triu_indices(len(U), 1)])))
            for params in proposals:
                index = len(trials)
                trials[index] = Trial(index=index, params=params, status=TrialStatus.RUNNING)
                heapq.heappush(running, (clock + eval_seconds, index))
                starts[index] = clock
                busy += eval_seconds
        if not running:
            break
        end, index = heapq.heappop(running)
        done = [index]
        while running and running[0][0] <= end + 1e-9:
            done.append(heapq.heappop(running)[1])
        clock = max(clock, end)
        for i in sorted(done):
            x = space.encode(trials[i].params)
            y = rec.evaluate(x)
            trials[i] = Trial(index=i, params=trials[i].params, status=TrialStatus.COMPLETED,
                              metrics={f"f{j + 1}": (float(v), None) for j, v in enumerate(y)},
                              started_at=starts[i], finished_at=starts[i] + eval_seconds)
            rec.add(x, y, 0.0)
            finished.append(trials[i])
    X = space.encode_many(t.params for t in trials.values())
    return {
        "problem": problem_name, "in_flight": in_flight, "seed": seed, "evaluations": len(trials),
        "eval_seconds": eval_seconds, "options": options, "asks": asks,
        "hv_normalized": rec.hv, "min_g": rec.min_g,
        "makespan": clock, "utilization": busy / (in_flight * clock) if clock else None,
        "distinct_designs": len({tuple(np.round(x, 12)) for x in X}),
        "min_batch_spacing": min(batch_spacing) if batch_spacing else None,
        "info": {k: v for k, v in opt.describe().items() if k != "last_ask"},
        "probes": probes,
    }


# ------------------------------------------------------------------------------- report
def proposal_seconds(asks: list[dict[str, Any]], cpu: bool = False) -> np.ndarray:
    """Optimizer seconds (tell + ask; wall-clock, or CPU time of the process) per proposal
    of every model-based ask, one value per proposal (a batch of n contributes n values of
    its total / n)."""
    out: list[float] = []
    kind = "cpu_seconds" if cpu else "seconds"
    for a in asks:
        if a["method"] == "sobol":
            continue
        total = a.get(f"tell_{kind}", float("nan")) + a.get(f"ask_{kind}", float("nan"))
        out += [total / a["n"]] * a["n"]
    return np.array(out)


def table(folder: Path) -> str:
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["problem"], r.get("variant", ""), r["in_flight"])].append(r)
    head = ("| problem | variant | in flight | seeds | s/proposal p50 | p95 | max | ratio to q=1 "
            "(p50) | CPU s/proposal p50 | ratio (CPU) | worker utilization | " + " | ".join(f"HVn@{c}" for c in CHECKPOINTS)
            + " | HV@200 / q=1 | distinct | min spacing in a batch |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    base: dict[tuple[str, str], tuple[float, float, float]] = {}
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2])):
        rs = groups[key]
        sec = np.concatenate([proposal_seconds(r["asks"]) for r in rs])
        p50 = float(np.median(sec)) if len(sec) else float("nan")
        cpu = np.concatenate([proposal_seconds(r["asks"], cpu=True) for r in rs])
        cpu50 = float(np.median(cpu)) if len(cpu) else float("nan")
        hv = {c: [r["hv_normalized"][c - 1] for r in rs if len(r["hv_normalized"]) >= c]
              for c in CHECKPOINTS}
        hv200 = float(np.mean(hv[200])) if hv[200] else float("nan")
        if key[2] == 1:
            base[(key[0], key[1])] = (p50, hv200, cpu50)
        b = base.get((key[0], key[1])) or base.get((key[0], "q1")) or base.get((key[0], ""))
        ratio = f"{p50 / b[0]:.2f}" if b else "—"
        cpu_ratio = f"{cpu50 / b[2]:.2f}" if b else "—"
        hv_ratio = f"{hv200 / b[1]:.2f}" if b and b[1] else "—"
        cells = " | ".join(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "—"
                           for v in hv.values())
        spacing = [r["min_batch_spacing"] for r in rs if r["min_batch_spacing"] is not None]
        rows.append(
            f"| {key[0]} | {key[1] or 'default'} | {key[2]} | {len(rs)} | {p50:.3f} | "
            f"{np.percentile(sec, 95):.3f} | {sec.max():.3f} | {ratio} | {cpu50:.3f} | "
            f"{cpu_ratio} | "
            f"{np.mean([r['utilization'] for r in rs]):.3f} | {cells} | {hv_ratio} | "
            f"{min(r['distinct_designs'] for r in rs)}/{rs[0]['evaluations']} | "
            f"{min(spacing) if spacing else float('nan'):.3f} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------------- plan
def run_all(out: Path, seeds: int, problems: list[str], in_flight: list[int], evals: int,
            eval_seconds: float, variant: str, options: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for seed in range(seeds):
        for problem in problems:
            for w in in_flight:
                name = f"{problem}_{variant or 'default'}_w{w}_s{seed}.json"
                target = out / name
                if target.exists():
                    print(f"skip {name} (exists)", flush=True)
                    continue
                cmd = [sys.executable, __file__, "run", "--problem", problem, "--in-flight",
                       str(w), "--seed", str(seed), "--evals", str(evals), "--eval-seconds",
                       str(eval_seconds), "--options", options, "--variant", variant,
                       "--out", str(target)]
                print(time.strftime("%H:%M:%S"), name, flush=True)
                subprocess.run(cmd, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("--problem", choices=list(PROBLEMS), required=True)
    p_run.add_argument("--in-flight", type=int, required=True)
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--out", type=Path, required=True)
    p_all = sub.add_parser("all")
    p_all.add_argument("--out", type=Path, required=True)
    p_all.add_argument("--seeds", type=int, default=3)
    p_all.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    p_all.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT))
    for p in (p_run, p_all):
        p.add_argument("--evals", type=int, default=200)
        p.add_argument("--eval-seconds", type=float, default=30.0)
        p.add_argument("--options", default="{}", help="mobo options as JSON")
        p.add_argument("--variant", default="", help="label of the options in the table")
    p_table = sub.add_parser("table")
    p_table.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "table":
        print(table(args.folder))
        return
    if args.command == "all":
        run_all(args.out, args.seeds, args.problems, args.in_flight, args.evals,
                args.eval_seconds, args.variant, args.options)
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    result = run(args.problem, args.in_flight, args.seed, args.evals, args.eval_seconds,
                 json.loads(args.options))
    result.update(variant=args.variant, started=started,
                  finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), host=platform.node(),
                  load_average=os.getloadavg(),
                  command=" ".join([Path(sys.executable).name, *sys.argv]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))
    sec = proposal_seconds(result["asks"])
    print(f"{args.problem} w={args.in_flight} seed {args.seed}: HVn "
          f"{result['hv_normalized'][-1]:.3f}, s/proposal p50 {np.median(sec):.3f} "
          f"max {sec.max():.3f}, utilization {result['utilization']:.3f}", flush=True)


if __name__ == "__main__":
    main()
