"""Helpers of the BIC tests: evaluations are cached per (design, seed, events) in a session,
so tests that look at the same design share one simulation."""

from __future__ import annotations

from functools import lru_cache

from detopt.problems import bic

SWITCH_OFF = dict.fromkeys(bic.SWITCHES, 0)
SWITCH_ON = dict.fromkeys(bic.SWITCHES, 1)


@lru_cache(maxsize=None)
def _evaluate(items: tuple, seed: int, events: int) -> dict:
    return bic.evaluate(dict(items), seed=seed, events_per_point=events)


def evaluate(changes: dict | None = None, *, seed: int = 12345, events: int = 1000) -> dict:
    """``bic.evaluate`` of the nominal design with ``changes`` (cached: tests share designs)."""
    params = {**bic.NOMINAL, **(changes or {})}
    return _evaluate(tuple(sorted(params.items())), seed, events)
