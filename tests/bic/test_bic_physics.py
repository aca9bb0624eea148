"""Physics sanity of the fast BIC simulation: scaling laws, trade-off directions, validation
numbers the docs quote, and noise against the differences an optimizer must resolve.

No test asserts a time; speed is in benchmarks/bench_bic.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from detopt.problems import bic
from detopt.problems.bic import diagnostics, imaging, metrics
from detopt.problems.bic.geometry import Design

from bickit import SWITCH_OFF, SWITCH_ON, evaluate

TEST_BEAM_ENERGIES = (0.5, 1.0, 2.0, 4.0, 10.0)


@pytest.fixture(scope="module")
def test_beam_resolution():
    """sigma/E of electrons at normal incidence, no material in front (a test-beam setting)."""
    result = diagnostics.test_beam(energies=TEST_BEAM_ENERGIES, events_per_point=3000)
    return np.array(result["energies"]), np.array(result["sigma_over_e"])


def test_energy_resolution_scales_as_one_over_sqrt_e(test_beam_resolution):
    energy, sigma = test_beam_resolution
    slope = np.polyfit(np.log(energy), np.log(sigma), 1)[0]
    assert -0.6 < slope < -0.42          # stochastic term dominates; noise/constant bend it
    scaled = sigma * np.sqrt(energy)      # sigma * sqrt(E) roughly constant
    assert scaled.max() / scaled.min() < 1.35


def test_test_beam_terms_match_pb_scfi_measurements(test_beam_resolution):
    """KLOE 5.7 %/sqrt(E) (calibrated, see docs/bic.md) and the Baby BCAL constant < 1.9 %."""
    energy, sigma = test_beam_resolution
    fit = diagnostics.resolution_terms(energy, sigma)
    assert 0.057 * 0.8 < fit[0] < 0.057 * 1.2
    assert fit[1] < 0.019
    assert abs(fit[0] - 0.052) / 0.052 < 0.2   # GlueX BCAL in situ: 5.2 %/sqrt(E)


def test_ep_rejection_at_1_gev_matches_the_epic_bic_study():
    """E/p over the first 8 ScFi layers at 97 % electron efficiency, 1 GeV: 23.5 (ePIC BIC PID
    study, calibrated through the pion EM-fraction width; see docs/bic.md)."""
    sim = bic.Simulation(Design.from_params(bic.NOMINAL), events_per_point=3000, energies=(1.0,))
    ep_e, s_e, ep_pi, s_pi = sim.rejection_inputs(0)
    survival = metrics.survival(ep_e[:, 7], s_e, ep_pi[:, 7], s_pi, 0.97)
    assert 23.5 * 0.8 < 1.0 / survival < 23.5 * 1.2


def test_more_imaging_layers_improve_the_rejection():
    """Paired over seeds (common random numbers): layer 2 alone and all six layers beat the
    E/p-only rejection of layer 1 alone in every seed."""
    seeds = (1, 2, 3)
    off = np.array([evaluate(SWITCH_OFF, seed=s)["pion_rejection"][0] for s in seeds])
    layer2 = np.array([evaluate({**SWITCH_OFF, "enable_staves_2": 1}, seed=s)["pion_rejection"][0]
                       for s in seeds])
    on = np.array([evaluate(SWITCH_ON, seed=s)["pion_rejection"][0] for s in seeds])
    assert np.all(layer2 > 1.4 * off)
    assert np.all(on > 1.4 * off)
    assert on.mean() > layer2.mean()


def test_eta_resolution_needs_an_early_imaging_layer():
    off = evaluate(SWITCH_OFF)["eta_resolution"][0]
    nominal = evaluate()["eta_resolution"][0]           # staves 3, 4, 6
    layer2 = evaluate({"enable_staves_2": 1})["eta_resolution"][0]
    on = evaluate(SWITCH_ON)["eta_resolution"][0]
    assert off > 2 * nominal > 2 * layer2
    assert on <= layer2 * 1.02


def test_photons_without_imaging_hit_fall_back_to_the_scfi_position():
    """With only layer 1 on, most photons leave no imaging hit; their eta must not be dropped
    (AID2E's recipe drops them, which makes fewer layers look better)."""
    sim = bic.Simulation(Design.from_params({**bic.NOMINAL, **SWITCH_OFF}), events_per_point=1000,
                         energies=(1.0,))
    smp, draws = sim.sample("gamma", 0)
    d_eta, layer = imaging.first_layer_eta(smp, sim.layout, sim.physics, draws)
    assert np.isfinite(d_eta).all()
    assert 0.6 < np.mean(layer == -1) < 0.95      # unconverted in front of layer 1


def test_cost_counts_the_enabled_layers():
    assert evaluate(SWITCH_OFF)["cost"] == (1.0, 0.0)
    assert evaluate()["cost"] == (4.0, 0.0)
    assert evaluate(SWITCH_ON)["cost"] == (6.0, 0.0)


def test_readout_sets_the_energy_resolution():
    coarse = evaluate({"capacityADC": 4096, "dynamicRangeADC": 2000.0})["energy_resolution"][0]
    fine = evaluate({"capacityADC": 65536, "dynamicRangeADC": 1000.0})["energy_resolution"][0]
    nominal = evaluate()["energy_resolution"][0]
    assert fine < nominal < coarse


def test_thinner_imaging_radiators_improve_position_and_rejection():
    thin = evaluate({"imaging_radiator_thickness": 1.2})
    thick = evaluate({"imaging_radiator_thickness": 3.2})
    assert thin["eta_resolution"][0] < thick["eta_resolution"][0]
    assert thin["pion_rejection"][0] > thick["pion_rejection"][0]


def test_seed_noise_is_below_the_differences_to_resolve():
    seeds = (1, 2, 3)
    pairs = {  # objective: (design a, design b) whose difference the optimizer must see
        "energy_resolution": ({}, {"capacityADC": 65536}),
        "eta_resolution": ({}, {"enable_staves_2": 1}),
        "pion_rejection": (SWITCH_OFF, {}),
    }
    for name, (a, b) in pairs.items():
        va = np.array([evaluate(a, seed=s)[name][0] for s in seeds])
        vb = np.array([evaluate(b, seed=s)[name][0] for s in seeds])
        gap = abs(va.mean() - vb.mean())
        assert va.std(ddof=1) < gap / 3, name
        assert np.all(np.sign(va - vb) == np.sign(va.mean() - vb.mean())), name
        # the bootstrap sem is of the size of the seed-to-seed noise (within a factor 3)
        sem = np.mean([evaluate(a, seed=s)[name][1] for s in seeds])
        assert va.std(ddof=1) / 3 < sem < 3 * va.std(ddof=1), name
