"""Runners: where evaluations execute (local processes, Dask, SLURM, ...).

``make_runner(kind, options)`` builds one from a config section; every runner implements
:class:`detopt.runners.base.Runner`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detopt.errors import ConfigError
from detopt.plugins import lookup
from detopt.runners.base import Runner, RunnerFuture, TrialCancelledError

_REGISTRY = {
    "local": "detopt.runners.local:LocalRunner",
    "inline": "detopt.runners.inline:InlineRunner",
    "dask": "detopt.runners.dask:DaskRunner",
    "slurm": "detopt.runners.slurm:SlurmRunner",
    "panda": "detopt.runners.panda.runner:PandaRunner",  # TEMP registry until the plugin API lands
}


def available_runners() -> list[str]:
    return sorted(_REGISTRY)


def runner_class(kind: str) -> type[Runner]:
    return lookup(_REGISTRY, kind, what="runner kind", field="runner.kind")


def make_runner(kind: str, options: Mapping[str, Any] | None = None) -> Runner:
    """Build the runner ``kind`` with keyword ``options`` (validated by the runner)."""
    cls = runner_class(kind)
    from_config = getattr(cls, "from_config", None)
    if from_config is not None:
        return from_config(dict(options or {}))
    try:
        return cls(**dict(options or {}))
    except TypeError as exc:
        raise ConfigError(f"invalid option for the {kind} runner: {exc}.", field="runner",
                          fix="check the option names in docs/configuration.md") from None


__all__ = ["Runner", "RunnerFuture", "TrialCancelledError", "available_runners", "make_runner"]
