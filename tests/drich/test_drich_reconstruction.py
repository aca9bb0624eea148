"""Inverse reconstruction: reflection-point solver, closure, and the per-photon error budget."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from detopt.problems.drich import diagnostics
from detopt.problems.drich import geometry as geo
from detopt.problems.drich.geometry import Design, dot
from detopt.problems.drich.optics import Optics
from detopt.problems.drich.photons import aerogel_photons, gas_photons, make_tracks
from detopt.problems.drich.presets import PRESETS, Effects
from detopt.problems.drich.reconstruction import reconstruct_theta, reflection_point
from detopt.problems.drich.rng import Stream
from detopt.problems.drich.scan import AID2E_SCAN, ScanPoint
from detopt.problems.drich.tracer import trace

NOMINAL = Design.from_params({})


def test_reflection_point_obeys_the_reflection_law():
    rng = np.random.default_rng(1)
    c, r = NOMINAL.mirror_center, NOMINAL.mirror_radius
    start = np.column_stack([rng.uniform(10, 90, 900), rng.uniform(-20, 20, 900),
                             rng.uniform(200, 300, 900)])
    hit = np.column_stack([rng.uniform(111, 170, 900), rng.uniform(-30, 30, 900),
                           rng.uniform(222, 248, 900)])
    inside = np.linalg.norm(start - c, axis=1) < r - 0.5  # emission lies inside the mirror sphere
    start, hit = start[inside], hit[inside]
    assert len(start) > 500
    p, _ = reflection_point(c, r, start, hit)
    assert np.allclose(np.linalg.norm(p - c, axis=1), r, rtol=0, atol=1e-9)
    n = (p - c) / r
    u_in = (start - p) / np.linalg.norm(start - p, axis=1)[:, None]
    u_out = (hit - p) / np.linalg.norm(hit - p, axis=1)[:, None]
    # equal angles with the normal, and normal, incoming and outgoing rays coplanar
    assert np.max(np.abs(dot(u_in, n) - dot(u_out, n))) < 1e-9
    assert np.max(np.abs(dot(np.cross(u_in, u_out), n))) < 1e-9


@pytest.mark.parametrize("radiator, point", [(0, ScanPoint(15.0, (1.5, 3.5), 0)),
                                             (1, ScanPoint(45.0, (1.5, 3.5), 1))])
def test_closure_with_exact_emission_point_and_no_pixel_error(radiator, point):
    """Every effect off and the true emission point: the solver recovers theta to < 1e-6 rad."""
    preset = replace(PRESETS["pure"], effects=Effects.only(None))
    optics = Optics(chromatic=True)  # true per-photon indices are handed to the solver below
    tracks = make_tracks(Stream(3, 0), 400, point.p, 0.13957039, point.eta, preset)
    stream = Stream(3, radiator)
    if radiator == 0:
        photons = aerogel_photons(NOMINAL, optics, preset, tracks, stream)[0]
    else:
        photons = gas_photons(NOMINAL, optics, tracks, stream)
    hits = trace(NOMINAL, optics, preset, photons, stream)
    ph = hits.photons
    # photons emitted within 1 mm of the mirror are excluded: their angle is set by a path of
    # micrometres, so rounding of the positions (1e-13 cm) alone gives ~1e-8..1e-5 rad
    to_mirror = np.linalg.norm(np.where(np.isnan(hits.mirror_point), 0, hits.mirror_point)
                               - geo.rotate_z(ph.emission, -hits.sector * geo.SECTOR), axis=1)
    keep = ~ph.scattered & ~hits.direct & (to_mirror > 0.1)
    theta = reconstruct_theta(NOMINAL, radiator, hits.true_position, hits.sector,
                              tracks.direction[ph.track], ph.emission, ph.n_rad, ph.n_gas)
    truth = np.arccos(1.0 / (ph.n_rad * tracks.beta))
    assert keep.sum() > 2000
    assert np.abs(theta - truth)[keep].max() < 1e-6
    assert np.median(np.abs(theta - truth)[keep]) < 1e-10
    assert (hits.sector != 0).any()  # photons reflected by a neighbouring sector are included


def test_error_budget_matches_reference_ordering():
    """Reference 5.4: chromatic dominates the aerogel, pixel and emission the gas; all off ~ 0."""
    aero = diagnostics.error_budget(point=AID2E_SCAN[1], tracks_per_point=600)
    gas = diagnostics.error_budget(point=AID2E_SCAN[2], tracks_per_point=600)
    assert aero["none"] < 0.02 and gas["none"] < 0.02  # mrad: closure with assumed point and n_ref
    assert aero["chromatic"] == pytest.approx(1.79, rel=0.15)
    assert aero["pixel"] == pytest.approx(0.96, rel=0.15)
    assert aero["emission"] == pytest.approx(0.22, abs=0.1)
    assert aero["tracking"] == pytest.approx(0.43, rel=0.3)
    assert aero["all"] == pytest.approx(1.82, rel=0.15)
    assert gas["chromatic"] == pytest.approx(0.18, rel=0.2)
    assert gas["emission"] == pytest.approx(0.79, rel=0.2)
    assert gas["pixel"] == pytest.approx(0.99, rel=0.15)
    assert gas["tracking"] == pytest.approx(0.30, rel=0.2)
    assert gas["all"] == pytest.approx(1.29, rel=0.15)
    assert aero["chromatic"] > max(aero["pixel"], aero["emission"], aero["tracking"])
    assert gas["chromatic"] < min(gas["pixel"], gas["emission"])


def test_larger_pixels_give_a_larger_pixel_error():
    widths = []
    for size in (0.15, 0.3, 0.6):
        preset = replace(PRESETS["pure"], pixel_size=size)
        budget = diagnostics.error_budget(preset=preset, point=AID2E_SCAN[2], tracks_per_point=300,
                                          effects=("pixel",))
        widths.append(budget["pixel"])
    assert widths[0] < widths[1] < widths[2]
    assert widths[2] / widths[1] == pytest.approx(2.0, rel=0.15)  # sigma_pix ~ pitch / (sqrt(12) f)
