"""DTLZ problems and quality indicators: hypervolume against analytic values, front samples on
the true front, IGD+, the incremental tracker."""

import math

import numpy as np
import pytest
from scipy import integrate

from detopt.metrics import HypervolumeTracker, hypervolume, igd_plus, non_dominated_mask
from detopt.problems.dtlz import DTLZFront, objectives


def sphere_hv(m, r):
    return r ** m - math.pi ** (m / 2) / (2 ** m * math.gamma(m / 2 + 1))


@pytest.mark.parametrize("m, r", [(2, 1.1), (3, 1.1), (5, 10.0), (4, 2.0)])
def test_dtlz2_true_hypervolume_is_analytic(m, r):
    assert DTLZFront("dtlz2", m).hypervolume([r] * m) == pytest.approx(sphere_hv(m, r), rel=1e-12)


def test_dtlz2_3x12_reference_value():
    # the anchor value used by every benchmark: 1.1^3 - pi^(3/2) / (2^3 Gamma(5/2))
    assert DTLZFront("dtlz2", 3).hypervolume([1.1] * 3) == pytest.approx(0.8074, abs=5e-5)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_dtlz1_true_hypervolume_is_analytic(m):
    assert DTLZFront("dtlz1", m).hypervolume([1.0] * m) == pytest.approx(1 - 0.5 ** m / math.factorial(m))


def test_exact_hypervolume_of_a_dense_front_sample_approaches_the_analytic_value():
    front = DTLZFront("dtlz2", 3)
    sample_hv = hypervolume(front.sample(40000, seed=2), np.full(3, 1.1))
    assert sample_hv < front.hypervolume([1.1] * 3)
    assert sample_hv == pytest.approx(front.hypervolume([1.1] * 3), rel=5e-3)
    clipped = [0.8, 0.9, 1.2]  # the ball is cut by the box: integrated numerically
    assert hypervolume(front.sample(40000, seed=2), np.array(clipped)) == pytest.approx(
        front.hypervolume(clipped), rel=1e-2)


def test_dtlz7_hypervolume_matches_one_dimensional_quadrature():
    t = np.linspace(0, 1, 2_000_001)
    psi = np.maximum.accumulate(t * (1 + np.sin(3 * np.pi * t)))
    exact = integrate.quad(lambda y: max(0.0, 4.0 - 4.0 + np.interp(min(y, 1), t, psi)), 0, 1.1,
                           limit=1000, points=[1.0])[0]
    assert DTLZFront("dtlz7", 2).hypervolume([1.1, 4.0]) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("name, m", [("dtlz5", 3), ("dtlz6", 4), ("dtlz7", 3), ("dtlz1", 3)])
def test_front_samples_bound_the_true_hypervolume(name, m):
    front = DTLZFront(name, m)
    ref = np.array([1.1] * (m - 1) + [2.0 * m if name == "dtlz7" else 1.1])
    sampled = hypervolume(front.sample(20000, seed=1), ref)
    assert sampled <= front.hypervolume(ref) * (1 + 1e-9)
    # random points cover DTLZ7's disconnected patches less evenly: a looser bound there
    assert sampled == pytest.approx(front.hypervolume(ref), rel=1e-2 if name == "dtlz7" else 2e-3)


@pytest.mark.parametrize("name", ["dtlz1", "dtlz2", "dtlz3", "dtlz4", "dtlz5", "dtlz6", "dtlz7"])
def test_points_with_optimal_distance_variables_lie_on_the_front(name):
    m, d = 3, 12
    rng = np.random.default_rng(0)
    X = rng.random((200, d))
    X[:, m - 1:] = 0.0 if name in ("dtlz6", "dtlz7") else 0.5
    F = objectives(name, X, m)
    if name == "dtlz1":
        assert np.allclose(F.sum(axis=1), 0.5)
    elif name == "dtlz7":
        assert np.allclose(F[:, :2], X[:, :2])
    else:
        assert np.allclose(np.linalg.norm(F, axis=1), 1.0)
    worse = X.copy()
    worse[:, m - 1:] = 0.9
    assert np.all(objectives(name, worse, m).sum(axis=1) > F.sum(axis=1))


def test_igd_plus_is_zero_on_the_front_and_grows_away_from_it():
    front = DTLZFront("dtlz2", 3).sample(2000)
    assert igd_plus(front, front) == pytest.approx(0.0, abs=1e-12)
    assert igd_plus(front * 1.2, front) > igd_plus(front * 1.05, front) > 0


def test_tracker_matches_batch_hypervolume_and_keeps_only_the_front():
    rng = np.random.default_rng(4)
    points = rng.random((400, 3)) + 0.2
    ref = np.full(3, 1.5)
    tracker = HypervolumeTracker(ref, true_hypervolume=2.0)
    for i, p in enumerate(points):
        tracker.add(p, i)
    front_mask = non_dominated_mask(points)
    assert sorted(tracker.front_ids) == sorted(np.flatnonzero(front_mask).tolist())
    assert tracker.hypervolume == pytest.approx(hypervolume(points, ref))
    assert tracker.normalized == pytest.approx(tracker.hypervolume / 2.0)
    rebuilt = HypervolumeTracker(ref)
    rebuilt.add_many(points, list(range(len(points))))
    assert rebuilt.hypervolume == pytest.approx(tracker.hypervolume)
