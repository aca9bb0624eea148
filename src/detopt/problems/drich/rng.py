"""Counter-based random numbers for common random numbers (CRN) across designs.

Every random number is a hash of (seed, stream, track, photon slot, purpose). Photon ``j`` of
track ``i`` therefore gets the same emission point, wavelength, azimuth, ... for *every* design,
whatever the number of photons of the other tracks. A stateful generator would shift its whole
stream as soon as one photon count changed, which makes the objective surface jagged for a GP.
The hash is SplitMix64's finaliser, vectorised in uint64 numpy arithmetic (wrap-around is intended).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53

#: bits reserved for the purpose code and the photon slot inside a key
PURPOSE_BITS = 6
SLOT_BITS = 10


def _mix(z: np.ndarray) -> np.ndarray:
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


class Stream:
    """A family of counter-based uniforms identified by integers (seed, point, species, ...)."""

    def __init__(self, *ids: int):
        key = np.uint64(0x5EED)
        with np.errstate(over="ignore"):
            for value in ids:
                key = _mix(np.uint64(key) ^ np.uint64(int(value) & 0xFFFFFFFFFFFFFFFF))
        self._key = np.uint64(key)

    def keys(self, track: np.ndarray, slot: np.ndarray | int = 0) -> np.ndarray:
        """Counter keys (uint64) for the given track indices and photon slots."""
        track = np.asarray(track, dtype=np.uint64)
        slot = np.asarray(slot, dtype=np.uint64)
        return (track << np.uint64(SLOT_BITS + PURPOSE_BITS)) | (slot << np.uint64(PURPOSE_BITS))

    def uniform(self, keys: np.ndarray, purpose: int) -> np.ndarray:
        """Uniforms in (0, 1) for counter ``keys`` and a purpose code (0 .. 63)."""
        with np.errstate(over="ignore"):
            z = _mix((keys | np.uint64(purpose)) ^ self._key)
        return ((z >> _S11).astype(np.float64) + 0.5) * _TO_UNIT

    def normal(self, keys: np.ndarray, purpose: int) -> np.ndarray:
        """Standard normals (Box-Muller on purposes ``purpose`` and ``purpose + 32``)."""
        u1 = self.uniform(keys, purpose)
        u2 = self.uniform(keys, purpose + 32)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
