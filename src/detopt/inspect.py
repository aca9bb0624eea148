"""Read-only views of stored studies for ``detopt status``, ``export`` and ``report``."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from detopt.launch import locate_storage, resume_study
from detopt.storage import Storage, StudyRecord
from detopt.study import Study
from detopt.units import format_duration


def open_storage(target: str | Path) -> Storage:
    url, _ = locate_storage(target)
    return Storage(url)


def load_study_readonly(target: str | Path, name: str | None = None) -> Study:
    """The stored study with its problem and hypervolume tracker, but no runner."""
    return resume_study(target, name, read_only=True)


def study_overview(storage: Storage, record: StudyRecord, console: Console, failures: int = 5) -> None:
    """Print a study's state, counts, hypervolume and its latest failures."""
    from detopt.launch import _assemble
    from detopt.config import parse_config

    study = _assemble(parse_config(record.config), storage, record, with_runner=False)
    counts = study.counts()
    budget = study.settings.max_trials
    age = format_duration(time.time() - record.updated_at)
    table = Table(title=f"{record.name}", show_header=False, title_justify="left", box=None)
    table.add_row("state", f"{record.status}" + (f" ({record.stop_reason})" if record.stop_reason else "")
                  + f", updated {age} ago by {record.driver}")
    table.add_row("trials", f"{counts['completed']} completed, {counts['failed']} failed, "
                            f"{counts['running']} running, {counts['pending']} pending"
                            + (f" of {budget}" if budget else ""))
    table.add_row("optimizer", f"{study.optimizer.name} (seed {record.config.get('optimizer', {}).get('seed', 0)})")
    table.add_row("Pareto set", f"{len(study.tracker.front_ids)} designs")
    if study.hypervolume is not None:
        table.add_row("hypervolume", f"{study.hypervolume:.6g}")
    if study.normalized_hypervolume is not None:
        table.add_row("HV / true HV", f"{study.normalized_hypervolume:.4f}")
    console.print(table)
    failed = [t for t in study.trials.values() if t.status.value == "failed"]
    for t in sorted(failed, key=lambda t: t.index)[-failures:]:
        console.print(f"  [red]trial {t.index}[/] ({t.attempts} attempts): {t.error}", highlight=False)
