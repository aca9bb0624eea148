"""A self-contained HTML report (plots embedded), plus the PNGs and a CSV of all trials."""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from detopt.export import write_csv
from detopt.report.history import hypervolume_history
from detopt.report.plots import plot_hypervolume, plot_parameters, plot_pareto
from detopt.trial import TrialStatus
from detopt.units import format_duration

if TYPE_CHECKING:
    from detopt.study import Study

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{margin-bottom:.2rem}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.3rem 0 1rem}
pre{background:#f7f7f7;padding:.8rem;overflow:auto;font-size:.8rem}
.kpi{display:inline-block;margin:0 1.5rem 1rem 0}.kpi b{display:block;font-size:1.5rem}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def _table(frame, columns: list[str], limit: int = 100) -> str:
    if frame.empty:
        return "<p>none</p>"
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f'<th class="{"l" if c in ("status", "error") else ""}">{html.escape(c)}</th>'
                   for c in cols)
    body = []
    for _, row in frame[cols].head(limit).iterrows():
        cells = []
        for c in cols:
            v = row[c]
            text = f"{v:.5g}" if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f'<td class="{"l" if c in ("status", "error") else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>{len(frame) - limit} more rows in trials.csv</p>" if len(frame) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


def write_report(study: Study, directory: str | Path) -> Path:
    """Write ``index.html`` (self-contained), PNG plots and ``trials.csv`` into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    problem, trials = study.problem, list(study.trials.values())
    frame = study.trials_dataframe()
    write_csv(frame, out / "trials.csv")
    pareto_ids = set(study.tracker.front_ids)
    counts = study.counts()
    images = []
    known = problem.known_front
    normalized = study.tracker.true_hypervolume is not None
    if study.reference_point is not None:
        history = hypervolume_history(trials, problem.objectives, study.reference_point,
                                      study.tracker.true_hypervolume)
        images.append(plot_hypervolume(history, out / "hypervolume.png", normalized,
                                       f"{study.name}: hypervolume"))
    true_front = known.sample(1500) if known is not None else None
    if len(problem.objectives) >= 2 and counts[TrialStatus.COMPLETED]:
        images.append(plot_pareto(trials, problem, pareto_ids, out / "pareto.png", true_front))
    if counts[TrialStatus.COMPLETED]:
        images.append(plot_parameters(trials, problem, pareto_ids, out / "parameters.png"))

    kpis = [("completed", counts[TrialStatus.COMPLETED]), ("failed", counts[TrialStatus.FAILED]),
            ("Pareto designs", len(pareto_ids))]
    if study.hypervolume is not None:
        kpis.append(("hypervolume", f"{study.hypervolume:.5g}"))
    if study.normalized_hypervolume is not None:
        kpis.append(("HV / true-front HV", f"{study.normalized_hypervolume:.4f}"))
        kpis.append(("IGD+ to the true front", f"{study.igd_plus():.4g}"))
    durations = [t.duration for t in trials if t.duration is not None]
    if durations:
        kpis.append(("median trial time", format_duration(sorted(durations)[len(durations) // 2])
                     if sorted(durations)[len(durations) // 2] >= 1 else
                     f"{sorted(durations)[len(durations) // 2] * 1000:.0f} ms"))
    metric_cols = [c for m in problem.objectives.required_metrics for c in (m, f"{m}_sem")]
    pareto = frame[frame["pareto"]] if "pareto" in frame else frame.iloc[0:0]
    failed = frame[frame["status"] == "failed"] if not frame.empty else frame
    config = study.config.model_dump(mode="json", exclude_none=True) if study.config is not None \
        else study.record.config
    ref = ", ".join(f"{v:g}" for v in problem.objectives.from_minimization(study.reference_point)) \
        if study.reference_point is not None else "not set (objective thresholds missing)"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(study.name)} — detopt"
        f"</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(study.name)}</h1><p class='sub'>{html.escape(problem.description or problem.name)}"
        f" · optimizer <b>{html.escape(study.optimizer.name)}</b> · runner "
        f"<b>{html.escape(study.config.runner.kind if study.config else '?')}</b> · written {time.strftime('%Y-%m-%d %H:%M')}</p>",
        "".join(f"<div class='kpi'><b>{html.escape(str(v))}</b>{html.escape(k)}</div>" for k, v in kpis),
        f"<p>Reference point: ({html.escape(ref)})</p>",
        *(_img(p) for p in images),
        f"<h2>Pareto designs ({len(pareto)})</h2>",
        _table(pareto, ["trial", *metric_cols, *problem.space.names], limit=50),
        f"<h2>Failed trials ({len(failed)})</h2>",
        _table(failed, ["trial", "attempts", "error"], limit=50),
        "<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(config, sort_keys=False)) + "</pre>",
        "</body></html>",
    ]
    index = out / "index.html"
    index.write_text("\n".join(parts))
    return index
