"""The BIC design parameters and the radial layout they define.

The layout follows ePIC's ``compact/ecal/bic/bic.xml`` (2024): inner radius 82 cm, a 0.5 cm
aluminium front support, six 1.7 cm imaging slots (one AstroPix stave layer each; layer 1 is
always on, layers 2-6 are the study's switches), five Pb/ScFi layers of 2.196 cm between them
and seven 2.074 cm Pb/ScFi layers behind (12 ScFi readout layers, 25.56 cm = 17.6 X0 in
total). The continuous geometry parameter is the thickness of the five Pb/ScFi layers inside
the imaging section; the total Pb/ScFi depth is held at ePIC's (a fixed radial envelope), so
thicker imaging radiators leave a thinner bulk section.

Depths are in radiation lengths *at normal incidence*; a track at pseudorapidity eta crosses
every radial layer ``cosh(eta)`` times deeper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from detopt.errors import DetoptError

from . import materials as mat

R_MIN_CM = 82.0
FRONT_SUPPORT_X0 = 0.5 / 8.897          # 0.5 cm aluminium (X0 = 8.897 cm)
SLOT_CM = 1.7                           # EcalBarrel_ImagingLayerThickness
SPACE_CM = 0.001                        # EcalBarrel_SpaceBetween
TOTAL_SCFI_CM = 5 * 2.196 + 7 * 2.074 + 0.061
N_IMAGING = 6
N_SCFI = 12
N_BULK = N_SCFI - (N_IMAGING - 1)
#: material in front of the BIC at eta = 0, lumped at one radius (tracker ~0.05 X0 and the
#: hpDIRC bars + box ~0.2 X0; an assumption of this model, see docs/bic.md)
UPSTREAM_X0 = 0.25
UPSTREAM_R_CM = 72.0

SWITCHES = tuple(f"enable_staves_{k}" for k in range(2, 7))
PARAMETERS: tuple[dict[str, Any], ...] = (
    *({"name": s, "kind": "choice", "values": (0, 1), "nominal": n,
       "description": f"AstroPix stave layer {s[-1]} on (1) or off (0)"}
      for s, n in zip(SWITCHES, (0, 1, 1, 0, 1))),
    {"name": "capacityADC", "kind": "int", "low": 4096, "high": 65536, "log": True,
     "nominal": 16384, "unit": "counts", "description": "ScFi ADC capacity (EICrecon capADC)"},
    {"name": "dynamicRangeADC", "kind": "float", "low": 1000.0, "high": 2000.0, "nominal": 1500.0,
     "unit": "MeV", "description": "ScFi ADC dynamic range (EICrecon dyRangeADC, visible energy)"},
    {"name": "imaging_radiator_thickness", "kind": "float", "low": 1.2, "high": 3.2,
     "nominal": 2.196, "unit": "cm",
     "description": "thickness of each of the 5 Pb/ScFi layers between imaging layers"},
)
NOMINAL: dict[str, Any] = {p["name"]: p["nominal"] for p in PARAMETERS}
_SPECS = {p["name"]: p for p in PARAMETERS}


@dataclass(frozen=True)
class Design:
    """One BIC design: stave switches, ScFi readout, imaging radiator thickness."""

    staves: tuple[bool, ...]            # layers 1..6 (layer 1 always True)
    capacity_adc: int
    dynamic_range_gev: float
    radiator_cm: float

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Design:
        """Build from parameter values; missing ones take :data:`NOMINAL`.

        Raises:
            DetoptError: an unknown parameter or a value out of range.
        """
        values = dict(NOMINAL)
        for name, value in (params or {}).items():
            if name not in _SPECS:
                raise DetoptError(f"unknown BIC parameter {name!r}.", field=f"params.{name}",
                                  fix=f"use one of: {', '.join(_SPECS)}")
            spec = _SPECS[name]
            if spec["kind"] == "choice":
                if value not in spec["values"]:
                    raise DetoptError(f"{value!r} is not 0 or 1.", field=f"params.{name}",
                                      fix="switch the stave layer on (1) or off (0)")
            elif not spec["low"] <= float(value) <= spec["high"]:
                raise DetoptError(f"{value} is outside [{spec['low']}, {spec['high']}].",
                                  field=f"params.{name}", fix="give a value inside the bounds")
            values[name] = value
        return cls(staves=(True, *(bool(int(values[s])) for s in SWITCHES)),
                   capacity_adc=int(round(float(values["capacityADC"]))),
                   dynamic_range_gev=float(values["dynamicRangeADC"]) / 1000.0,
                   radiator_cm=float(values["imaging_radiator_thickness"]))

    @property
    def n_staves(self) -> int:
        """Enabled stave layers, layer 1 included (AID2E's cost is this number)."""
        return int(sum(self.staves))

    @property
    def lsb_gev(self) -> float:
        """Visible energy of one ADC count."""
        return self.dynamic_range_gev / self.capacity_adc


@dataclass(frozen=True)
class Layout:
    """Radii and normal-incidence depths of every element of one design."""

    sensor_depth: np.ndarray      # (6,) X0 from the start of the upstream material
    sensor_radius: np.ndarray     # (6,) cm
    enabled: np.ndarray           # (6,) bool
    scfi_start: np.ndarray        # (12,) X0
    scfi_end: np.ndarray          # (12,) X0
    scfi_r_in: np.ndarray         # (12,) cm
    scfi_r_out: np.ndarray        # (12,) cm
    scfi_cm_start: np.ndarray     # (12,) cm of Pb/ScFi before the layer (for lambda_I)
    scfi_cm_end: np.ndarray       # (12,) cm

    @property
    def scfi_mid_radius(self) -> np.ndarray:
        return 0.5 * (self.scfi_r_in + self.scfi_r_out)


def layout(design: Design, upstream_x0: float = UPSTREAM_X0) -> Layout:
    """The radial stack of ``design`` (see the module docstring); depths count from the start
    of the ``upstream_x0`` of material in front of the calorimeter."""
    bulk_cm = (TOTAL_SCFI_CM - 5 * design.radiator_cm) / N_BULK
    thick = [design.radiator_cm] * (N_IMAGING - 1) + [bulk_cm] * N_BULK
    t = upstream_x0 + FRONT_SUPPORT_X0
    r = R_MIN_CM + 0.5
    sensor_depth, sensor_radius = [], []
    s0, s1, r0, r1, c0, c1 = [], [], [], [], [], []
    cm = 0.0
    for j in range(N_SCFI):
        if j < N_IMAGING:
            sensor_depth.append(t)
            sensor_radius.append(r + 0.5 * SLOT_CM)
            if design.staves[j]:
                t += mat.STAVE_X0
            r += SLOT_CM + SPACE_CM
        s0.append(t)
        r0.append(r)
        c0.append(cm)
        t += thick[j] / mat.X0_CM
        r += thick[j]
        cm += thick[j]
        s1.append(t)
        r1.append(r)
        c1.append(cm)
    if len(sensor_depth) < N_IMAGING:  # pragma: no cover - 6 slots precede layer 6
        raise AssertionError("layout lost an imaging slot")
    return Layout(np.array(sensor_depth), np.array(sensor_radius), np.array(design.staves),
                  np.array(s0), np.array(s1), np.array(r0), np.array(r1), np.array(c0),
                  np.array(c1))
