"""Simulation of one scan point (momentum, eta bin, radiator) for one particle species.

Chain: tracks -> photons (aerogel, plus gas at gas points) -> optical trace -> reconstruction
under the point's radiator hypothesis -> AID2E angle window -> per-track sums.
At aerogel points gas photons are not simulated: they reconstruct at ~37 mrad under the
aerogel hypothesis, far outside the 150-220 mrad window, so they cannot change the metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .geometry import Design
from .optics import Optics
from .photons import Tracks, aerogel_photons, gas_photons, make_tracks
from .presets import Preset
from .reconstruction import assumed_emission, reconstruct_theta
from .rng import Stream
from .tracer import Hits, TraceStats, trace

MASSES = {"pi": 0.13957039, "K": 0.493677, "p": 0.93827208816}
SPECIES_ID = {"pi": 1, "K": 2, "p": 3}
AEROGEL, GAS = 0, 1
#: AID2E reference indices and angle windows [rad]
NREF_AEROGEL_AID2E = 1.019
NREF_GAS = 1.00076
WINDOW_AEROGEL = (0.150, 0.220)
WINDOW_GAS = (0.020, 0.050)
P_SMEAR = 30


@dataclass(frozen=True)
class ScanPoint:
    """A (momentum, eta bin, radiator) point of the AID2E scan."""

    p: float
    eta: tuple[float, float]
    radiator: int

    @property
    def label(self) -> str:
        rad = "aerogel" if self.radiator == AEROGEL else "gas"
        return f"{rad}_p{self.p:g}_eta{self.eta[0]:g}-{self.eta[1]:g}"


#: the current AID2E scan (reference 1.3): two aerogel points at 15 GeV/c, two gas points at 45
AID2E_SCAN = (
    ScanPoint(15.0, (1.5, 2.0), AEROGEL),
    ScanPoint(15.0, (2.0, 2.5), AEROGEL),
    ScanPoint(45.0, (2.5, 3.0), GAS),
    ScanPoint(45.0, (3.0, 3.5), GAS),
)


def aerogel_reference_index(aerogel_n400: float) -> float:
    """Reference index of the aerogel hypothesis: AID2E's 1.019 at the nominal n(400) = 1.0193,
    scaled with (n - 1) (i.e. with density) for other aerogels."""
    return 1.0 + (aerogel_n400 - 1.0) * (NREF_AEROGEL_AID2E - 1.0) / 0.0193


def window(radiator: int, nref: float) -> tuple[float, float]:
    """Angle window of the AID2E metric; the aerogel window follows the reference index."""
    if radiator == GAS:
        return WINDOW_GAS
    shift = math.acos(1.0 / nref) - math.acos(1.0 / NREF_AEROGEL_AID2E)
    return WINDOW_AEROGEL[0] + shift, WINDOW_AEROGEL[1] + shift


@dataclass
class Sample:
    """One species at one scan point: per-track sums and (optionally) per-hit details."""

    point: ScanPoint
    species: str
    tracks: Tracks
    event: np.ndarray  #: track has a PID object (crosses the radiator)
    nref: float
    theta_exp: float  #: expected angle with the fixed reference index
    n_win: np.ndarray  #: photons in the window, per track
    sum_theta: np.ndarray
    sum_abs: np.ndarray  #: sum of |theta - theta_exp| over window photons
    theta: np.ndarray = field(repr=False)  #: all reconstructed hits
    hit_track: np.ndarray = field(repr=False)
    in_window: np.ndarray = field(repr=False)
    hits: list[Hits] = field(default_factory=list, repr=False)
    stats: TraceStats = field(default_factory=TraceStats)


def make_optics(design: Design, preset: Preset) -> Optics:
    """Optics of a design under a preset."""
    return Optics(
        aerogel_set=preset.aerogel_set,
        aerogel_n400=design.aerogel_index,
        pde_curve=preset.pde_curve,
        chromatic=preset.effects.chromatic,
        aerogel_nref=aerogel_reference_index(design.aerogel_index),
        gas_nref=NREF_GAS,
        aerogel_yield_scale=preset.aerogel_yield_scale,
        aerogel_pole_nm=preset.aerogel_pole_nm,
    )


def simulate(design: Design, preset: Preset, point: ScanPoint, species: str, n_tracks: int,
             seed: int, *, point_id: int = 0, paired: bool = True, keep_hits: bool = False,
             ) -> Sample:
    """Simulate ``n_tracks`` tracks of ``species`` at ``point``.

    With ``paired`` the track and photon random numbers do not depend on the species, so the two
    species of a pair see the same kinematics and photon draws (variance reduction of the
    separation; the bootstrap then resamples tracks jointly).
    """
    optics = make_optics(design, preset)
    sid = 0 if paired else SPECIES_ID[species]
    track_stream = Stream(seed, point_id, sid, 7)
    tracks = make_tracks(track_stream, n_tracks, point.p, MASSES[species], point.eta, preset)
    stats = TraceStats()

    a_stream = Stream(seed, point_id, sid, AEROGEL)
    photons_a, crosses = aerogel_photons(design, optics, preset, tracks, a_stream)
    batches = [(trace(design, optics, preset, photons_a, a_stream, stats), a_stream)]
    if point.radiator == GAS:
        g_stream = Stream(seed, point_id, sid, GAS)
        photons_g = gas_photons(design, optics, tracks, g_stream)
        batches.append((trace(design, optics, preset, photons_g, g_stream, stats), g_stream))
        event = np.ones(n_tracks, dtype=bool)
    else:
        event = crosses

    sample = summarize(design, preset, optics, point, species, tracks, event,
                       [HitBatch(h.photons.track, h.photons.slot, h.position, h.sector,
                                 h.photons.emission, stream) for h, stream in batches])
    sample.hits = [h for h, _ in batches] if keep_hits else []
    sample.stats = stats
    return sample


@dataclass
class HitBatch:
    """Detected photons of one radiator (or one Geant4 run), as the reconstruction needs them."""

    track: np.ndarray  #: index of the parent track
    slot: np.ndarray  #: photon number within the track (counter key of its random numbers)
    position: np.ndarray  #: measured (pixelised) hit position, frame of the hit's sector (n, 3)
    sector: np.ndarray  #: sector of the hit relative to the track's sector
    emission: np.ndarray  #: true emission point, global frame (n, 3)
    stream: Stream  #: random numbers of the calibration smearing


def summarize(design: Design, preset: Preset, optics: Optics, point: ScanPoint, species: str,
              tracks: Tracks, event: np.ndarray, batches: list[HitBatch]) -> Sample:
    """Reconstruct the hits of one species at one point and sum them per track: the part of the
    chain that both fidelities (fast trace and Geant4) share."""
    n_tracks = len(tracks)
    nref = optics.aerogel_nref if point.radiator == AEROGEL else optics.gas_nref
    assumed = assumed_emission(design, tracks.measured, point.radiator, preset.irt_attenuation)
    smear = preset.extra_smear_aerogel if point.radiator == AEROGEL else preset.extra_smear_gas
    thetas, owners = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
    for batch in batches:
        emission = assumed[batch.track] if preset.effects.emission else batch.emission
        th = reconstruct_theta(design, point.radiator, batch.position, batch.sector,
                               tracks.measured[batch.track], emission, optics.aerogel_nref,
                               optics.gas_nref)
        if smear > 0 and th.size:
            th = th + smear * batch.stream.normal(batch.stream.keys(batch.track, batch.slot),
                                                  P_SMEAR)
        thetas.append(th)
        owners.append(batch.track)
    theta = np.concatenate(thetas)
    owner = np.concatenate(owners).astype(np.int64)
    lo, hi = window(point.radiator, nref)
    win = (theta > lo) & (theta < hi) & event[owner]
    theta_exp = math.acos(1.0 / (nref * tracks.beta)) if nref * tracks.beta > 1.0 else float("nan")
    n_win = np.bincount(owner[win], minlength=n_tracks).astype(float)
    s_theta = np.bincount(owner[win], weights=theta[win], minlength=n_tracks)
    s_abs = np.bincount(owner[win], weights=np.abs(theta[win] - theta_exp), minlength=n_tracks)
    return Sample(point, species, tracks, event, nref, theta_exp, n_win, s_theta, s_abs, theta,
                  owner, win)
