"""Parsing of human-friendly durations ("1h30m", "02:00:00", 90) and memory sizes ("4GB")."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

from detopt.errors import ConfigError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s|ms)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_MEMORY_MB = {"b": 1 / 2**20, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}


def parse_duration(value: str | float | int | None, *, field: str = "duration") -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"1h30m"``, ``"2d"`` or ``"[D-]HH:MM:SS"`` (SLURM style)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"must be a positive, finite number of seconds, got {value}.",
                              field=field, fix="give e.g. '2h' or 600 (leave it out for no limit)")
        return float(value)
    text = str(value).strip()
    clock = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d{1,2})(?::(\d{1,2}))?", text)
    if clock:
        days, a, b, c = clock.groups()
        hours, minutes, seconds = (int(a), int(b), int(c)) if c is not None else (0, int(a), int(b))
        total = int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds
    else:
        parts = _DURATION_PART.findall(text)
        if not parts or _DURATION_PART.sub("", text).strip():
            try:
                total = float(text)
            except ValueError:
                raise ConfigError(f"cannot read duration {value!r}.", field=field,
                                  fix="write e.g. '90s', '30m', '1h30m' or '01:30:00'") from None
        else:
            total = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if not math.isfinite(total) or total <= 0:
        raise ConfigError(f"must be a positive, finite duration, got {value!r}.", field=field,
                          fix="give e.g. '2h' (leave it out for no limit)")
    return float(total)


def parse_memory_mb(value: str | float | int | None, *, field: str = "memory") -> int | None:
    """Megabytes from ``4096`` (MB), ``"4GB"``, ``"512M"``, ``"2GiB"``."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        mb = float(value)
    else:
        match = _MEMORY.match(str(value))
        if not match:
            raise ConfigError(f"cannot read memory size {value!r}.", field=field,
                              fix="write e.g. '4GB' or '512MB'")
        number, unit = match.groups()
        mb = float(number) * _MEMORY_MB[(unit or "m")[0].lower()]
    if not math.isfinite(mb) or mb <= 0:
        raise ConfigError(f"must be positive, got {value!r}.", field=field, fix="give e.g. '4GB'")
    return max(1, int(round(mb)))


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1:02:05"``; short and readable in progress bars."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _as_value_error(parse):  # pydantic reports ValueErrors with the field's location
    def validate(value):
        try:
            return parse(value)
        except ConfigError as exc:
            raise ValueError(f"{exc.message.rstrip('.')}; {exc.fix}" if exc.fix else exc.message) \
                from None
    return validate


#: a pydantic field type: seconds from ``90``, ``"90s"``, ``"1h30m"``, ``"01:30:00"`` (finite, > 0)
Duration = Annotated[float, BeforeValidator(_as_value_error(parse_duration))]
#: a pydantic field type: megabytes from ``4096``, ``"4GB"``, ``"512M"``
MemoryMB = Annotated[int, BeforeValidator(_as_value_error(parse_memory_mb))]
