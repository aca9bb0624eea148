"""Read-only views of stored studies for ``detopt status``: state, counts, hypervolume and
the latest failures. Nothing here imports torch or a study's own code."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from detopt.launch import locate_storage, readonly_study
from detopt.storage import Storage, StudyRecord
from detopt.trial import TrialStatus
from detopt.units import format_duration


def open_storage(target: str | Path) -> Storage:
    url, _ = locate_storage(target)
    return Storage(url)


def study_overview(storage: Storage, record: StudyRecord, console: Console, failures: int = 5) -> None:
    """Print a study's state, counts, hypervolume and its latest failures."""
    study = readonly_study(storage, record)
    counts = study.counts()
    budget = study.settings.max_trials
    age = format_duration(time.time() - record.updated_at)
    table = Table(title=escape(record.name), show_header=False, title_justify="left", box=None)
    state = record.status + (f" ({record.stop_reason})" if record.stop_reason else "")
    table.add_row("state", escape(f"{state}, updated {age} ago by {record.driver}"))
    table.add_row("trials", f"{counts[TrialStatus.COMPLETED]} completed, "
                            f"{counts[TrialStatus.FAILED]} failed, {counts[TrialStatus.RUNNING]} "
                            f"running, {counts[TrialStatus.PENDING]} pending"
                            + (f" of {budget}" if budget else ""))
    optimizer = study.config.optimizer if study.config is not None else None
    if optimizer is not None:
        table.add_row("optimizer", escape(f"{optimizer.name} (seed {optimizer.seed})"))
    table.add_row("Pareto set", f"{len(study.tracker.front_ids)} designs")
    if study.hypervolume is not None:
        table.add_row("hypervolume", f"{study.hypervolume:.6g}")
    if study.normalized_hypervolume is not None:
        table.add_row("HV / true HV", f"{study.normalized_hypervolume:.4f}")
    console.print(table)
    failed = [t for t in study.trials.values() if t.status == TrialStatus.FAILED]
    for t in sorted(failed, key=lambda t: t.index)[-failures:]:
        console.print(f"  [red]trial {t.index}[/] ({t.attempts} attempts): {escape(t.error or '')}",
                      highlight=False)
