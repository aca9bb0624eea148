"""The comparison report of ``detopt drich validate``: numbers (summary.json, report.md) and
plots (objectives_fast_vs_geant4.png, nominal_points.png, overlaps.png)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _key(params: Mapping[str, float]) -> str:
    return json.dumps(dict(params), sort_keys=True)


def summarize(designs: Sequence[Mapping[str, float]], done: Mapping[tuple[str, str], Any],
              verdicts: Sequence[Mapping[str, Any]], objectives: Sequence[str],
              settings: Mapping[str, Any]) -> dict[str, Any]:
    """Nominal agreement, rank correlation, per-point diagnostics, overlap agreement, speed."""
    from scipy.stats import spearmanr

    rows = []
    for i, params in enumerate(designs):
        fast, g4 = done.get((_key(params), "fast")), done.get((_key(params), "geant4"))
        if fast is None or g4 is None:
            continue
        rows.append({"design": i, "params": dict(params), "fast": fast["objectives"],
                     "geant4": g4["objectives"], "geant4_feasible": g4["feasible"],
                     "geant4_overlaps": [o["text"] for o in g4["overlaps"]],
                     "fast_seconds": fast["seconds"], "geant4_seconds": g4["seconds"],
                     "geant4_events": g4["geant4"]["events"],
                     "tracks_per_point": g4["tracks_per_point"]})
    both = [r for r in rows if r["geant4_feasible"]]
    nominal: dict[str, Any] = {}
    if rows and rows[0]["design"] == 0 and rows[0]["geant4_feasible"]:
        r = rows[0]
        for name in objectives:
            (f, fs), (g, gs) = r["fast"][name], r["geant4"][name]
            nominal[name] = {"fast": f, "fast_sem": fs, "geant4": g, "geant4_sem": gs,
                             "relative_difference": (f - g) / g if g else float("nan"),
                             "pulls": (f - g) / np.hypot(fs, gs) if np.hypot(fs, gs) else None}
    ranks = {}
    for name in objectives:
        f = [r["fast"][name][0] for r in both]
        g = [r["geant4"][name][0] for r in both]
        rho = float(spearmanr(f, g).statistic) if len(both) > 2 else float("nan")
        ranks[name] = {"spearman": rho, "designs": len(both)}
    diag = {}
    if rows:
        key = _key(designs[0])
        fd, gd = done[(key, "fast")]["diagnostics"], done[(key, "geant4")]["diagnostics"]
        diag = {k: {"fast": fd[k], "geant4": gd.get(k)} for k in fd}
    agree = [v for v in verdicts if "error" not in v]
    disagreements = [
        {"params": v["params"], "geant4_feasible": v["feasible"], "geant4_overlaps": v["overlaps"],
         "proxy_feasible": v["proxy_feasible"],
         "proxy_violated": {k: round(m, 3) for k, m in v["proxy_margins"].items() if m < 0}}
        for v in agree if v["feasible"] != v["proxy_feasible"]]
    same_tracks = [r for r in rows if r["design"] != 0]
    speed = {}
    if same_tracks:
        fs = float(np.mean([r["fast_seconds"] for r in same_tracks]))
        gs = float(np.mean([r["geant4_seconds"] for r in same_tracks]))
        speed = {"tracks_per_point": same_tracks[0]["tracks_per_point"],
                 "fast_seconds_per_design": fs, "geant4_seconds_per_design": gs,
                 "speedup": gs / fs if fs else None}
    return {
        "settings": dict(settings), "designs": rows, "nominal": nominal, "rank_correlation": ranks,
        "nominal_points": diag,
        "overlaps": {"designs": len(agree), "agree": len(agree) - len(disagreements),
                     "agreement": (len(agree) - len(disagreements)) / len(agree) if agree else None,
                     "geant4_infeasible": sum(not v["feasible"] for v in agree),
                     "proxy_infeasible": sum(not v["proxy_feasible"] for v in agree),
                     "disagreements": disagreements,
                     "errors": [v for v in verdicts if "error" in v]},
        "speed": speed,
    }


def plot(out_dir: Path, summary: Mapping[str, Any], objectives: Sequence[str]) -> list[Path]:
    """Write the three PNGs; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    rows = [r for r in summary["designs"] if r["geant4_feasible"]]
    fig, axes = plt.subplots(1, len(objectives), figsize=(4.2 * len(objectives), 4))
    for ax, name in zip(np.atleast_1d(axes), objectives):
        f = np.array([r["fast"][name] for r in rows])
        g = np.array([r["geant4"][name] for r in rows])
        ax.errorbar(g[:, 0], f[:, 0], xerr=g[:, 1], yerr=f[:, 1], fmt="o", ms=4, alpha=0.8)
        if rows and rows[0]["design"] == 0:
            ax.plot(g[0, 0], f[0, 0], "r*", ms=14, label="nominal")
        lo, hi = float(np.nanmin([f[:, 0].min(), g[:, 0].min()])), \
            float(np.nanmax([f[:, 0].max(), g[:, 0].max()]))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        rho = summary["rank_correlation"][name]["spearman"]
        ax.set_title(f"{name}  (Spearman {rho:.3f})")
        ax.set_xlabel("Geant4")
        ax.set_ylabel("fast model")
        ax.legend(loc="upper left")
    fig.tight_layout()
    paths.append(out_dir / "objectives_fast_vs_geant4.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    diag = summary["nominal_points"]
    if diag:
        labels = list(diag)
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        x = np.arange(len(labels))
        for ax, (field, scale, title) in zip(axes, (
                ("n_window", 1.0, "photons in the window per track"),
                ("sigma_1pe", 1e3, "single-photon resolution [mrad]"),
                ("theta_mean", 1e3, "mean ring angle [mrad] minus expected"))):
            for shift, fid in ((-0.2, "fast"), (0.2, "geant4")):
                vals = [diag[k][fid][field] * scale - (diag[k][fid]["theta_expected"] * 1e3
                                                       if field == "theta_mean" else 0.0)
                        for k in labels]
                ax.bar(x + shift, vals, 0.4, label=fid)
            ax.set_xticks(x, [_short(k) for k in labels], fontsize=8, rotation=45, ha="right")
            ax.set_title(title)
            ax.legend()
        fig.tight_layout()
        paths.append(out_dir / "nominal_points.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _short(label: str) -> str:
    """'aerogel_p15_eta1.5-2/pi' -> 'aerogel 15 GeV/c, eta 1.5-2, pi'."""
    point, species = label.split("/")
    radiator, p, eta = point.split("_")
    return f"{radiator} {p[1:]} GeV/c, eta {eta[3:]}, {species}"


def _fmt(v: float, sem: float | None = None) -> str:
    return f"{v:.3f}" if sem is None else f"{v:.3f} ± {sem:.3f}"


def markdown(summary: Mapping[str, Any], objectives: Sequence[str]) -> str:
    """The report as Markdown tables."""
    s = summary
    lines = ["# dRICH: fast model vs Geant4", "", f"settings: `{json.dumps(s['settings'])}`", ""]
    if s["nominal"]:
        lines += ["## Nominal design", "", "| objective | fast | Geant4 | fast − Geant4 |",
                  "|---|---|---|---|"]
        for name, v in s["nominal"].items():
            lines.append(f"| {name} | {_fmt(v['fast'], v['fast_sem'])} | "
                         f"{_fmt(v['geant4'], v['geant4_sem'])} | "
                         f"{100 * v['relative_difference']:+.1f} % |")
        lines += ["", "| point / species | N fast | N Geant4 | σ1pe fast [mrad] | "
                  "σ1pe Geant4 | ⟨θ⟩ fast [mrad] | ⟨θ⟩ Geant4 | acc fast | acc Geant4 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for k, v in s["nominal_points"].items():
            f, g = v["fast"], v["geant4"]
            lines.append(f"| {k} | {f['n_window']:.2f} | {g['n_window']:.2f} | "
                         f"{1e3 * f['sigma_1pe']:.2f} | {1e3 * g['sigma_1pe']:.2f} | "
                         f"{1e3 * f['theta_mean']:.2f} | {1e3 * g['theta_mean']:.2f} | "
                         f"{f['acceptance']:.3f} | {g['acceptance']:.3f} |")
    lines += ["", "## Rank correlation over the designs", "", "| objective | Spearman | designs |",
              "|---|---|---|"]
    for name, v in s["rank_correlation"].items():
        lines.append(f"| {name} | {v['spearman']:.3f} | {v['designs']} |")
    lines += ["", "## Designs", "", "| # | " + " | ".join(f"{n} fast / Geant4" for n in objectives)
              + " | Geant4 overlap check |", "|---" * (len(objectives) + 2) + "|"]
    for r in s["designs"]:
        cells = []
        for n in objectives:
            g = r["geant4"].get(n)
            cells.append(f"{_fmt(*r['fast'][n])} / " + (_fmt(*g) if g else "—"))
        lines.append(f"| {r['design']} | " + " | ".join(cells) + " | "
                     + ("pass" if r["geant4_feasible"] else "; ".join(r["geant4_overlaps"]))
                     + " |")
    o = s["overlaps"]
    lines += ["", "## Overlap proxies vs Geant4's check", "",
              f"{o['agree']} of {o['designs']} designs agree ({100 * (o['agreement'] or 0):.1f} %);"
              f" Geant4 rejects {o['geant4_infeasible']}, the proxies {o['proxy_infeasible']}.",
              "", "| proxies | Geant4 | violated proxies (margin cm) | Geant4 overlaps | params |",
              "|---|---|---|---|---|"]
    for d in o["disagreements"]:
        lines.append(f"| {'pass' if d['proxy_feasible'] else 'fail'} | "
                     f"{'pass' if d['geant4_feasible'] else 'fail'} | {d['proxy_violated']} | "
                     f"{'; '.join(d['geant4_overlaps'])} | `{json.dumps(d['params'])}` |")
    if s["speed"]:
        sp = s["speed"]
        lines += ["", "## Speed", "", f"{sp['tracks_per_point']} tracks per point: fast "
                  f"{sp['fast_seconds_per_design']:.2f} s, Geant4 "
                  f"{sp['geant4_seconds_per_design']:.1f} s per design "
                  f"(speed-up {sp['speedup']:.0f}x)."]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, designs: Sequence[Mapping[str, float]],
                 done: Mapping[tuple[str, str], Any], verdicts: Sequence[Mapping[str, Any]],
                 objectives: Sequence[str], settings: Mapping[str, Any]) -> dict[str, Any]:
    """summary.json, report.md and the plots in ``out_dir``."""
    summary = summarize(designs, done, verdicts, objectives, settings)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "report.md").write_text(markdown(summary, objectives))
    summary["plots"] = [str(p) for p in plot(out_dir, summary, objectives)]
    return summary
