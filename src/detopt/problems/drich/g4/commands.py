"""Implementations behind ``detopt drich simulate`` and ``detopt drich validate``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detopt.errors import ConfigError, DetoptError

from ..parameters import parse_params, resolve


def simulate(params: dict[str, float], *, fidelity: str, objectives_path: Path,
             hits_path: Path | None, preset: str, tracks: int, seed: int,
             objectives: Sequence[str] | None) -> dict[str, Any]:
    """One design at the chosen fidelity; writes the objectives JSON (and Geant4 hits)."""
    if fidelity not in ("fast", "geant4"):
        raise ConfigError(f"unknown fidelity {fidelity!r}.", field="--fidelity",
                          fix="use fast or geant4")
    if fidelity == "fast":
        if hits_path is not None:
            raise ConfigError("hits are written at Geant4 fidelity only.", field="--hits",
                              fix="add --fidelity geant4, or drop --hits")
        from ..model import DEFAULT_OBJECTIVES
        from .validate import fast_record

        record = fast_record(params, preset, tracks, seed, list(objectives or DEFAULT_OBJECTIVES))
        objectives_path.parent.mkdir(parents=True, exist_ok=True)
        objectives_path.write_text(json.dumps(record, indent=1))
        return record
    from .evaluate import run_step

    return run_step(params, out=objectives_path, preset=preset, tracks_per_point=tracks,
                    seed=seed, objectives=objectives, hits=hits_path)


def validate(out_dir: Path, **kwargs: Any) -> dict[str, Any]:
    """Run ``detopt drich validate`` (see :func:`.validate.run_validation`)."""
    from .validate import run_validation

    return run_validation(out_dir, **kwargs)
