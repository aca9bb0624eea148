"""Model constants that are not geometry: the few numbers a user may want to vary.

Defaults and their sources are in docs/bic.md. Two of them are *calibrated* (named so):
``sampling_term`` (to KLOE's test-beam stochastic term of the same Pb/ScFi matrix) and
``fem_concentration`` (the width of the pion EM-fraction distribution, to the ePIC BIC E/p
rejection at 1 GeV). Everything else is taken from a source or derived.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from . import geometry as geo


@dataclass(frozen=True)
class Physics:
    """Constants of the fast BIC simulation."""

    #: sampling + photostatistics fluctuation of the Pb/ScFi, sigma/E = a / sqrt(E [GeV])
    #: (calibrated: the test-beam configuration then gives KLOE's 5.7 %/sqrt(E))
    sampling_term: float = 0.046
    #: material in front of the calorimeter at eta = 0 (X0) and its radius (cm)
    upstream_x0: float = geo.UPSTREAM_X0
    upstream_radius_cm: float = geo.UPSTREAM_R_CM
    #: ScFi ADC pedestal and noise (EICrecon BEMC.cc: pedMeanADC 100, pedSigmaADC 1) and the
    #: reconstruction threshold in ADC counts above pedestal (thresholdValue 5)
    pedestal_adc: float = 100.0
    pedestal_sigma_adc: float = 1.0
    threshold_adc: float = 5.0
    #: pi-: response of the non-EM part of a hadronic shower relative to EM (h/e)
    h_over_e: float = 0.8
    #: pi-: concentration kappa of the Beta distribution of the EM fraction (calibrated)
    fem_concentration: float = 0.5
    #: pi-: floor of the mean EM fraction at low energy (the first interaction alone makes pi0s)
    fem_floor: float = 0.3
    #: lateral width of the non-EM part of a hadronic shower (cm)
    hadronic_radius_cm: float = 6.0
    #: AstroPix pixel pitch (cm) and hit threshold (GeV) (bic.xml: 500 um; EICrecon: 15 keV)
    pixel_cm: float = 0.05
    si_threshold_gev: float = 15e-6
    #: z resolution of a ScFi cluster from the time difference of the two fibre ends, at 1 GeV
    #: (scales as 1/sqrt(E)); an assumption of this model, used only when no imaging layer
    #: has a hit
    scfi_z_resolution_cm: float = 1.0
    #: phi cells of the ScFi readout: 48 sectors x 5 (bic.xml grid_n_phi = 5)
    phi_cells: int = 240

    def with_(self, **changes: Any) -> Physics:
        return replace(self, **changes)


DEFAULT = Physics()
#: a test-beam setting: no material in front (used for the validation against test beams)
TEST_BEAM = Physics(upstream_x0=0.0)
