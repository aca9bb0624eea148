"""Common random numbers: every random array is keyed by (seed, species, point, purpose).

Each purpose has its own generator and a shape that does not depend on the design, so event
*i* gets the same shower fluctuations, conversion depth, interaction depth, hit positions ...
for every design of a study. Random numbers enter only through inverse CDFs or smooth maps
(never rejection sampling), so a small change of a design moves every event a little instead
of re-drawing it: the objective surface is smooth for the optimizer.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SPECIES_ID = {"electron": 11, "gamma": 22, "pion": 211}
_PURPOSES = ("profile1", "profile2", "start", "phase", "cells", "interaction", "fem",
             "hadronic", "mip", "counts", "hit_r", "hit_phi", "hit_e", "pixel", "ms", "conv2",
             "track", "fallback")


class Draws:
    """Lazily drawn, cached random arrays of one (seed, species, point) sample."""

    def __init__(self, seed: int, species: str, point: int, n: int):
        self.key = (int(seed), SPECIES_ID[species], int(point))
        self.n = int(n)
        self._cache: dict[tuple[str, tuple[int, ...], str], np.ndarray] = {}

    def _gen(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng([*self.key, _PURPOSES.index(purpose)])

    def uniform(self, purpose: str, *shape: int) -> np.ndarray:
        """Uniforms in (0, 1), shape ``(n, *shape)``."""
        key = (purpose, shape, "u")
        if key not in self._cache:
            u = self._gen(purpose).random((self.n, *shape))
            self._cache[key] = np.clip(u, 1e-12, 1 - 1e-12)
        return self._cache[key]

    def normal(self, purpose: str, *shape: int) -> np.ndarray:
        """Standard normals, shape ``(n, *shape)``."""
        key = (purpose, shape, "z")
        if key not in self._cache:
            self._cache[key] = self._gen(purpose).standard_normal((self.n, *shape))
        return self._cache[key]


@lru_cache(maxsize=64)
def draws(seed: int, species: str, point: int, n: int) -> Draws:
    """The (cached) draws of one sample: they do not depend on the design, so a worker that
    evaluates many designs draws them once."""
    return Draws(seed, species, point, n)
