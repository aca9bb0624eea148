"""Fixtures: the storage backends (SQLite and the real PostgreSQL) and a local runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from detopt.runners.local import LocalRunner


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on embedded SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def runner() -> Iterator[LocalRunner]:
    r = LocalRunner(workers=2)
    yield r
    r.close()
