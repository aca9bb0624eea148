"""Cherenkov yields of the Geant4 model against Frank-Tamm for the model's own tables.

The only test module that starts a Geant4 run manager in the pytest process (one per process);
the others use geometry only or child processes.
"""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("geant4_pybind") is None,
                                reason="needs the geant4 extra (the test extra installs it)")


@pytest.fixture(scope="module")
def session():
    from detopt.problems.drich.g4.simulation import Geant4Session
    from detopt.problems.drich.geometry import Design
    from detopt.problems.drich.presets import get_preset
    from detopt.problems.drich.scan import make_optics

    design = Design.from_params({})
    return Geant4Session(design, make_optics(design, get_preset("pure")))


def test_pion_photon_yield_in_aerogel_and_gas_agrees_with_frank_tamm(session):
    from detopt.problems.drich.g4.yields import yields_and_deltas

    yields, deltas = yields_and_deltas(session, "pi", 15.0, eta=2.25, n_tracks=150)
    by_radiator = {y.radiator: y for y in yields}
    assert set(by_radiator) == {"aerogel", "gas"}
    for y in yields:
        assert y.frank_tamm > 100  # ~144 photons per track in either radiator
        assert abs(y.pull) < 3.5, y  # within the statistical error
        assert abs(y.geant4 / y.frank_tamm - 1) < 0.03, y
    # the data-free physics drops delta-electron light: it is negligible here
    assert deltas["aerogel"]["photons_per_track_upper_bound"] < 0.01 * by_radiator["aerogel"].geant4


def test_kaon_below_gas_threshold_gives_no_gas_light(session):
    """K+ at 10 GeV/c is below the C2F6 threshold (12.7 GeV/c): no gas photons."""
    from detopt.problems.drich.g4.yields import yields_and_deltas

    yields, _ = yields_and_deltas(session, "K", 10.0, eta=2.75, n_tracks=40)
    gas = next(y for y in yields if y.radiator == "gas")
    assert gas.frank_tamm == 0.0
    assert gas.geant4 < 1.0  # only the rare decay muon radiates
