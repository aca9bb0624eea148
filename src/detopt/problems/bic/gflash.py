"""Electromagnetic shower profiles of Grindhammer and Peters (GFlash), vectorized.

G. Grindhammer, S. Peters, "The parameterized simulation of electromagnetic showers in
homogeneous and sampling calorimeters", hep-ex/0001020 (1993); the coefficients are those of
Geant4's GFlash (``GVFlashHomoShowerTuning``, ``GFlashSamplingShowerTuning``), which
implements that paper. Per shower:

* longitudinal: dE/dt = E f(t), f the Gamma density with shape alpha and rate beta,
  T = (alpha - 1)/beta. ln T and ln alpha are correlated normals whose means, widths and
  correlation depend on y = E / E_c, with the sampling-calorimeter corrections in the
  sampling frequency F_S and e-hat;
* lateral: f(r) = p 2rR_C^2/(r^2+R_C^2)^2 + (1-p) 2rR_T^2/(r^2+R_T^2)^2 in Moliere radii,
  with core radius R_C, tail radius R_T and core weight p functions of tau = t/T, E and Z,
  plus the sampling corrections.

Every random input is a given standard normal or uniform, so the same numbers give the same
shower for every design (common random numbers).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import materials as mat

# homogeneous media (GVFlashHomoShowerTuning)
_T1, _A1, _A2, _A3 = -0.812, 0.81, 0.458, 2.26
# sampling corrections and fluctuations (GFlashSamplingShowerTuning)
_ST1, _ST2, _SA1 = -0.55, -0.69, -0.476
_SIGT = (-2.5, 1.25)
_SIGA = (-0.82, 0.79)
_RHO = (0.784, -0.023)
# lateral (homogeneous, then sampling corrections)
_RC = (0.0251, 0.00319, 0.1162, -0.000381)
_RT = (0.659, -0.00309, 0.645, -2.59, 0.3585, 0.0412)
_WC = (2.632, -0.00094, 0.401, 0.00187, 1.313, -0.0686)
_SRC = (-0.0203, 0.0397)
_SRT = (-0.14, -0.495)
_SWC = (0.348, -0.642)


def longitudinal(energy_gev: np.ndarray, z1: np.ndarray, z2: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-shower (alpha, beta) of the Gamma profile (beta per X0) from two standard normals."""
    y = np.maximum(np.asarray(energy_gev, dtype=float) / mat.CRITICAL_GEV, 1.5)
    ly = np.log(y)
    t_hom = np.maximum(_T1 + ly, 0.1)
    a_hom = np.maximum(_A1 + (_A2 + _A3 / mat.Z_EFF) * ly, 0.1)
    mean_ln_t = np.log(np.maximum(t_hom + _ST1 / mat.F_S + _ST2 * (1.0 - mat.E_HAT), 0.1))
    mean_ln_a = np.log(np.maximum(a_hom + _SA1 / mat.F_S, 1.05))
    sig_t = np.minimum(0.5, 1.0 / np.maximum(_SIGT[0] + _SIGT[1] * ly, 1e-3))
    sig_a = np.minimum(0.5, 1.0 / np.maximum(_SIGA[0] + _SIGA[1] * ly, 1e-3))
    rho = np.clip(_RHO[0] + _RHO[1] * ly, -0.99, 0.99)
    c1, c2 = np.sqrt((1 + rho) / 2), np.sqrt((1 - rho) / 2)
    tmax = np.maximum(1.0, np.exp(mean_ln_t + sig_t * (c1 * z1 + c2 * z2)))
    alpha = np.maximum(1.1, np.exp(mean_ln_a + sig_a * (c1 * z1 - c2 * z2)))
    return alpha, (alpha - 1.0) / tmax


def fraction_between(alpha: np.ndarray, beta: np.ndarray, t0: np.ndarray, t1: np.ndarray
                     ) -> np.ndarray:
    """Fraction of the shower energy deposited between depths t0 < t1 (X0 from shower start;
    negative depths count as 0). Arrays broadcast (e.g. showers x layers)."""
    lo = special.gammainc(alpha, beta * np.maximum(t0, 0.0))
    hi = special.gammainc(alpha, beta * np.maximum(t1, 0.0))
    return hi - lo


def density(alpha: np.ndarray, beta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The profile f(t) per X0 (0 before the shower start)."""
    t = np.asarray(t, dtype=float)
    tp = np.maximum(t, 1e-9)
    log_f = (alpha * np.log(beta) + (alpha - 1.0) * np.log(tp) - beta * tp
             - special.gammaln(alpha))
    return np.where(t > 0, np.exp(log_f), 0.0)


def lateral(energy_gev: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(core radius, tail radius, core weight) at tau = t/T, radii in Moliere radii."""
    le = np.log(np.maximum(np.asarray(energy_gev, dtype=float), 1e-3))
    tau = np.maximum(np.asarray(tau, dtype=float), 0.0)
    z = mat.Z_EFF
    r_core = (_RC[0] + _RC[1] * le) + (_RC[2] + _RC[3] * z) * tau
    p1, p2, p3 = _WC[0] + _WC[1] * z, _WC[2] + _WC[3] * z, _WC[4] + _WC[5] * le
    weight = p1 * np.exp((p2 - tau) / p3 - np.exp((p2 - tau) / p3))
    k1, k2, k3, k4 = _RT[0] + _RT[1] * z, _RT[2], _RT[3], _RT[4] + _RT[5] * le
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    one_m_ehat, inv_fs = 1.0 - mat.E_HAT, 1.0 / mat.F_S
    r_core = r_core + _SRC[0] * one_m_ehat + _SRC[1] * inv_fs * np.exp(-tau)
    weight = weight + one_m_ehat * (_SWC[0] + _SWC[1] * inv_fs * np.exp(-(tau - 1.0) ** 2))
    r_tail = r_tail + one_m_ehat * _SRT[0] + _SRT[1] * inv_fs * np.exp(-tau)
    return (np.maximum(r_core, 0.005), np.maximum(r_tail, r_core + 0.01),
            np.clip(weight, 0.0, 1.0))


def strip_fractions(edges: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Fractions of the 2-d profile 2rR^2/(r^2+R^2)^2 (radius R) in the strips between
    consecutive ``edges`` (last axis), integrated over the other coordinate: the marginal CDF
    is (1 + x / sqrt(x^2 + R^2)) / 2."""
    cdf = 0.5 * edges / np.sqrt(edges * edges + radius * radius)
    return np.diff(cdf, axis=-1)


def sample_radius(radius: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of 2rR^2/(r^2+R^2)^2: r = R sqrt(u / (1 - u))."""
    u = np.clip(u, 1e-12, 1 - 1e-6)
    return radius * np.sqrt(u / (1.0 - u))
