"""Material constants of the ePIC BIC model (Pb/ScFi sampling section, AstroPix staves).

Every number carries its source; docs/bic.md repeats them with the derivations.

Pb/ScFi (GlueX BCAL matrix, reused for the BIC): volume fractions Pb 0.37, fibre 0.48, glue
0.15 (fibre pitch 1.34 mm x 1.22 mm, radius 0.5 mm: ePIC ``compact/ecal/bic/bic.xml``).
Derived with PDG material tables:

* X0 = 1.45 cm (bic.xml comment "For Pb/SciFi (GlueX): X0 ~ 1.45 cm"; the volume fractions
  give 1.48 cm);
* Moliere radius 3.34 cm and critical energy 9.4 MeV from the mass-weighted sums
  1/R_M = sum(w_j E_c,j / X_j) / 21.2 MeV (PDG RPP, "Passage of particles through matter");
* nuclear interaction length 34.2 cm from Pb 17.59 cm and polystyrene 77.07 cm (PDG);
* EM sampling fraction 0.0929 (EICrecon ``BEMC.cc``: ``sampFrac = 0.09285755``);
* visible energy of a minimum-ionizing particle 0.875 MeV/cm (fibre cores 40.7 % of the
  area x polystyrene 2.15 MeV/cm), so e/mip = 0.0929 / (0.875 / 6.09) = 0.65, the value of
  Grindhammer-Peters' e-hat = 1 / (1 + 0.007 (Z_Pb - Z_sc)).
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------- Pb/ScFi
X0_CM = 1.45
MOLIERE_CM = 3.34
CRITICAL_GEV = 0.0094
LAMBDA_I_CM = 34.2
Z_EFF = 71.0                         # mass-weighted Z (Pb 0.86, plastic 0.14 by mass)
Z_PB, Z_SCINT = 82.0, 3.5
E_HAT = 1.0 / (1.0 + 0.007 * (Z_PB - Z_SCINT))   # Grindhammer-Peters e/mip
SAMPLING_CELL_CM = 0.122             # fibre layer pitch (bic.xml EcalBarrel_FiberZSpacing)
F_S = X0_CM / SAMPLING_CELL_CM       # GFlash "sampling frequency" X0_eff / d
SAMPLING_FRACTION = 0.09285755       # EICrecon BEMC.cc
MIP_VISIBLE_GEV_PER_CM = 0.000875    # visible (fibre) energy of a MIP per cm of Pb/ScFi

# ------------------------------------------------------------- AstroPix imaging layers
PIXEL_CM = 0.05                      # 500 um pixels (bic.xml EcalBarrelImagingHits readout)
SI_MIP_MPV_GEV = 140e-6              # most probable MIP loss in 500 um Si (PDG: ~0.28 keV/um)
SI_MIP_WIDTH_GEV = 14e-6             # Landau width ~ 0.1 x MPV for 500 um
SI_THRESHOLD_GEV = 15e-6             # EICrecon BEMC.cc imaging threshold: 41 ADC = 15 keV
STAVE_X0 = 0.017                     # Si 650 um + Cu 100 um + kapton + epoxy + 0.5 mm carbon


def multiple_scattering_angle(p_gev: np.ndarray | float, x_over_x0: np.ndarray | float
                              ) -> np.ndarray:
    """Highland's plane-projected RMS angle (PDG RPP eq. 34.16), radians."""
    x = np.maximum(np.asarray(x_over_x0, dtype=float), 1e-9)
    return 0.0136 / np.asarray(p_gev, dtype=float) * np.sqrt(x) * (1.0 + 0.038 * np.log(x))


def radial_depth_x0(thickness_cm: float) -> float:
    """Pb/ScFi thickness in radiation lengths at normal incidence."""
    return thickness_cm / X0_CM


assert math.isclose(E_HAT, 0.645, abs_tol=0.005)
