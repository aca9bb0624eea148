"""A physics list that runs without any Geant4 data set (shared/reference/geant4.md).

DecayPhysics + EmStandardPhysics + OpticalPhysics, then every process of e-, e+ and gamma except
Transportation is removed before the physics tables are built: their standard models need
G4EMLOW (Seltzer-Berger bremsstrahlung). Hadron and muon EM physics (ionisation, multiple
scattering, bremsstrahlung, pair production) needs no data, so pi, K and p are transported
properly, and G4Cerenkov, which limits its steps with the particle's range, works. The price:
delta electrons are produced but get no physics (no Cherenkov light of their own, no energy
loss); docs/drich.md quantifies what that leaves out.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

#: optical-physics settings, applied as UI commands before initialisation (the bindings do not
#: expose G4OpticalParameters); InvokeSD makes G4OpBoundaryProcess call the sensor's SD for
#: photons detected by the surface EFFICIENCY, so Python sees detected photons only
OPTICAL_COMMANDS = (
    "/process/optical/processActivation Scintillation false",
    "/process/optical/processActivation OpWLS false",
    "/process/optical/processActivation OpWLS2 false",
    "/process/optical/processActivation OpMieHG false",
    "/process/optical/cerenkov/setMaxPhotons 100",
    "/process/optical/cerenkov/setMaxBetaChange 10",
    "/process/optical/cerenkov/setTrackSecondariesFirst true",
    "/process/optical/boundary/setInvokeSD true",
)
STRIPPED = ("e-", "e+", "gamma")


def make_physics_list(g4: ModuleType) -> Any:
    """The data-free physics list (an instance of a G4VModularPhysicsList subclass)."""

    class DataFreeOpticalPhysics(g4.G4VModularPhysicsList):
        def __init__(self) -> None:
            super().__init__()
            self.SetVerboseLevel(0)
            self._constructors = [g4.G4DecayPhysics(), g4.G4EmStandardPhysics(),
                                  g4.G4OpticalPhysics()]
            for constructor in self._constructors:
                self.RegisterPhysics(constructor)

        def ConstructProcess(self) -> None:
            super().ConstructProcess()
            table = g4.G4ParticleTable.GetParticleTable()
            for name in STRIPPED:
                manager = table.FindParticle(name).GetProcessManager()
                for process in list(manager.GetProcessList()):
                    if process.GetProcessName() != "Transportation":
                        manager.RemoveProcess(process)

    return DataFreeOpticalPhysics()


def apply_optical_settings(g4: ModuleType) -> None:
    """Set the optical-physics parameters (call after the physics list exists)."""
    ui = g4.G4UImanager.GetUIpointer()
    for command in OPTICAL_COMMANDS:
        ui.ApplyCommand(command)  # the binding returns no status; the tests check the effects
