"""DTLZ1–DTLZ7 (Deb, Thiele, Laumanns, Zitzler 2005) for any number of objectives and variables.

All objectives are minimized; variables ``x1..xn`` lie in [0, 1]. Each problem knows its true
Pareto front: :class:`DTLZFront` samples it and gives the hypervolume of the true front for a
reference point, exactly where a closed form exists and by accurate numerical integration
otherwise:

* DTLZ1 (linear front Σf = 1/2): exact inclusion–exclusion volume of a clipped simplex.
* DTLZ2–4 (unit sphere): ∏r − π^{M/2}/(2^M Γ(M/2+1)) when every r_i ≥ 1; a clipped orthant
  ball (r_i < 1) is integrated by scrambled Sobol with 2^20 points.
* DTLZ5–6 (degenerate curve): a one-dimensional integral along the last objective (scipy quad).
* DTLZ7 (disconnected front): the minimum of f_M over a box factorizes, so the hypervolume is a
  convolution of one-dimensional distributions, computed on a fine grid.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import integrate
from scipy.signal import fftconvolve
from scipy.stats import qmc

from detopt.errors import ConfigError

PROBLEMS = ("dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz5", "dtlz6", "dtlz7")
_DEFAULT_K = {"dtlz1": 5, "dtlz7": 20}  # others: 10 (Deb et al.)
_ALPHA_DTLZ4 = 100.0


def default_n_variables(name: str, n_objectives: int) -> int:
    return n_objectives + _DEFAULT_K.get(name, 10) - 1


def check(name: str, n_objectives: int, n_variables: int) -> str:
    key = name.lower()
    if key not in PROBLEMS:
        raise ConfigError(f"unknown DTLZ problem {name!r}.", field="problem.name",
                          fix=f"use one of: {', '.join(PROBLEMS)}")
    if n_objectives < 2:
        raise ConfigError("DTLZ problems need at least 2 objectives.",
                          field="problem.options.n_objectives", fix="set n_objectives >= 2")
    if n_variables < n_objectives:
        raise ConfigError(f"n_variables ({n_variables}) must be at least n_objectives "
                          f"({n_objectives}).", field="problem.options.n_variables",
                          fix=f"set n_variables >= {n_objectives}")
    return key


# ------------------------------------------------------------------------------- objectives
def _g_rastrigin(xm: np.ndarray) -> np.ndarray:
    return 100.0 * (xm.shape[1] + np.sum((xm - 0.5) ** 2 - np.cos(20 * np.pi * (xm - 0.5)), axis=1))


def _g_sphere(xm: np.ndarray) -> np.ndarray:
    return np.sum((xm - 0.5) ** 2, axis=1)


def _spherical(theta: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Objectives on a sphere of radius 1+g from M-1 angles (rows = points)."""
    n, m1 = theta.shape
    F = np.ones((n, m1 + 1))
    cos, sin = np.cos(theta), np.sin(theta)
    for j in range(m1 + 1):
        F[:, j] = np.prod(cos[:, : m1 - j], axis=1)
        if j > 0:
            F[:, j] *= sin[:, m1 - j]
    return F * (1.0 + g)[:, None]


