"""Geant4 fidelity of one design: Geant4 hits -> detopt's reconstruction -> the objectives.

The tracks are the fast model's (same seed, same eta/phi, same smeared "measured" direction);
Geant4 replaces photon generation, radiator transport, mirror and sensors. Everything after the
hit -- pixel, calibration knobs of the preset, reconstruction, window, metric -- is the code the
fast model runs (:func:`..scan.summarize`), so the two fidelities give the same objectives.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import geometry as geo
from ..geometry import Design, rotate_z
from ..model import _Samples, check_names, compute_objectives
from ..photons import aerogel_crossing, make_tracks
from ..presets import Preset, get_preset
from ..rng import Stream
from ..scan import AEROGEL, MASSES, HitBatch, Sample, ScanPoint, make_optics, summarize
from ..tracer import pixelate
from .detector import Overlap
from .simulation import Geant4Session

#: stream ids of the Geant4 fidelity's random numbers (fast model: 0, 1 and 7)
G4_SEEDS, G4_RECO = 0x6E4, 0x6E5
P_YIELD = 40  #: purpose code: aerogel collection scale of the calibrated preset


class Geant4Simulator:
    """Callable with the signature of :func:`..scan.simulate`, backed by one Geant4 session."""

    def __init__(self, design: Design, preset: Preset):
        self.design, self.preset = design, preset
        self.optics = make_optics(design, preset)
        self.session = Geant4Session(design, self.optics)
        self.raw: list[dict[str, Any]] = []  #: raw Geant4 hits per (point, species) run
        self.seconds = 0.0  #: time spent in Geant4 runs
        self.events = 0

    def overlaps(self) -> list[Overlap]:
        return self.session.overlaps()

    def __call__(self, design: Design, preset: Preset, point: ScanPoint, species: str,
                 n_tracks: int, seed: int, *, point_id: int = 0, paired: bool = True,
                 **_: Any) -> Sample:
        sid = 0 if paired else {"pi": 1, "K": 2, "p": 3}[species]
        tracks = make_tracks(Stream(seed, point_id, sid, 7), n_tracks, point.p, MASSES[species],
                             point.eta, preset)
        seed_stream = Stream(seed, point_id, sid, G4_SEEDS)
        keys = seed_stream.keys(np.arange(n_tracks))
        # Geant4 event seeds: shared by the species of a pair (common random numbers)
        seeds = np.column_stack([(seed_stream.uniform(keys, q) * 2**31).astype(np.int64) + 1
                                 for q in (0, 1)])
        start = time.perf_counter()
        hits = self.session.run(species, point.p, tracks.direction, seeds)
        self.seconds += time.perf_counter() - start
        self.events += n_tracks
        self.raw.append({"point": point_id, "species": species, **hits})
        batch = self.batch(hits, seed, point_id, sid)
        event = aerogel_crossing(design, tracks) if point.radiator == AEROGEL else \
            np.ones(n_tracks, dtype=bool)
        return summarize(design, preset, self.optics, point, species, tracks, event, [batch])

    def batch(self, hits: Mapping[str, np.ndarray], seed: int, point_id: int, sid: int
              ) -> HitBatch:
        """Geant4 hits as the reconstruction's input: sector frame, pixel, calibration."""
        track = np.asarray(hits["event"], dtype=np.int64)
        order = np.argsort(track, kind="stable")
        track = track[order]
        # photon number within its track: the counter key of its random numbers
        starts = np.searchsorted(track, track, side="left")
        slot = np.arange(track.size) - starts
        sector = np.asarray(hits["sector"], dtype=np.int64)[order]
        pos = np.column_stack([hits["x"], hits["y"], hits["z"]])[order]
        vtx = np.column_stack([hits["vx"], hits["vy"], hits["vz"]])[order]
        pos = rotate_z(pos, -sector * geo.SECTOR)  # into the frame of the sector that saw it
        rel = (sector + 3) % 6 - 3  # tracks are generated in sector 0
        stream = Stream(seed, point_id, sid, G4_RECO)
        keys = stream.keys(track, slot)
        keep = np.ones(track.size, dtype=bool)
        if self.preset.aerogel_yield_scale != 1.0:
            aerogel = np.asarray(hits["origin"])[order] == 0
            keep &= ~aerogel | (stream.uniform(keys, P_YIELD) < self.preset.aerogel_yield_scale)
        if self.preset.effects.pixel and pos.size:
            pos = pixelate(self.design, self.preset, pos, keys, stream)
        return HitBatch(track[keep], slot[keep], pos[keep], rel[keep], vtx[keep], stream)


def evaluate_in_process(params: Mapping[str, float] | None, *, preset: str | Preset,
                        tracks_per_point: int, seed: int, objectives: Sequence[str] | None,
                        sem: str = "bootstrap", paired_species: bool = True
                        ) -> tuple[dict[str, tuple[float, float]], list[Overlap], Geant4Simulator,
                                   _Samples]:
    """Overlap check, then the objectives at Geant4 fidelity, in this process (one design per
    process). Returns (objectives, overlaps, simulator, samples); no objectives if it overlaps."""
    design = Design.from_params(params)
    preset_obj = get_preset(preset)
    names = check_names(objectives)
    sim = Geant4Simulator(design, preset_obj)
    overlaps = sim.overlaps()
    samples = _Samples(design, preset_obj, int(tracks_per_point), int(seed), paired_species,
                       simulator=sim)
    if overlaps:
        return {}, overlaps, sim, samples
    return compute_objectives(samples, names, sem, int(seed)), overlaps, sim, samples

