"""Per-point physics reports: yields, resolutions, error budget and momentum reach.

These reproduce the validation tables of the reference (sections 5.2-5.5) and are what the
tests and docs/drich.md use; ``evaluate`` only needs the aggregated objectives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from . import metrics, reach
from .geometry import Design
from .model import POINTS
from .presets import Effects, Preset, get_preset
from .scan import AID2E_SCAN, MASSES, ScanPoint, simulate

EFFECTS = ("chromatic", "emission", "pixel", "tracking", "scattering")


def scan_report(params: Mapping[str, float] | None = None, *, preset: str | Preset = "pure",
                tracks_per_point: int = 2000, seed: int = 12345,
                points: Sequence[ScanPoint] = AID2E_SCAN, pair: tuple[str, str] = ("pi", "K")
                ) -> list[dict[str, Any]]:
    """Per scan point: photon yield, acceptance, resolutions (mrad) and both N-sigma definitions."""
    design, pre = Design.from_params(params), get_preset(preset)
    rows = []
    for point in points:
        pid = POINTS.index(point) if point in POINTS else 100 + len(rows)
        a = simulate(design, pre, point, pair[0], tracks_per_point, seed, point_id=pid)
        b = simulate(design, pre, point, pair[1], tracks_per_point, seed, point_id=pid)
        m = metrics.aid2e_pair(a, b, seed=seed + pid)
        dth = a.theta[a.in_window] - a.theta_exp
        rows.append({
            "point": point.label, "p": point.p, "eta": point.eta, "radiator": point.radiator,
            "n_window": m.n_mean[0], "n_window_b": m.n_mean[1], "acc": m.acc[0],
            "acc_pair": m.acceptance,
            "sigma_1pe_mrad": 1e3 * metrics.photon_core_width(a), "mae_mrad": 1e3 * m.mae[0],
            "bias_mrad": 1e3 * float(np.mean(dth)) if dth.size else float("nan"),
            "nsigma_aid2e": m.nsigma, "nsigma_aid2e_sem": m.nsigma_sem,
            "nsigma_track": metrics.per_track_nsigma(a, b),
            "photons_in_gas_per_track": a.stats.entering_gas / tracks_per_point,
            "photons_detected_per_track": a.stats.detected / tracks_per_point,
            "blocked_per_track": a.stats.blocked / tracks_per_point,
            "event_fraction": float(a.event.mean()),
        })
    return rows


def error_budget(params: Mapping[str, float] | None = None, *, point: ScanPoint = AID2E_SCAN[1],
                 preset: str | Preset = "pure", tracks_per_point: int = 2000, seed: int = 12345,
                 species: str = "pi", effects: Sequence[str | None] = (*EFFECTS, None, "all")
                 ) -> dict[str, float]:
    """Core single-photon width [mrad] with one effect on at a time (None: all off; "all": all on).

    With everything off the width measures the closure of the inverse solver (~0).
    """
    design, base = Design.from_params(params), get_preset(preset)
    out = {}
    for eff in effects:
        flags = Effects() if eff == "all" else Effects.only(eff)
        pre = base
        if eff != "all":
            pre = replace(base, effects=flags, extra_smear_aerogel=0.0, extra_smear_gas=0.0)
        smp = simulate(design, pre, point, species, tracks_per_point, seed)
        out["none" if eff is None else eff] = 1e3 * metrics.photon_core_width(smp)
    return out


def momentum_reach(params: Mapping[str, float] | None = None, *, preset: str | Preset = "pure",
                   tracks_per_point: int = 1000, seed: int = 12345,
                   pairs: Sequence[tuple[str, str]] = (("pi", "K"), ("K", "p")),
                   ) -> list[dict[str, Any]]:
    """3-sigma momentum reach [GeV/c] per radiator and eta bin (semi-analytic mode)."""
    design, pre = Design.from_params(params), get_preset(preset)
    rows = []
    for point in POINTS:
        smp = simulate(design, pre, point, "pi", tracks_per_point, seed,
                       point_id=POINTS.index(point))
        resp = reach.response(smp)
        row: dict[str, Any] = {
            "radiator": "aerogel" if point.radiator == 0 else "gas", "eta": point.eta,
            "n_ref": float(resp.n_ref), "sigma_1pe_mrad": 1e3 * float(resp.sigma_1pe),
            "sigma_x_mrad": 1e3 * float(resp.sigma_x),
        }
        for a, b in pairs:
            row[f"{a}/{b}"] = float(reach.reach(resp, MASSES[a], MASSES[b])[0])
        rows.append(row)
    return rows