def objectives(name: str, X: np.ndarray, n_objectives: int) -> np.ndarray:
    """Objective matrix (n × M) of problem ``name`` at the rows of ``X`` (n × d, in [0, 1])."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    key = check(name, n_objectives, X.shape[1])
    M = n_objectives
    xp, xm = X[:, : M - 1], X[:, M - 1:]
    if key == "dtlz1":
        g = _g_rastrigin(xm)
        F = np.ones((len(X), M))
        for j in range(M):
            F[:, j] = 0.5 * np.prod(xp[:, : M - 1 - j], axis=1)
            if j > 0:
                F[:, j] *= 1.0 - xp[:, M - 1 - j]
        return F * (1.0 + g)[:, None]
    if key in ("dtlz2", "dtlz3", "dtlz4"):
        g = _g_sphere(xm) if key != "dtlz3" else _g_rastrigin(xm)
        xp = xp ** _ALPHA_DTLZ4 if key == "dtlz4" else xp
        return _spherical(xp * np.pi / 2, g)
    if key in ("dtlz5", "dtlz6"):
        g = _g_sphere(xm) if key == "dtlz5" else np.sum(xm ** 0.1, axis=1)
        theta = np.empty_like(xp)
        theta[:, 0] = xp[:, 0] * np.pi / 2
        theta[:, 1:] = (np.pi / (4 * (1 + g)))[:, None] * (1 + 2 * g[:, None] * xp[:, 1:])
        return _spherical(theta, g)
    # dtlz7
    g = 1.0 + 9.0 / xm.shape[1] * np.sum(xm, axis=1)
    F = np.empty((len(X), M))
    F[:, : M - 1] = xp
    h = M - np.sum(xp / (1 + g)[:, None] * (1 + np.sin(3 * np.pi * xp)), axis=1)
    F[:, M - 1] = (1 + g) * h
    return F


def evaluate(params: dict[str, Any], name: str = "dtlz2", n_objectives: int = 3) -> dict[str, float]:
    """Evaluation function used by studies: ``params`` holds ``x1..xn``; returns ``f1..fM``."""
    n = len([k for k in params if k.startswith("x") and k[1:].isdigit()])
    x = np.array([[float(params[f"x{i + 1}"]) for i in range(n)]])
    F = objectives(name, x, n_objectives)[0]
    return {f"f{j + 1}": float(v) for j, v in enumerate(F)}


def default_reference_point(name: str, n_objectives: int) -> list[float]:
    """The customary reference points: 1 for DTLZ1, 1.1 for DTLZ2–6; DTLZ7's last one is 2M."""
    key = name.lower()
    if key == "dtlz1":
        return [1.0] * n_objectives
    if key == "dtlz7":
        return [1.1] * (n_objectives - 1) + [2.0 * n_objectives]
    return [1.1] * n_objectives


# ------------------------------------------------------------------------------ true fronts
class DTLZFront:
    """The true Pareto front of a DTLZ problem with ``n_objectives`` objectives."""

    def __init__(self, name: str, n_objectives: int):
        self.name = check(name, n_objectives, n_objectives)
        self.n_objectives = n_objectives

    def sample(self, n: int = 2000, seed: int = 0) -> np.ndarray:
        """``n`` points of the true front (fewer for DTLZ7 after removing dominated ones)."""
        M, rng = self.n_objectives, np.random.default_rng(seed)
        if self.name == "dtlz1":
            return 0.5 * rng.dirichlet(np.ones(M), size=n)
        if self.name in ("dtlz2", "dtlz3", "dtlz4"):
            v = np.abs(rng.standard_normal((n, M)))
            return v / np.linalg.norm(v, axis=1, keepdims=True)
        if self.name in ("dtlz5", "dtlz6"):
            X = np.full((n, M), 0.5)
            X[:, 0] = np.linspace(0, 1, n)
            return objectives("dtlz5", X, M)  # g = 0 at x_M = 0.5 for DTLZ5
        X = np.zeros((n, M))
        X[:, : M - 1] = rng.random((n, M - 1))
        F = objectives("dtlz7", X, M)
        from detopt.metrics.pareto import non_dominated_mask

        return F[non_dominated_mask(F)]

    def hypervolume(self, ref: np.ndarray | list[float]) -> float:
        """Hypervolume of the true front for reference point ``ref`` (minimization)."""
        ref_t = tuple(float(r) for r in np.asarray(ref, dtype=float).ravel())
        if len(ref_t) != self.n_objectives:
            raise ConfigError(f"reference point has {len(ref_t)} values, expected "
                              f"{self.n_objectives}.", field="reference_point",
                              fix="give one value per objective")
        return _true_hypervolume(self.name, ref_t)


