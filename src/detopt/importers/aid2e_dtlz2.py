"""AID2E's DTLZ2 evaluator, for imported AID2E studies (``detopt import aid2e``).

The AID2E examples evaluate DTLZ2 with two objectives over ``x1..xn`` in [0, 1]
(aid2e-upstream reference §7.3): ``g = sum_{i>=2} (x_i - 0.5)^2``,
``f1 = (1 + g) cos(pi x1 / 2)``, ``f2 = (1 + g) sin(pi x1 / 2)``, both minimized. The importer
maps the examples' evaluator (an inline entrypoint or a script named after dtlz2) to this
function, so a converted DTLZ2 study runs without the upstream repository.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from detopt.errors import DetoptError

_INDEX = re.compile(r"(?:^|[._])x(\d+)$")


def evaluate(params: Mapping[str, Any]) -> dict[str, float]:
    """``{"f1": ..., "f2": ...}`` of a design whose parameters end in ``x1``, ``x2``, ..."""
    xs: dict[int, float] = {}
    for name, value in params.items():
        match = _INDEX.search(str(name))
        if match:
            if int(match[1]) in xs:
                raise DetoptError(f"two parameters end in x{match[1]}.", field="params",
                                  fix="give DTLZ2 one parameter per index")
            xs[int(match[1])] = float(value)
    if 1 not in xs:
        raise DetoptError("the DTLZ2 evaluator needs parameters named x1, x2, ...",
                          field="params", fix="keep AID2E's parameter names x1..xn")
    g = sum((x - 0.5) ** 2 for i, x in xs.items() if i >= 2)
    return {"f1": (1 + g) * math.cos(math.pi * xs[1] / 2),
            "f2": (1 + g) * math.sin(math.pi * xs[1] / 2)}
