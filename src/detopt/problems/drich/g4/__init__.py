"""The dRICH in real Geant4 (optional extra ``detopt[geant4]``).

Nothing here imports Geant4 at import time: :mod:`.env` sets up the data-free environment first,
in the process that runs the simulation.
"""

from .env import INSTALL_HINT, prepare_environment, require_geant4

__all__ = ["INSTALL_HINT", "prepare_environment", "require_geant4"]
