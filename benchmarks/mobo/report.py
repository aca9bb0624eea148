"""Markdown tables from the JSON results of benchmarks/bench_mobo.py."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

METHOD_ORDER = ("mobo", "ax", "nsga2", "sobol")


def _load(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _at(values: list[float], k: int) -> float | None:
    return values[k - 1] if len(values) >= k else None


def _fmt(values: list[float | None], digits: int = 2) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{np.mean(vals):.{digits}f} ± {np.std(vals):.{digits}f}"


def table_markdown(folder: Path) -> str:
    """One table per problem: mean ± std over seeds of HVn at 50/100/200 and at the number
    of evaluations Ax reached, min g, IGD+, median generation time, peak RSS."""
    runs = _load(folder)
    by_problem: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        by_problem[r["problem"]][r["method"]].append(r)
    out = []
    for problem, methods in sorted(by_problem.items()):
        ax_n = min((r["evaluations"] for r in methods.get("ax", [])), default=None)
        cols = [50, 100, 200] + ([ax_n] if ax_n and ax_n not in (50, 100, 200) else [])
        out.append(f"### {problem}\n")
        head = ["method", "seeds"] + [f"HVn@{k}" for k in cols] + [
            f"min g@{ax_n or 200}", "min g@200", f"IGD+@{200}", "median gen s (all)",
            "median gen s (model phase)", f"median gen s (evals 21–{ax_n or 200})",
            "peak RSS MB"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        order = [m for m in METHOD_ORDER if m in methods] + sorted(
            m for m in methods if m not in METHOD_ORDER)
        for method in order:
            rs = methods[method]
            if "hv_normalized" not in rs[0]:
                continue
            row = [method, str(len(rs))]
            row += [_fmt([_at(r["hv_normalized"], k) for r in rs]) for k in cols]
            row.append(_fmt([_at(r["min_g"], ax_n or 200) for r in rs]))
            row.append(_fmt([_at(r["min_g"], 200) for r in rs]))
            row.append(_fmt([r["igd_plus"].get("200") for r in rs], 3))
            row.append(_fmt([r["median_gen_seconds"] for r in rs], 3))
            row.append(_fmt([r["median_model_gen_seconds"] for r in rs], 3))
            row.append(_fmt([float(np.median(r["gen_seconds"][20:ax_n or 200]))
                             if len(r["gen_seconds"]) > 20 else None for r in rs], 3))
            row.append(_fmt([r["peak_rss_mb"] for r in rs], 0))
            out.append("| " + " | ".join(row) + " |")
        if ax_n:
            stopped = ax_n < 200
            out.append(f"\nAx reached {ax_n} evaluations"
                       + (" before its time cap stopped it." if stopped else "."))
        studies = [r for r in methods.get("mobo-study", [])]
        for s in studies:
            out.append(f"\nAsynchronous Study run (concurrency {s['concurrency']}): "
                       f"{s['evaluations']} evaluations, {s['distinct_designs']} distinct, "
                       f"HVn {s['hv_normalized_final']:.3f}, min g {s['min_g']:.3f}, "
                       f"median ask {s['stats'].get('median_ask_seconds') or 0:.3f} s, "
                       f"stale proposals used/discarded {s['stats'].get('stale_proposals_used')}"
                       f"/{s['stats'].get('stale_proposals_discarded')}, "
                       f"elapsed {s['elapsed_seconds']:.0f} s, RSS {s['peak_rss_mb']:.0f} MB.")
        out.append("")
    return "\n".join(out)
