"""Runners: where evaluations execute (local processes, Dask, SLURM, ...).

Runners are plugins (entry-point group ``detopt.runners``); ``make_runner(kind, options)``
builds one from a config's ``runner`` section. Every runner implements
:class:`detopt.runners.base.Runner`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detopt import plugins
from detopt.runners.base import Runner, RunnerFuture, RunnerOptions, TrialCancelledError


def available_runners() -> list[str]:
    return plugins.available("runner")


def runner_class(kind: str) -> type[Runner]:
    """The runner class registered as ``kind`` (imported on first use)."""
    return plugins.load("runner", kind)


def runner_options(kind: str, options: Mapping[str, Any] | None = None) -> RunnerOptions:
    """Validate a ``runner`` section's options without starting anything."""
    cls = runner_class(kind)
    return plugins.parse_options("runner", kind, cls.Options, options, "runner")  # type: ignore[return-value]


def make_runner(kind: str, options: Mapping[str, Any] | None = None) -> Runner:
    """Build the runner ``kind`` with ``options`` (validated by its ``Options`` model)."""
    return runner_class(kind)(runner_options(kind, options))


__all__ = ["Runner", "RunnerFuture", "RunnerOptions", "TrialCancelledError", "available_runners",
           "make_runner", "runner_class", "runner_options"]
