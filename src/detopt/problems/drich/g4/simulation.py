"""One Geant4 session per process: the run manager, the particle gun, the sensor hits.

Geant4's run manager is a process-wide singleton, so a process simulates one design; detopt runs
each Geant4 evaluation in a child process (:mod:`.step`), which also keeps a Geant4 abort from
taking the worker down. Python sees only *detected* photons: the sensor surface applies the
detection efficiency and G4OpBoundaryProcess then invokes the sensitive detector (InvokeSD).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..geometry import Design
from ..optics import Optics
from .detector import DrichVolumes, Overlap, check_overlaps
from .env import import_geant4
from .physics import apply_optical_settings, make_physics_list

PARTICLES = {"pi": "pi+", "K": "kaon+", "p": "proton"}
#: creator volume of a photon -> code stored with each hit
ORIGINS = {"aerogel": 0, "gas": 1, "filter": 2, "air_gap": 3}
ORIGIN_OTHER = 4
HIT_COLUMNS = ("event", "x", "y", "z", "vx", "vy", "vz", "ux", "uy", "uz", "energy_ev", "origin",
               "sector")

_SESSION: Geant4Session | None = None


@dataclass
class Photons:
    """Photon creation points of a counting run (generated photons, all killed at birth)."""

    event: np.ndarray
    position: np.ndarray  #: cm
    energy_ev: np.ndarray


class Geant4Session:
    """Geant4 set up for one design: geometry, data-free physics, gun and sensors."""

    def __init__(self, design: Design, optics: Optics):
        global _SESSION
        if _SESSION is not None:
            raise RuntimeError("Geant4 runs one design per process (its run manager is a "
                               "singleton); use detopt.problems.drich.g4.step in a child process")
        g4 = import_geant4()
        self.g4: ModuleType = g4
        self.design = design
        self.hits: list[tuple] = []
        self.counting = False
        self.photons: list[tuple] = []
        self.deltas: list[tuple] = []
        self._event = 0
        self._gun_state: dict[str, Any] = {}
        self.run_manager = g4.G4RunManagerFactory.CreateRunManager(g4.G4RunManagerType.Serial)
        session = self

        class Detector(g4.G4VUserDetectorConstruction):
            def Construct(self) -> Any:
                session.volumes = DrichVolumes(g4, design, optics)
                return session.volumes.world

            def ConstructSDandField(self) -> None:
                sd = SensorSD("drich_sensors")
                session._sd = sd
                g4.G4SDManager.GetSDMpointer().AddNewDetector(sd)
                for lv in session.volumes.sensor_lvs:
                    self.SetSensitiveDetector(lv, sd)

        class SensorSD(g4.G4VSensitiveDetector):
            def ProcessHits(self, step: Any, history: Any) -> bool:
                track = step.GetTrack()
                if track.GetDefinition().GetParticleName() != "opticalphoton":
                    return False
                post = step.GetPostStepPoint()
                p, v = post.GetPosition(), track.GetVertexPosition()
                u = track.GetVertexMomentumDirection()
                origin = ORIGINS.get(track.GetLogicalVolumeAtVertex().GetName(), ORIGIN_OTHER)
                sector = post.GetTouchable().GetCopyNumber(1)  # the PDU assembly's copy
                session.hits.append((session._event, p.x, p.y, p.z, v.x, v.y, v.z, u.x, u.y, u.z,
                                     track.GetTotalEnergy(), origin, sector))
                return True

        class Gun(g4.G4VUserPrimaryGeneratorAction):
            def __init__(self) -> None:
                super().__init__()
                self.gun = g4.G4ParticleGun(1)
                self.gun.SetParticlePosition(g4.G4ThreeVector(0, 0, 0))

            def GeneratePrimaries(self, event: Any) -> None:
                st = session._gun_state
                i = event.GetEventID()
                session._event = i
                g4.HepRandom.setTheSeeds([int(st["seeds"][i, 0]), int(st["seeds"][i, 1]), 0])
                d = st["directions"][i]
                self.gun.SetParticleDefinition(st["definition"])
                self.gun.SetParticleEnergy(st["kinetic"])
                self.gun.SetParticleMomentumDirection(g4.G4ThreeVector(*map(float, d)))
                self.gun.GeneratePrimaryVertex(event)

        class Stacking(g4.G4UserStackingAction):
            """Counting runs only: record photon creation points and delta electrons, kill
            both (a production run has no stacking action: no Python call per photon)."""

            def ClassifyNewTrack(self, track: Any) -> Any:
                name = track.GetDefinition().GetParticleName()
                if name == "opticalphoton":
                    p = track.GetPosition()
                    session.photons.append((session._event, p.x, p.y, p.z,
                                            track.GetTotalEnergy()))
                    return g4.fKill
                if name == "e-" and track.GetParentID() == 1:
                    p, u = track.GetPosition(), track.GetMomentumDirection()
                    session.deltas.append((session._event, p.x, p.y, p.z, u.x, u.y, u.z,
                                           track.GetKineticEnergy()))
                    return g4.fKill
                return g4.fUrgent

        class Actions(g4.G4VUserActionInitialization):
            def Build(self) -> None:
                self.SetUserAction(Gun())
                if session.counting:
                    self.SetUserAction(Stacking())

        self._classes = (Detector, SensorSD, Gun, Stacking, Actions)
        self._detector, self._physics = Detector(), make_physics_list(g4)
        self._actions = Actions()
        self.run_manager.SetUserInitialization(self._detector)
        self.run_manager.SetUserInitialization(self._physics)
        self._initialized = False
        _SESSION = self

    def _initialize(self, counting: bool) -> None:
        if self._initialized:
            if counting != self.counting:
                raise RuntimeError("a session either counts photons or records hits")
            return
        self.counting = counting
        self.run_manager.SetUserInitialization(self._actions)
        g4 = self.g4
        apply_optical_settings(g4)
        for cmd in ("/run/verbose 0", "/event/verbose 0", "/tracking/verbose 0",
                    "/control/verbose 0", "/process/verbose 0", "/process/em/verbose 0"):
            g4.G4UImanager.GetUIpointer().ApplyCommand(cmd)
        self.run_manager.Initialize()
        self._initialized = True

    def overlaps(self) -> list[Overlap]:
        """Geant4's overlap check on every placement (builds the geometry if needed)."""
        self._initialize(self.counting)
        return check_overlaps(self.volumes)

    def _beam(self, species: str, p_gev: float, directions: np.ndarray, seeds: np.ndarray
              ) -> None:
        g4 = self.g4
        definition = g4.G4ParticleTable.GetParticleTable().FindParticle(PARTICLES[species])
        mass = definition.GetPDGMass()
        p = float(p_gev) * g4.GeV
        self._gun_state = {
            "definition": definition, "kinetic": float(np.hypot(p, mass) - mass),
            "directions": np.asarray(directions, float),
            "seeds": np.asarray(seeds, dtype=np.int64)}
        self.run_manager.BeamOn(int(len(directions)))

    def run(self, species: str, p_gev: float, directions: np.ndarray, seeds: np.ndarray
            ) -> dict[str, np.ndarray]:
        """Shoot one particle per direction from the IP; return the detected hits as columns
        (lengths in cm, energy in eV; ``event`` indexes ``directions``)."""
        self._initialize(False)
        self.hits = []
        self._beam(species, p_gev, directions, seeds)
        g4 = self.g4
        rows = np.array(self.hits, dtype=float).reshape(-1, len(HIT_COLUMNS))
        cols = {name: rows[:, i] for i, name in enumerate(HIT_COLUMNS)}
        for key in ("x", "y", "z", "vx", "vy", "vz"):
            cols[key] = cols[key] / g4.cm
        cols["energy_ev"] = cols["energy_ev"] / g4.eV
        for key in ("event", "origin", "sector"):
            cols[key] = cols[key].astype(np.int64)
        return cols

    def count(self, species: str, p_gev: float, directions: np.ndarray, seeds: np.ndarray
              ) -> tuple[Photons, np.ndarray]:
        """Counting run: every generated Cherenkov photon (killed at birth), and the delta
        electrons of the primary as rows (event, x, y, z [cm], ux, uy, uz, T [MeV])."""
        self._initialize(True)
        self.photons, self.deltas = [], []
        self._beam(species, p_gev, directions, seeds)
        g4 = self.g4
        ph = np.array(self.photons, dtype=float).reshape(-1, 5)
        de = np.array(self.deltas, dtype=float).reshape(-1, 8)
        de[:, 1:4] /= g4.cm
        de[:, 7] /= g4.MeV
        return Photons(ph[:, 0].astype(np.int64), ph[:, 1:4] / g4.cm, ph[:, 4] / g4.eV), de
