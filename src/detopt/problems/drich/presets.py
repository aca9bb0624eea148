"""Model presets: ``pure`` (first principles) and ``aid2e_calibrated`` (3 knobs, reference 4.11).

The calibrated preset stands in for effects the pure model lacks (IRT details, magnetic field,
real tracking): it scales the aerogel photon collection by 0.83 and adds per-photon Gaussian
smearing of 1.05 mrad (aerogel) and 0.72 mrad (gas). These three numbers are the only tuning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from detopt.errors import DetoptError

from . import tables


@dataclass(frozen=True)
class Effects:
    """Switches of the per-photon error sources (all on for physics; off for error budgets)."""

    chromatic: bool = True  #: n(lambda) dispersion (off: n = reference index for all photons)
    emission: bool = True  #: reconstruct with an assumed emission point (off: the true point)
    pixel: bool = True  #: pixel-size position error on the sensor
    tracking: bool = True  #: smearing of the measured track direction
    scattering: bool = True  #: Rayleigh scattering in the aerogel

    @classmethod
    def only(cls, name: str | None) -> Effects:
        """All effects off except ``name`` (None: all off)."""
        flags = {f: False for f in cls.__dataclass_fields__}
        if name is not None:
            if name not in flags:
                raise DetoptError(f"unknown effect '{name}'.", field="effect",
                                  fix=f"use one of {sorted(flags)}.")
            flags[name] = True
        return cls(**flags)


@dataclass(frozen=True)
class Preset:
    """Fixed (non-optimised) configuration of the model."""

    name: str
    aerogel_yield_scale: float = 1.0  #: calibration: aerogel collection scale
    extra_smear_aerogel: float = 0.0  #: calibration: extra per-photon smearing [rad]
    extra_smear_gas: float = 0.0  #: calibration: extra per-photon smearing [rad]
    aerogel_set: str = "n1019"  #: aerogel optical tables: "n1019" (24.x) or "n1026" (2025+)
    pde_curve: str = "s13361"  #: SiPM PDE: "s13361" (24.x) or "sipm75" (2025)
    pixel_size: float = 0.3  #: active pixel side [cm]
    tracking_const: float = 0.3e-3  #: track-direction resolution, constant term [rad]
    tracking_msc: float = 3.0e-3  #: track-direction resolution, multiple scattering [rad GeV/c]
    aerogel_pole_nm: float = 90.0  #: aerogel Sellmeier pole (90: reference; ~100: ePIC table fit)
    irt_attenuation: float = 4.8  #: attenuation length for the assumed aerogel emission depth [cm]
    effects: Effects = field(default_factory=Effects)

    def with_options(self, **overrides: Any) -> Preset:
        """A copy with some fields replaced (validated)."""
        unknown = set(overrides) - set(self.__dataclass_fields__)
        if unknown:
            raise DetoptError(
                f"unknown preset option(s) {sorted(unknown)}.", field="preset_options",
                fix=f"use fields of Preset: {sorted(self.__dataclass_fields__)}.",
            )
        new = replace(self, **overrides)
        new.validate()
        return new

    def validate(self) -> None:
        """Check the table names (raises DetoptError)."""
        if self.aerogel_set not in tables.AEROGEL_SETS:
            raise DetoptError(f"unknown aerogel set '{self.aerogel_set}'.", field="aerogel_set",
                              fix=f"use one of {sorted(tables.AEROGEL_SETS)}.")
        if self.pde_curve not in tables.PDE_CURVES:
            raise DetoptError(f"unknown PDE curve '{self.pde_curve}'.", field="pde_curve",
                              fix=f"use one of {sorted(tables.PDE_CURVES)}.")


PRESETS: dict[str, Preset] = {
    "pure": Preset("pure"),
    "aid2e_calibrated": Preset(
        "aid2e_calibrated", aerogel_yield_scale=0.83, extra_smear_aerogel=1.05e-3,
        extra_smear_gas=0.72e-3,
    ),
}


def get_preset(preset: str | Preset) -> Preset:
    """Look up a preset by name (or pass a Preset through)."""
    if isinstance(preset, Preset):
        preset.validate()
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise DetoptError(
            f"unknown dRICH preset '{preset}'.", field="preset",
            fix=f"use one of {sorted(PRESETS)}.",
        ) from None
