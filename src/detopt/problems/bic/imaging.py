"""AstroPix imaging layers: hits, pixels and the two quantities the objectives use.

* :func:`first_layer_eta` — AID2E's ``BICHitAngReso`` recipe: in the most upstream *enabled*
  layer that has a hit, take the most energetic pixel and compare its eta with the particle's.
  Only that layer's hits are generated with positions: the primary tracks (spread by multiple
  scattering in the material in front) and the shower particles (radius from the GFlash
  lateral profile at that depth, uniform azimuth). Each hit deposits a Landau (Moyal) energy
  with the MIP most probable value of 500 um silicon, scaled by the path length cosh(eta);
  hits in the same 500 um pixel add up; pixels below the threshold (15 keV) are dropped.
  Without a hit in any enabled layer (an unconverted photon with only layer 1 on) the eta comes
  from the ScFi cluster, whose z is measured by the time difference of the fibre ends.
* :func:`profile_features` — the longitudinal profile seen by the imaging layers for the pion
  rejection: log(1 + hits) in each enabled layer 2-6. An electron shower has many crossings
  from layer 2 on; a pion shows one MIP hit per layer until it interacts, and the EM shower of
  an interacting pion starts later (see :func:`metrics.fisher_direction`).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import gflash
from . import materials as mat
from .geometry import Layout
from .physics import Physics
from .rng import Draws
from .showers import Sample

MAX_HITS = 24   # hits generated in the first layer (the first hits of a shower are few)


def first_layer(sample: Sample, lay: Layout) -> np.ndarray:
    """Index (0-5) of the most upstream enabled layer with a hit, -1 when none."""
    hit = (sample.counts > 0) & lay.enabled[None, :]
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)


def layer_hits(sample: Sample, lay: Layout, ph: Physics, draws: Draws, k: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hits of imaging layer ``k[i]`` of every event i: (z, y, deposit, valid), ``(n, MAX_HITS)``;
    z along the beam on the layer's cylinder (cm), y along phi from the shower axis (cm)."""
    n = sample.n
    rows = np.arange(n)
    n_hits = np.minimum(sample.counts[rows, k], MAX_HITS).astype(int)
    n_prim = np.minimum(sample.primaries[rows, k], n_hits).astype(int)
    ceta = np.cosh(sample.eta)
    # shower particles: GFlash lateral profile at the plane's depth
    t_rel = np.maximum(lay.sensor_depth[k] * ceta - sample.em_start, 0.0)
    tmax = (sample.alpha - 1.0) / sample.beta
    r_core, r_tail, w_core = gflash.lateral(np.maximum(sample.em_energy, 1e-3), t_rel / tmax)
    u_r = draws.uniform("hit_r", MAX_HITS, 2)
    r_shower = np.where(u_r[..., 0] < w_core[:, None], r_core[:, None], r_tail[:, None])
    r_shower = gflash.sample_radius(r_shower, u_r[..., 1]) * mat.MOLIERE_CM
    phi = 2 * np.pi * draws.uniform("hit_phi", MAX_HITS)
    dz = r_shower * np.cos(phi) * ceta[:, None]        # on the cylinder, along z
    dy = r_shower * np.sin(phi)
    # primary tracks: Gaussian spread from multiple scattering
    sigma = sample.primary_sigma_cm[rows, k][:, None]
    zp = draws.normal("ms", MAX_HITS, 2) * sigma[..., None]
    j = np.arange(MAX_HITS)[None, :]
    is_prim = j < n_prim[:, None]
    dz = np.where(is_prim, zp[..., 0], dz)
    dy = np.where(is_prim, zp[..., 1], dy)
    valid = j < n_hits[:, None]
    # energies: Moyal (Landau) quantiles of fixed uniforms, path length cosh(eta)
    u_e = draws.uniform("hit_e", MAX_HITS)
    moyal = -2.0 * np.log(np.sqrt(2.0) * np.maximum(special.erfcinv(u_e), 1e-300))
    deposit = (mat.SI_MIP_MPV_GEV + mat.SI_MIP_WIDTH_GEV * moyal) * ceta[:, None]
    deposit = np.where(valid, np.maximum(deposit, 0.0), 0.0)
    z = lay.sensor_radius[k][:, None] * np.sinh(sample.eta)[:, None] + dz
    return z, dy, deposit, valid


def first_layer_eta(sample: Sample, lay: Layout, ph: Physics, draws: Draws
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(delta eta, imaging layer used) per event: the most energetic pixel of the most upstream
    enabled layer with a hit, or (layer -1) the ScFi cluster's position when no enabled layer
    has a hit (AID2E's recipe skips such events, which would make a design with fewer
    imaging layers look *better*)."""
    rows = np.arange(sample.n)
    layer = first_layer(sample, lay)
    ok = layer >= 0
    k = np.where(ok, layer, 0)
    radius = lay.sensor_radius[k]
    z, y, deposit, valid = layer_hits(sample, lay, ph, draws, k)
    # pixels: hits in one pixel add up
    off = draws.uniform("pixel", 2)
    iz = np.floor(z / ph.pixel_cm + off[:, :1])
    iy = np.floor(y / ph.pixel_cm + off[:, 1:])
    same = (iz[:, :, None] == iz[:, None, :]) & (iy[:, :, None] == iy[:, None, :])
    pixel_energy = np.einsum("nij,nj->ni", same, deposit)
    pixel_energy = np.where(valid & (pixel_energy > ph.si_threshold_gev), pixel_energy, -1.0)
    best = np.argmax(pixel_energy, axis=1)
    found = ok & (pixel_energy[rows, best] > 0)
    z_pix = (iz[rows, best] - off[:, 0] + 0.5) * ph.pixel_cm
    d_eta = np.arcsinh(z_pix / radius) - sample.eta
    # no imaging hit: the position comes from the ScFi cluster, z from the time difference of
    # the two fibre ends
    r_scfi = lay.scfi_mid_radius[2]
    sigma_z = ph.scfi_z_resolution_cm / np.sqrt(sample.energy)
    z_scfi = r_scfi * np.sinh(sample.eta) + sigma_z * draws.normal("fallback")
    d_eta_scfi = np.arcsinh(z_scfi / r_scfi) - sample.eta
    return np.where(found, d_eta, d_eta_scfi), np.where(found, layer, -1)


def profile_features(sample: Sample, lay: Layout) -> np.ndarray:
    """log(1 + crossings) of the enabled layers 2-6, ``(n, enabled)`` (layer 1 sits in front
    of every absorber and carries no e/pi information)."""
    mask = lay.enabled.copy()
    mask[0] = False
    return np.log1p(sample.counts[:, mask])
