"""Optics of the dRICH model: indices, Frank-Tamm yield, thresholds, Fresnel, random numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from detopt.problems.drich import optics, tables
from detopt.problems.drich.optics import Optics
from detopt.problems.drich.photons import poisson_icdf
from detopt.problems.drich.rng import Stream
from detopt.problems.drich.scan import MASSES


def test_aerogel_index_matches_the_reference_values_and_table():
    # reference section 2: n = 1.0183 (1000 nm), 1.0193 (400 nm), 1.0203 (300 nm)
    n = optics.aerogel_index(np.array([1000.0, 400.0, 300.0]), 1.0193)
    assert n[1] == pytest.approx(1.0193, abs=1e-9)
    assert n[0] == pytest.approx(1.0183, abs=3e-4)
    assert n[2] == pytest.approx(1.0203, abs=3e-4)
    lam = optics.wavelength_nm(tables.AEROGEL_1019_RINDEX[:, 0])
    keep = lam >= 300
    dev = np.abs(optics.aerogel_index(lam[keep], 1.0193) - tables.AEROGEL_1019_RINDEX[keep, 1])
    assert dev.max() < 2.5e-4  # the one-pole Sellmeier with lambda0 = 90 nm
    # the table's own dispersion is steeper: its best pole is ~100 nm
    assert 95.0 < optics.fit_sellmeier_pole() < 105.0


def test_gas_index_matches_c2f6_values():
    n = optics.gas_index(np.array([1000.0, 633.0, 413.0, 307.0])) - 1.0
    assert n[1] == pytest.approx(7.5e-4, rel=1e-9)
    assert n[0] == pytest.approx(7.46e-4, rel=0.01)
    assert n[2] == pytest.approx(7.63e-4, rel=0.01)
    assert n[3] == pytest.approx(7.81e-4, rel=0.01)


def test_threshold_momenta():
    # reference section 2: aerogel 1.019: pi 0.71, K 2.53, p 4.8; C2F6: pi 3.6, K 12.7, p 24 GeV/c
    for n, expected in ((1.019, (0.71, 2.53, 4.8)), (1.00076, (3.6, 12.7, 24.0))):
        for species, p_th in zip(("pi", "K", "p"), expected):
            assert optics.threshold_momentum(MASSES[species], n) == pytest.approx(p_th, rel=0.02)


@pytest.mark.parametrize("radiator", ["aerogel", "gas"])
def test_frank_tamm_yield_matches_analytic_integral(radiator):
    opt = Optics(chromatic=False)  # constant index: sin^2 theta comes out of the integral
    beta = 0.9999
    n = opt.aerogel_nref if radiator == "aerogel" else opt.gas_nref
    sin2 = 1.0 - 1.0 / (n * beta) ** 2

    def density(energy):
        return opt.efficiency(optics.wavelength_nm(energy), radiator)

    knots = tables.HC_EV_NM / np.concatenate([tables.PDE_S13361[:, 0],
                                               tables.FILTER_ABSLENGTH[:, 0]])
    knots = np.sort(knots[(knots > 1.30) & (knots < 4.60)])
    integral = sum(quad(density, lo, hi, epsabs=1e-12)[0]
                   for lo, hi in zip(np.r_[1.30, knots], np.r_[knots, 4.60]))
    expected = optics.FRANK_TAMM * sin2 * integral
    assert opt.spectrum(radiator, beta).yield_per_cm == pytest.approx(expected, rel=2e-3)


def test_yield_scales_with_sin2_theta_and_vanishes_below_threshold():
    opt = Optics()
    p_th = optics.threshold_momentum(MASSES["K"], 1.00076)
    below = 0.98 * p_th / math.hypot(0.98 * p_th, MASSES["K"])  # beta just below threshold
    assert opt.spectrum("gas", below).yield_per_cm == 0.0
    high = opt.spectrum("gas", 0.99999).yield_per_cm
    assert 0.1 < high < 0.3  # photons per cm of C2F6 after the detection chain


def test_fresnel_transmission():
    # normal incidence air -> acrylic: 1 - ((n - 1)/(n + 1))^2
    t = optics.fresnel_transmission(1.0, 1.5017, np.array([1.0]))[0]
    assert t == pytest.approx(1 - (0.5017 / 2.5017) ** 2, rel=1e-12)
    # total internal reflection from acrylic to gas beyond the critical angle
    assert optics.fresnel_transmission(1.5017, 1.0, np.array([0.5]))[0] == 0.0


def test_counter_based_random_numbers_are_uniform_and_reproducible():
    s = Stream(1, 2, 3)
    keys = s.keys(np.arange(100_000), 5)
    u = s.uniform(keys, 4)
    assert 0.0 < u.min() and u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=0.005)
    assert np.corrcoef(u, s.uniform(keys, 5))[0, 1] == pytest.approx(0.0, abs=0.01)
    np.testing.assert_array_equal(u, Stream(1, 2, 3).uniform(keys, 4))
    assert not np.array_equal(u, Stream(1, 2, 4).uniform(keys, 4))
    g = s.normal(keys, 6)
    assert g.std() == pytest.approx(1.0, abs=0.01)


def test_poisson_inverse_cdf_has_poisson_moments():
    u = Stream(9).uniform(Stream(9).keys(np.arange(40_000)), 0)
    n = poisson_icdf(u, np.full(u.size, 7.3))
    assert n.mean() == pytest.approx(7.3, rel=0.02)
    assert n.var() == pytest.approx(7.3, rel=0.04)
