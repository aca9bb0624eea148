"""Named implementations imported on first use (optimizers, runners, built-in problems).

Registries map a config name to ``"module:attribute"``, so ``import detopt`` never pays for
torch, Dask or the dRICH model unless a study asks for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from detopt.errors import ConfigError


def lookup(registry: Mapping[str, str], name: str, *, what: str, field: str) -> Any:
    """Import and return the attribute registered as ``name``.

    Raises:
        ConfigError: ``name`` is not registered; the message lists the registered names.
    """
    if name not in registry:
        raise ConfigError(f"unknown {what} {name!r}.", field=field,
                          fix=f"use one of: {', '.join(sorted(registry))}")
    module, _, attribute = registry[name].partition(":")
    return getattr(importlib.import_module(module), attribute)
