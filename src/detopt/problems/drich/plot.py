"""Pictures of one design: side view of a sector with traced photons, and the ring hit map.

One PNG with two panels: (left) the x-z plane of the sector on +x: vessel (snout cone, tank,
bore), sensor-box extrusion, aerogel and filter, mirror, sensor patch and a sample of traced
photon paths (emission -> radiator exit -> mirror -> sensor); (right) the hits on the sensor
patch seen along the beam (x-y of the sector), for bunches of tracks at eta 1.75, 2.25, 2.75,
3.25 (aerogel rings in blue, gas rings in red).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import geometry as geo
from .constraints import constraint_margins, patch_bounds, sensor_sphere_z
from .geometry import Design
from .photons import Tracks, aerogel_photons, gas_photons
from .presets import Preset, get_preset
from .rng import Stream
from .scan import MASSES, make_optics
from .tracer import trace

ETAS = (1.75, 2.25, 2.75, 3.25)


def _bunch(eta: float, n: int, p: float) -> Tracks:
    theta = 2.0 * np.arctan(np.exp(-eta))
    d = np.tile([np.sin(theta), 0.0, np.cos(theta)], (n, 1))
    return Tracks(p, MASSES["pi"], np.full(n, eta), d, d.copy())


def _traced(design: Design, preset: Preset, seed: int, tracks_per_bunch: int):
    """Hits of aerogel and gas photons for one bunch of identical tracks per eta."""
    optics = make_optics(design, preset)
    out = []
    for i, eta in enumerate(ETAS):
        for rad, p in ((0, 15.0), (1, 45.0)):
            tracks = _bunch(eta, tracks_per_bunch, p)
            stream = Stream(seed, 900 + i, rad)
            photons = aerogel_photons(design, optics, preset, tracks, stream)[0] if rad == 0 else \
                gas_photons(design, optics, tracks, stream)
            out.append((eta, rad, trace(design, optics, preset, photons, stream)))
    return out


def _side_view(ax, design: Design, traced, n_shown: int, rng: np.random.Generator) -> None:
    z = np.linspace(geo.Z_FRONT, geo.Z_BACK, 400)
    ax.plot(z, design.vessel_rmax(z) + geo.WALL, color="0.3", lw=1.5, label="vessel")
    ax.plot(z, geo.bore_radius(z), color="0.3", lw=1.5)
    ax.plot([geo.Z_FRONT, geo.Z_FRONT], [geo.BORE_R0, geo.SNOUT_R0], color="0.3", lw=1.5)
    ax.plot([geo.Z_BACK, geo.Z_BACK], [geo.BORE_R1, geo.TANK_R], color="0.3", lw=1.5)
    bz, br = geo.BOX_Z, geo.BOX_R
    ax.add_patch(_rect(bz[0], br[0], bz[1] - bz[0], br[1] + 1 - br[0], "0.85", "sensor box"))
    za, zb = geo.Z_AEROGEL, design.z_aerogel_back
    ax.add_patch(_rect(za, design.aerogel_rmin(za), zb - za,
                       design.aerogel_rmax(za) - design.aerogel_rmin(za), "#9ecae1", "aerogel"))
    ax.add_patch(_rect(design.z_filter_front, design.aerogel_rmin(zb), geo.FILTER,
                       design.aerogel_rmax(zb) - design.aerogel_rmin(zb), "#fdae6b", "filter"))
    c, r = design.mirror_center, design.mirror_radius
    x = np.linspace(geo.MIRROR_RMIN, geo.MIRROR_RMAX, 200)
    ax.plot(c[2] + np.sqrt(r**2 - (x - c[0]) ** 2), x, color="k", lw=2.5, label="mirror")
    r_lo, r_hi = patch_bounds(design, np.array([0.0]))
    if r_hi[0] > r_lo[0]:
        xs = np.linspace(r_lo[0], r_hi[0], 100)
        ax.plot(sensor_sphere_z(design, xs, np.zeros_like(xs)), xs, color="#2ca02c", lw=4,
                label="sensor patch")
    cs = design.sensor_center
    ang = np.linspace(0, 2 * np.pi, 400)
    ax.plot(cs[2] + design.sensor_radius * np.cos(ang), cs[0] + design.sensor_radius * np.sin(ang),
            color="#2ca02c", lw=0.5, ls=":")
    for eta in ETAS:
        th = 2.0 * np.arctan(np.exp(-eta))
        ax.plot([0, geo.Z_BACK], [0, geo.Z_BACK * np.tan(th)], color="0.5", lw=0.8, ls="--")
    segs = []
    for _, rad, hits in traced:
        keep = np.flatnonzero((hits.sector == 0) & ~hits.direct)
        for i in keep:
            ph = hits.photons
            pts = [ph.emission[i], ph.origin[i], hits.mirror_point[i], hits.true_position[i]]
            segs.append((rad, np.array(pts)))
    for j in rng.permutation(len(segs))[:n_shown]:
        rad, pts = segs[j]
        ax.plot(pts[:, 2], pts[:, 0], color="#1f77b4" if rad == 0 else "#d62728", lw=0.4, alpha=0.6)
    ax.set(xlim=(190, 325), ylim=(0, 190), xlabel="z [cm]", ylabel="x [cm] (sector mid-plane)",
           title="side view (sector on +x); blue: aerogel, red: gas photons")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=7)


def _rect(x, y, w, h, color, label):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=color, edgecolor="0.4", lw=0.5, label=label)


def _hit_map(ax, design: Design, traced) -> None:
    phi = np.linspace(-geo.PATCH_PHIW, geo.PATCH_PHIW, 121)
    r_lo, r_hi = patch_bounds(design, phi)
    ok = r_hi > r_lo
    if ok.any():
        ring = np.concatenate([r_lo[ok], r_hi[ok][::-1], r_lo[ok][:1]])
        ang = np.concatenate([phi[ok], phi[ok][::-1], phi[ok][:1]])
        ax.plot(ring * np.sin(ang), ring * np.cos(ang), color="#2ca02c", lw=1, label="sensor patch")
    for eta, rad, hits in traced:
        sel = hits.sector == 0
        pos = hits.position[sel]
        ax.scatter(pos[:, 1], pos[:, 0], s=2, color="#1f77b4" if rad == 0 else "#d62728", alpha=0.5,
                   label=f"{'aerogel' if rad == 0 else 'gas'}" if eta == ETAS[0] else None)
    etas = ", ".join(map(str, ETAS))
    ax.set(xlabel="y [cm]", ylabel="x [cm]", title=f"ring hit map on the sensors (eta {etas})")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)


def draw_design(params: Mapping[str, float] | None, path: str | Path, *,
                preset: str | Preset = "aid2e_calibrated",
                n_photons_shown: int = 300, seed: int = 12345, tracks_per_bunch: int = 25) -> Path:
    """Draw the side view and the ring hit map of a design into one PNG (two panels).

    Returns the path of the PNG. ``tracks_per_bunch`` identical tracks are traced at each of
    four eta values, so that the rings of the hit map are well populated.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    design, pre = Design.from_params(params), get_preset(preset)
    traced = _traced(design, pre, seed, tracks_per_bunch)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [1.35, 1]})
    _side_view(ax1, design, traced, n_photons_shown, np.random.default_rng(seed))
    _hit_map(ax2, design, traced)
    text = ", ".join(f"{k}={v:g}" for k, v in sorted((params or {}).items())) or "nominal design"
    violated = [k for k, v in constraint_margins(params).items() if v < 0]
    status = f"  INFEASIBLE: {', '.join(violated)}" if violated else ""
    fig.suptitle(f"dRICH design: {text}  (preset {pre.name}){status}", fontsize=10,
                 color="firebrick" if violated else "black")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
