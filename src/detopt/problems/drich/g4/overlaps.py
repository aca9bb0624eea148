"""Geant4's overlap check for many designs in one process (geometry only, no run manager).

Used by ``detopt drich validate`` to compare the fast model's overlap proxies with Geant4's
check on designs over the whole box. Run as
``python -m detopt.problems.drich.g4.overlaps IN.json OUT.json`` (a list of parameter dicts in,
one verdict per design out).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..geometry import Design
from ..presets import get_preset
from ..scan import make_optics
from .detector import DrichVolumes, check_overlaps
from .env import import_geant4


def check_designs(designs: Sequence[Mapping[str, float]]) -> list[dict[str, Any]]:
    """Geant4 overlap verdict of each design (volumes are leaked: a few MB per design)."""
    g4 = import_geant4()
    out = []
    for params in designs:
        start = time.perf_counter()
        design = Design.from_params(params)
        try:
            volumes = DrichVolumes(g4, design, make_optics(design, get_preset("pure")))
        except ValueError as exc:  # e.g. an empty sensor patch: nothing to place
            out.append({"params": dict(params), "feasible": False, "overlaps": [],
                        "error": str(exc), "seconds": time.perf_counter() - start})
            continue
        overlaps = check_overlaps(volumes)
        out.append({"params": dict(params), "feasible": not overlaps,
                    "overlaps": [str(o) for o in overlaps],
                    "seconds": time.perf_counter() - start})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    designs = json.loads(Path(args[0]).read_text())
    Path(args[1]).write_text(json.dumps(check_designs(designs)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
