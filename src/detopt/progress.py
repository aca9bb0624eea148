"""A rich progress display for a running study (an observer of :class:`~detopt.study.Study`).

On a terminal it is a live bar. When the output is a file or a pipe (CI logs, ``nohup``,
``tee``) a live bar would print nothing until the end, so a plain status line is printed
instead every tenth of the budget and at least every ``line_interval`` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from detopt.study import Snapshot


def status_text(snap: Snapshot) -> str:
    """``12 done · 2 running · 1 failed · HV/HV* 0.4312`` (rich markup)."""
    parts = [f"[green]{snap.completed} done[/]", f"{snap.running} running"]
    if snap.failed:
        parts.append(f"[red]{snap.failed} failed[/]")
    if snap.queued:
        parts.append(f"{snap.queued} queued")
    if snap.normalized_hypervolume is not None:
        parts.append(f"HV/HV* {snap.normalized_hypervolume:.4f}")
    elif snap.hypervolume is not None:
        parts.append(f"HV {snap.hypervolume:.5g}")
    return " · ".join(parts)


class StudyProgress:
    """Shows finished/budget as a bar, plus completed, running, failed and the hypervolume."""

    def __init__(self, study_name: str, console: Console | None = None,
                 line_interval: float = 30.0):
        self.console = console or Console(stderr=True)
        self._live = self.console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
            console=self.console, transient=False, refresh_per_second=4)
        self._task: Any = None
        self._name = study_name
        self._line_interval = line_interval
        self._last_line: tuple[float, int] | None = None  # (time, finished) of the last line

    def __enter__(self) -> StudyProgress:
        if self._live:
            self._progress.start()
            self._task = self._progress.add_task(self._name, total=None, status="starting")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live:
            self._progress.stop()

    def __call__(self, snap: Snapshot) -> None:
        finished = snap.completed + snap.failed
        if self._live:
            self._progress.update(self._task, completed=finished, total=snap.budget,
                                  status=status_text(snap))
        elif self._line_due(finished, snap):
            of = f"/{snap.budget}" if snap.budget else ""
            self.console.print(f"[bold]{self._name}[/] {finished}{of} finished · "
                               f"{status_text(snap)} · {snap.elapsed:.0f} s")
            self._last_line = (time.monotonic(), finished)

    def _line_due(self, finished: int, snap: Snapshot) -> bool:
        if self._last_line is None:
            return True
        when, last = self._last_line
        if finished == last:
            return False
        step = max(1, (snap.budget or 100) // 10)
        return (finished // step > last // step or snap.stop_reason is not None
                or (snap.budget is not None and finished >= snap.budget)
                or time.monotonic() - when >= self._line_interval)
