"""A rich progress display for a running study (an observer of :class:`~detopt.study.Study`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from detopt.study import Snapshot


class StudyProgress:
    """Shows finished/budget as a bar, plus completed, running, failed and the hypervolume."""

    def __init__(self, study_name: str, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
            console=self.console, transient=False, refresh_per_second=4)
        self._task: Any = None
        self._name = study_name

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        self._task = self._progress.add_task(self._name, total=None, status="starting")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def __call__(self, snap: Snapshot) -> None:
        parts = [f"[green]{snap.completed} done[/]", f"{snap.running} running"]
        if snap.failed:
            parts.append(f"[red]{snap.failed} failed[/]")
        if snap.queued:
            parts.append(f"{snap.queued} queued")
        if snap.normalized_hypervolume is not None:
            parts.append(f"HV/HV* {snap.normalized_hypervolume:.4f}")
        elif snap.hypervolume is not None:
            parts.append(f"HV {snap.hypervolume:.5g}")
        self._progress.update(self._task, completed=snap.completed + snap.failed,
                              total=snap.budget, status=" · ".join(parts))
