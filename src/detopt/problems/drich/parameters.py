"""Design parameters of the dRICH problem and their validation.

The 7 recommended absolute parameters (physics reference section 4.10); the optional 8th is the
aerogel refractive index. Missing parameters take their nominal (ePIC 24.x) value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from detopt.errors import DetoptError

PARAMETERS: list[dict[str, Any]] = [
    {"name": "mirror_radius", "low": 180.0, "high": 260.0, "nominal": 219.8, "unit": "cm",
     "description": "radius of curvature of the spherical mirror; its pole stays at z = 313.7 cm"},
    {"name": "mirror_centerx", "low": 100.0, "high": 160.0, "nominal": 114.6, "unit": "cm",
     "description": "radial (x) position of the mirror sphere centre, for the sector on +x"},
    {"name": "sensor_radius", "low": 100.0, "high": 500.0, "nominal": 110.0, "unit": "cm",
     "description": "radius of the sensor sphere on which the photodetector units sit"},
    {"name": "sensor_centerx", "low": 155.0, "high": 215.0, "nominal": 183.4, "unit": "cm",
     "description": "radial (x) position of the sensor sphere centre (absolute)"},
    {"name": "sensor_dz", "low": 0.0, "high": 17.0, "nominal": 10.4, "unit": "cm",
     "description": "sensor sphere pole at z = 238 + sensor_dz cm from the IP"},
    {"name": "snout_length", "low": 10.0, "high": 25.0, "nominal": 20.0, "unit": "cm",
     "description": "length of the conical snout; sensors sit at z > 198 + snout_length + 4 cm"},
    {"name": "aerogel_thickness", "low": 2.0, "high": 6.0, "nominal": 4.0, "unit": "cm",
     "description": "thickness of the aerogel radiator"},
]

OPTIONAL_PARAMETERS: list[dict[str, Any]] = [
    {"name": "aerogel_index", "low": 1.015, "high": 1.030, "nominal": 1.0193, "unit": "",
     "description": "aerogel refractive index at 400 nm (the reference index and the aerogel "
                    "window follow it)"},
]

NOMINAL: dict[str, float] = {p["name"]: p["nominal"] for p in PARAMETERS}

_ALL = {p["name"]: p for p in PARAMETERS + OPTIONAL_PARAMETERS}


def resolve(params: Mapping[str, float] | None) -> dict[str, float]:
    """Complete ``params`` with nominal values and validate names, types and ranges.

    Raises:
        DetoptError: unknown name, non-numeric or non-finite value, or value out of range.
    """
    values = dict(NOMINAL)
    values["aerogel_index"] = _ALL["aerogel_index"]["nominal"]
    for name, raw in (params or {}).items():
        spec = _ALL.get(name)
        if spec is None:
            known = ", ".join(_ALL)
            raise DetoptError(
                f"unknown dRICH parameter '{name}'.",
                field=f"params.{name}",
                fix=f"use one of: {known}.",
            )
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise DetoptError(
                f"value {raw!r} is not a number.", field=f"params.{name}",
                fix=f"give a number in [{spec['low']}, {spec['high']}] {spec['unit']}.",
            ) from None
        if not math.isfinite(value) or not spec["low"] <= value <= spec["high"]:
            raise DetoptError(
                f"value {value} is outside the range [{spec['low']}, {spec['high']}] "
                f"{spec['unit']}.",
                field=f"params.{name}",
                fix=f"give a value within [{spec['low']}, {spec['high']}].",
            )
        values[name] = value
    return values


def parse_params(items: Sequence[str] | None) -> dict[str, float]:
    """``NAME=VALUE`` items (CLI ``-p``) as validated parameters (missing ones stay nominal)."""
    params: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise DetoptError(f"{item!r} is not NAME=VALUE.", field="--param",
                              fix="write e.g. -p mirror_radius=200")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise DetoptError(f"{value!r} is not a number.", field=f"--param {name}",
                              fix="give a number") from None
    resolve(params)
    return params