@lru_cache(maxsize=256)
def _true_hypervolume(name: str, ref: tuple[float, ...]) -> float:
    r = np.array(ref)
    if np.any(r <= 0):
        return 0.0
    M = len(r)
    if name == "dtlz1":
        return float(np.prod(r)) - _clipped_simplex_volume(r, 0.5)
    if name in ("dtlz2", "dtlz3", "dtlz4"):
        if np.all(r >= 1.0):
            return float(np.prod(r) - math.pi ** (M / 2) / (2 ** M * math.gamma(M / 2 + 1)))
        return float(np.prod(r)) * (1.0 - _fraction_inside_unit_ball(r))
    if name in ("dtlz5", "dtlz6"):
        return _curve_hypervolume(r)
    return _dtlz7_hypervolume(r)


def _clipped_simplex_volume(r: np.ndarray, s: float) -> float:
    """Volume of {y in [0, r]: sum(y) <= s}, by inclusion–exclusion (exact)."""
    M = len(r)
    total = 0.0
    for size in range(M + 1):
        for subset in itertools.combinations(range(M), size):
            rest = s - sum(r[i] for i in subset)
            if rest > 0:
                total += (-1) ** size * rest ** M
    return total / math.factorial(M)


def _fraction_inside_unit_ball(r: np.ndarray) -> float:
    """Fraction of the box [0, r] inside the unit ball (scrambled Sobol, 2^20 points)."""
    u = qmc.Sobol(d=len(r), scramble=True, seed=12345).random_base2(20) * r
    return float(np.mean(np.sum(u * u, axis=1) < 1.0))


def _curve_hypervolume(r: np.ndarray) -> float:
    """DTLZ5/6 front: f_j = c_j cos θ (j < M-1), f_M = sin θ. A point y is dominated iff
    min_j(y_j / c_j)² + y_M² >= 1 (each clipped to 1), which leaves a 1-D integral over y_M."""
    M = len(r)
    X = np.full((1, M), 0.5)
    X[0, 0] = 0.0
    c = objectives("dtlz5", X, M)[0, : M - 1]  # coefficients at θ = 0

    def dominated_area(y_last: float) -> float:
        t = math.sqrt(max(0.0, 1.0 - min(1.0, y_last) ** 2))  # need cos θ <= min_j y_j / c_j = t
        return float(np.prod(np.clip(r[: M - 1] - c * t, 0.0, None)))

    value, _ = integrate.quad(dominated_area, 0.0, r[-1], limit=500, epsabs=1e-13, epsrel=1e-11,
                              points=[min(1.0, r[-1])])
    return float(value)


def _dtlz7_hypervolume(r: np.ndarray, grid: int = 400_001, bins: int = 1 << 18) -> float:
    """DTLZ7 front: f_M = 2M − Σ φ(f_i), φ(t) = t(1 + sin 3πt). The best f_M below a box corner
    y is 2M − Σ ψ(y_i) with ψ(y) = max_{t <= min(y,1)} φ(t), so
    HV = ∏_{i<M} r_i · E[(r_M − 2M + Σ ψ(Y_i))_+] with independent Y_i ~ U[0, r_i]."""
    M = len(r)
    s_max = 2.0 * (M - 1) + 1e-9
    edges = np.linspace(0.0, s_max, bins + 1)
    width = edges[1] - edges[0]
    density = None
    for ri in r[: M - 1]:
        y = (np.arange(grid) + 0.5) / grid * ri
        t = np.linspace(0.0, 1.0, grid)
        psi_t = np.maximum.accumulate(t * (1 + np.sin(3 * np.pi * t)))
        psi = np.interp(np.minimum(y, 1.0), t, psi_t)
        hist = np.bincount(np.minimum((psi / width).astype(int), bins - 1), minlength=bins) / grid
        density = hist if density is None else np.clip(fftconvolve(density, hist)[:bins], 0, None)
    assert density is not None
    centres = (np.arange(len(density)) + 0.5) * width
    # each bin of a sum of (M-1) binned terms is biased by ~(M-1)/2 bin widths; correct the centre
    centres -= (M - 2) * width / 2
    expected = float(np.sum(density * np.clip(r[-1] - 2.0 * M + centres, 0.0, None)))
    return float(np.prod(r[: M - 1])) * expected
