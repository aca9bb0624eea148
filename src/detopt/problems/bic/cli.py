"""What ``detopt bic show`` does (the typer command in detopt.cli only forwards to it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detopt.errors import DetoptError

from .geometry import NOMINAL, PARAMETERS, Design
from .plot import draw_design


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["enable_staves_2=1", ...]`` -> parameter values on top of :data:`NOMINAL`."""
    kinds = {p["name"]: p["kind"] for p in PARAMETERS}
    params = dict(NOMINAL)
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise DetoptError(f"{item!r} is not NAME=VALUE.", field="--param",
                              fix="write e.g. -p enable_staves_2=1")
        if name not in kinds:
            raise DetoptError(f"unknown BIC parameter {name!r}.", field="--param",
                              fix=f"use one of: {', '.join(kinds)}")
        try:
            params[name] = int(value) if kinds[name] in ("choice", "int") else float(value)
        except ValueError:
            raise DetoptError(
                f"{value!r} is not a number.", field=f"--param {name}",
                fix="give a number (an integer for switches and capacityADC)") from None
    Design.from_params(params)  # range check, naming the parameter
    return params


def show(items: Sequence[str], output: Path, *, seed: int = 1) -> Path:
    """Draw the design given by parameter overrides into ``output``."""
    return draw_design(parse_overrides(items), output, seed=seed)
