"""Trials as tables: a pandas DataFrame for the Python API, CSV for the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from detopt.problem import Problem
from detopt.trial import Trial


def trials_dataframe(trials: Iterable[Trial], problem: Problem | None = None,
                     pareto_ids: set[int] | None = None) -> pd.DataFrame:
    """One row per trial: index, status, parameters, metric means and sems, timings, errors.

    Parameter columns keep their names; metric ``m`` gives columns ``m`` and ``m_sem``.
    """
    rows = []
    for t in sorted(trials, key=lambda t: t.index):
        row: dict[str, object] = {"trial": t.index, "status": t.status.value,
                                  "generator": t.generator, "attempts": t.attempts,
                                  "penalized": t.penalized}
        if pareto_ids is not None:
            row["pareto"] = t.index in pareto_ids
        row.update(t.params)
        for name, (mean, sem) in t.metrics.items():
            row[name] = mean
            row[f"{name}_sem"] = sem
        row.update({"started_at": t.started_at, "finished_at": t.finished_at,
                    "duration_s": t.duration, "error": t.error, "runner_handle": t.runner_handle,
                    **{f"log_{k}": v for k, v in t.logs.items()}})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if problem is not None and not frame.empty:  # a stable column order
        first = ["trial", "status", "generator", "attempts", "penalized"]
        first += ["pareto"] if pareto_ids is not None else []
        params = [p for p in problem.space.names if p in frame]
        metrics = [c for m in problem.objectives.required_metrics for c in (m, f"{m}_sem") if c in frame]
        rest = [c for c in frame.columns if c not in first + params + metrics]
        frame = frame[first + params + metrics + rest]
    return frame


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
