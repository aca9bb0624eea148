"""Data-free Geant4 environment: what must be set before ``import geant4_pybind``.

geant4-pybind ships no data sets. At import it runs a data check that asks on stdin to download
2 GB of data (or downloads by itself when ``CI=true``) unless ``GEANT4_DATA_DIR`` is set; the
nuclide table aborts without ``G4ENSDFSTATEDATA/ENSDFSTATE.dat``, and ``G4DecayPhysics`` without
``G4LEVELGAMMADATA`` (shared/reference/geant4.md). The physics list used here needs none of the
data, so empty stand-ins are enough. :func:`import_geant4` sets them in the calling process (the
worker that runs the simulation), so nothing depends on the caller's shell or on test scripts.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType

from detopt.errors import ConfigError

#: what the Geant4 fidelity needs, as (module, pip requirement)
REQUIREMENTS = (("geant4_pybind", "geant4-pybind==0.1.3"), ("pyarrow", "pyarrow"))
INSTALL_HINT = "pip install 'detopt[geant4]'"


def require_geant4(field: str = "problem.options.fidelity") -> None:
    """Raise a one-line ConfigError naming what to install if the ``geant4`` extra is missing.

    Uses ``find_spec`` so that checking does not import Geant4 into the driver process.
    """
    missing = [req for module, req in REQUIREMENTS if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(f"fidelity 'geant4' needs {' and '.join(missing)}, which is not "
                          f"installed.", field=field, fix=f"{INSTALL_HINT}, or use fidelity 'fast'")


def data_free_directory() -> Path:
    """A per-user directory holding the empty stand-ins of the Geant4 data sets."""
    root = Path(os.environ.get("DETOPT_GEANT4_DATA_STUB")
                or Path(tempfile.gettempdir()) / f"detopt-geant4-nodata-{os.getuid()}")
    for sub in ("data", "ENSDFSTATE", "PhotonEvaporation", "G4EMLOW"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "ENSDFSTATE" / "ENSDFSTATE.dat").touch()  # empty: no excited ion states needed
    return root


def prepare_environment() -> dict[str, str]:
    """Set the variables that make ``import geant4_pybind`` work without data (idempotent).

    Variables the user already set are kept (a real data installation wins). Returns what was
    set, for the record and for child processes.
    """
    root = data_free_directory()
    wanted = {
        "GEANT4_DATA_DIR": str(root / "data"),
        "G4ENSDFSTATEDATA": str(root / "ENSDFSTATE"),
        "G4LEVELGAMMADATA": str(root / "PhotonEvaporation"),
        "G4LEDATA": str(root / "G4EMLOW"),
    }
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in wanted}


def import_geant4() -> ModuleType:
    """``geant4_pybind``, imported after :func:`prepare_environment` (raises ConfigError if the
    extra is missing)."""
    require_geant4()
    prepare_environment()
    return importlib.import_module("geant4_pybind")
