"""One-at-a-time trade-offs of the reference (section 5.7), calibrated preset.

Differences are evaluated with common random numbers (same seed), so the noise of a difference
is well below the single-evaluation noise; every asserted step is > 3x that noise.
"""

from __future__ import annotations

import pytest

from detopt.problems import drich

TRACKS = 800


def _objectives(**params):
    result = drich.evaluate(params, tracks_per_point=TRACKS, sem="none", constraints="ignore")
    return {k: v[0] for k, v in result.items()}


@pytest.fixture(scope="module")
def nominal():
    return _objectives()


def test_mirror_centerx_trades_gas_for_aerogel():
    # reference: 115 -> 130 cm: etalow +7 %, acceptance +4 %, etahigh -15 %
    low, high = _objectives(mirror_centerx=115.0), _objectives(mirror_centerx=130.0)
    assert high["piKsep_etalow"] > low["piKsep_etalow"] + 0.05
    assert high["acceptance"] > low["acceptance"] + 0.01
    assert high["piKsep_etahigh"] < 0.92 * low["piKsep_etahigh"]


def test_smaller_mirror_radius_trades_gas_for_aerogel(nominal):
    # reference: 220 -> 200 cm: etalow +5 %, acceptance +6 %, etahigh -30 %
    small = _objectives(mirror_radius=200.0)
    assert small["piKsep_etalow"] > nominal["piKsep_etalow"] + 0.05
    assert small["acceptance"] > nominal["acceptance"] + 0.02
    assert small["piKsep_etahigh"] < 0.8 * nominal["piKsep_etahigh"]


def test_thicker_aerogel_helps_the_aerogel_objectives():
    thin, thick = _objectives(aerogel_thickness=3.0), _objectives(aerogel_thickness=5.0)
    assert thick["piKsep_etalow"] > thin["piKsep_etalow"] + 0.3
    assert thick["acceptance"] > thin["acceptance"] + 0.05
    assert thick["piKsep_etahigh"] == pytest.approx(thin["piKsep_etahigh"], abs=0.15)


def test_thicker_aerogel_gives_more_aerogel_photons():
    n = [drich.scan_report({"aerogel_thickness": t}, tracks_per_point=300,
                           points=drich.POINTS[1:2])[0]["n_window"] for t in (2.0, 4.0, 6.0)]
    assert n[0] < n[1] < n[2]


def test_bad_focusing_hurts_the_gas(nominal):
    # reference: sensor_radius 200 or sensor_dz 0 defocus the gas ring (etahigh 1.8 / 1.7)
    assert _objectives(sensor_radius=200.0)["piKsep_etahigh"] < 0.6 * nominal["piKsep_etahigh"]
    flat = _objectives(sensor_dz=0.0)
    assert flat["piKsep_etahigh"] < 0.6 * nominal["piKsep_etahigh"]
    assert flat["acceptance"] < nominal["acceptance"] - 0.2
