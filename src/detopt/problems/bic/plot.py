"""A picture of one BIC design: the layer stack with one shower, and the longitudinal profiles.

One PNG with two panels: (left) the r-z section of the calorimeter around a single 5 GeV
electron at eta = 0.3: the material in front, the aluminium support, the six imaging slots
(enabled staves in blue, disabled ones dashed), the twelve Pb/ScFi readout layers shaded by
the energy the shower left in them, and the AstroPix hits of that electron in every enabled
layer; (right) the mean energy per ScFi layer and the mean hits per imaging layer of 5 GeV
electrons and pions (the e/pi separation the rejection objective uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import geometry as geo
from .geometry import Design, layout
from .imaging import layer_hits
from .physics import DEFAULT, Physics
from .readout import layer_energies
from .rng import Draws
from .showers import simulate

ENERGY, ETA = 5.0, 0.3


def _one_event(design: Design, ph: Physics, seed: int):
    lay = layout(design, ph.upstream_x0)
    draws = Draws(seed, "electron", 900, 1)
    smp = simulate(lay, ph, "electron", ENERGY, draws, (ETA, ETA + 1e-9))
    energies = layer_energies(smp, design, ph, draws)[0]
    hits = [layer_hits(smp, lay, ph, draws, np.array([k])) if lay.enabled[k] else None
            for k in range(geo.N_IMAGING)]
    return lay, energies, hits


def _profiles(design: Design, ph: Physics, seed: int, n: int = 400):
    lay = layout(design, ph.upstream_x0)
    out = {}
    for species in ("electron", "pion"):
        draws = Draws(seed, species, 901, n)
        smp = simulate(lay, ph, species, ENERGY, draws, (-0.5, 0.5))
        out[species] = (layer_energies(smp, design, ph, draws).mean(axis=0) / ENERGY,
                        smp.counts.mean(axis=0))
    return lay, out


def _stack(ax, lay, energies, hits) -> None:
    from matplotlib.patches import Rectangle

    z_lo, z_hi = lay.sensor_radius[0] * np.sinh(ETA) - 14, lay.scfi_r_out[-1] * np.sinh(ETA) + 14
    ax.axvline(geo.UPSTREAM_R_CM, color="0.5", lw=3, alpha=0.5, label="tracker + DIRC (lumped)")
    ax.add_patch(Rectangle((geo.R_MIN_CM, z_lo), 0.5, z_hi - z_lo, color="0.6", label="Al support"))
    e_max = max(float(energies.max()), 1e-9)
    cmap = __import__("matplotlib").colormaps["YlOrBr"]
    for j in range(geo.N_SCFI):
        shade = cmap(0.15 + 0.85 * energies[j] / e_max)
        ax.add_patch(Rectangle((lay.scfi_r_in[j], z_lo), lay.scfi_r_out[j] - lay.scfi_r_in[j],
                               z_hi - z_lo, facecolor=shade, edgecolor="0.4", lw=0.4,
                               label="Pb/ScFi (shade: energy)" if j == 0 else None))
    for k in range(geo.N_IMAGING):
        r = lay.sensor_radius[k]
        on = bool(lay.enabled[k])
        ax.add_patch(Rectangle((r - geo.SLOT_CM / 2, z_lo), geo.SLOT_CM, z_hi - z_lo,
                               facecolor="#9ecae1" if on else "white", edgecolor="#3182bd",
                               ls="-" if on else "--", lw=0.8,
                               label=("AstroPix stave on" if k == 0 else None) if on else
                               ("stave off" if k == int(np.argmin(lay.enabled)) else None)))
        ax.text(r, z_hi - 1.5, f"L{k + 1}", ha="center", fontsize=7, color="#08519c")
        if hits[k] is not None:
            z, _, dep, valid = (a[0] for a in hits[k])
            ax.scatter(np.full(int(valid.sum()), r), z[valid], s=4 + 2e4 * dep[valid],
                       color="#e6550d", zorder=5, label="hits" if k == 0 else None)
    r = np.linspace(geo.UPSTREAM_R_CM - 5, lay.scfi_r_out[-1] + 2, 10)
    ax.plot(r, r * np.sinh(ETA), color="k", lw=0.8, ls=":", label=f"e- direction (eta {ETA})")
    ax.set(xlim=(geo.UPSTREAM_R_CM - 4, lay.scfi_r_out[-1] + 4), ylim=(z_lo, z_hi),
           xlabel="r [cm]", ylabel="z [cm]",
           title=f"r-z section, one {ENERGY:g} GeV electron: energy per layer and imaging hits")
    ax.legend(loc="lower right", fontsize=7)


def _profile_panel(ax, lay, profiles) -> None:
    ax2 = ax.twinx()
    x = np.arange(1, geo.N_SCFI + 1)
    for species, color in (("electron", "#3182bd"), ("pion", "#de2d26")):
        energy, counts = profiles[species]
        ax.step(x, energy, where="mid", color=color, label=f"{species}: E per ScFi layer / E")
        on = np.flatnonzero(lay.enabled)
        ax2.plot(on + 0.5, counts[on], "o--", color=color, ms=5, lw=0.8,
                 label=f"{species}: hits per enabled imaging layer")
    ax.set(xlabel="ScFi readout layer (imaging layer k sits before ScFi layer k)",
           ylabel="mean energy fraction",
           title=f"longitudinal profiles, {ENERGY:g} GeV, |eta| < 0.5")
    ax2.set_ylabel("mean charged crossings")
    ax2.set_yscale("log")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="upper right")


def draw_design(params: Mapping[str, Any] | None, path: str | Path, *, seed: int = 1,
                physics: Physics = DEFAULT) -> Path:
    """Draw the layer stack with one shower and the e/pi longitudinal profiles into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    design = Design.from_params(params)
    lay, energies, hits = _one_event(design, physics, seed)
    _, profiles = _profiles(design, physics, seed)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [1.2, 1]})
    _stack(ax1, lay, energies, hits)
    _profile_panel(ax2, lay, profiles)
    values = {**geo.NOMINAL, **dict(params or {})}
    staves = "".join(str(int(values[s])) for s in geo.SWITCHES)
    fig.suptitle(f"BIC design: staves 2-6 = {staves}, capacityADC = {int(values['capacityADC'])}, "
                 f"dynamicRangeADC = {float(values['dynamicRangeADC']):g} MeV, imaging radiator "
                 f"{float(values['imaging_radiator_thickness']):g} cm  (cost {design.n_staves})",
                 fontsize=10)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
