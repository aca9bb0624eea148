"""Shared fixtures for tests that need the real services started by ``scripts/test.sh``.

Policy: a test that asks for a service whose environment variable is not set FAILS, with a message
telling to run ``scripts/test.sh`` -- a missing service must never pass silently as a skip. Set
``DETOPT_ALLOW_MISSING_SERVICES=1`` to skip such tests instead (e.g. a quick local run without services).

Fixtures:
  pg_url        SQLAlchemy URL of the PostgreSQL test database (DETOPT_TEST_PG_URL)
  dask_address  address of the Dask scheduler, ``tcp://127.0.0.1:18786`` (DETOPT_TEST_DASK_ADDRESS)
  slurm_env     environment for SLURM client calls (SLURM_CONF set; requires DETOPT_TEST_SLURM=1)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ALLOW_MISSING_ENV = "DETOPT_ALLOW_MISSING_SERVICES"


def require_service_env(var: str, service: str) -> str:
    """Return ``os.environ[var]``; fail (or skip, if allowed) with a clear message when it is unset."""
    value = os.environ.get(var, "").strip()
    if value:
        return value
    if os.environ.get(ALLOW_MISSING_ENV) == "1":
        pytest.skip(f"{service} not available: {var} is not set ({ALLOW_MISSING_ENV}=1)")
    pytest.fail(
        f"{service} is required but {var} is not set. Run the tests through scripts/test.sh, which "
        f"starts the real services and exports it (or set {ALLOW_MISSING_ENV}=1 to skip such tests).",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:15432/detopt_test``."""
    return require_service_env("DETOPT_TEST_PG_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def dask_address() -> str:
    """Address of the running Dask scheduler (2 workers, 1 thread each, using the repo's .venv)."""
    return require_service_env("DETOPT_TEST_DASK_ADDRESS", "Dask")


@pytest.fixture(scope="session")
def slurm_env() -> dict[str, str]:
    """A copy of ``os.environ`` for subprocesses calling sbatch/sacct/..., with SLURM_CONF checked.

    SLURM_CONF is already exported in the test process by scripts/test.sh, so libraries that shell
    out (submitit, the detopt SLURM runner) work too; this fixture only validates it.
    """
    require_service_env("DETOPT_TEST_SLURM", "SLURM")
    conf = require_service_env("SLURM_CONF", "SLURM")
    if not Path(conf).is_file():
        pytest.fail(f"SLURM_CONF={conf} does not exist; run the tests through scripts/test.sh", pytrace=False)
    if shutil.which("sbatch") is None:
        pytest.fail("sbatch is not on PATH; run the tests through scripts/test.sh", pytrace=False)
    return dict(os.environ)
