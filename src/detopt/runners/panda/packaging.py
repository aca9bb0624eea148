"""The source tarball a PanDA job unpacks into its work directory (the PanDA cache copy).

Why detopt builds it and not iDDS: iDDS 2.6.21 tars ``source_dir`` with no default excludes
(logs, old job directories and virtual environments went in), its directory excludes only work
when ``source_dir`` is the current directory, and it writes to a hard-coded ``/tmp``. The PanDA
cache refuses files over 10 MB (panda-client's ``NO_BUILD_LIMIT``) only after the upload was
tried. Here the excludes are explicit, the archive is built where the runner says, and an
oversized tree fails before anything is uploaded or submitted, naming its largest files.
"""

from __future__ import annotations

import fnmatch
import os
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detopt.errors import ConfigError

#: the PanDA cache limit for files whose name does not start with ``sources.`` (panda-client 2.2.0)
CACHE_LIMIT_BYTES = 10 * 1024 * 1024

#: never shipped: version control, virtual environments, caches, study databases, logs, outputs
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", ".tox", ".nox", "__pycache__",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints", "node_modules",
    "*.egg-info", "build", "dist",
    "*.db", "*.db-wal", "*.db-shm", "*.db-journal", "*.sqlite", "*.sqlite3",
    "*.log", "logs", "log",
    "outputs", "output", "results", "detopt-slurm", "detopt-panda", "detopt-jobs",
    "*.root", "*.tar.gz", "*.tgz", "*.pyc",
)


@dataclass(frozen=True)
class SourceArchive:
    """A built tarball and what went into it."""

    path: Path
    size: int
    files: int


def _excluded(name: str, rel: str, patterns: Sequence[str]) -> bool:
    """A file or directory is excluded when its name or its path relative to the source
    directory matches a glob pattern."""
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def collect(source_dir: Path, excludes: Iterable[str] = ()) -> list[tuple[Path, str, int]]:
    """``(absolute path, archive name, size)`` of every file that would be shipped."""
    patterns = tuple(DEFAULT_EXCLUDES) + tuple(excludes)
    out: list[tuple[Path, str, int]] = []
    for root, dirs, files in os.walk(source_dir, followlinks=False):
        rel_root = os.path.relpath(root, source_dir)
        rel_root = "" if rel_root == "." else rel_root
        dirs[:] = sorted(d for d in dirs if not _excluded(d, os.path.join(rel_root, d), patterns)
                         and not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            rel = os.path.join(rel_root, name)
            path = Path(root) / name
            if _excluded(name, rel, patterns) or not path.is_file():
                continue
            out.append((path, rel, path.stat().st_size))
    return out


def _largest(files: list[tuple[Path, str, int]], n: int = 5) -> str:
    top = sorted(files, key=lambda f: f[2], reverse=True)[:n]
    return ", ".join(f"{rel} ({size / 1e6:.1f} MB)" for _, rel, size in top)


def build_archive(source_dir: str | Path, dest: str | Path, excludes: Iterable[str] = (),
                  limit: int = CACHE_LIMIT_BYTES) -> SourceArchive:
    """Tar ``source_dir`` into ``dest`` (gzip), refusing trees over ``limit`` bytes.

    Raises:
        ConfigError: the directory is missing, empty, or its archive exceeds ``limit``; the
            message names the largest files and the ``excludes`` option.
    """
    source = Path(source_dir).resolve()
    if not source.is_dir():
        raise ConfigError(f"source_dir {str(source)!r} is not a directory.",
                          field="runner.source_dir", fix="give the folder holding your code")
    files = collect(source, excludes)
    if not files:
        raise ConfigError(f"source_dir {str(source)!r} has no files to ship.",
                          field="runner.source_dir", fix="point it at the folder holding your code")
    raw = sum(size for _, _, size in files)
    if raw > 4 * limit:  # hopeless even with good compression: fail before spending time on gzip
        raise _too_large(source, raw, files, limit, compressed=False)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for path, rel, _ in files:
            tar.add(path, arcname=rel, recursive=False)
    size = tmp.stat().st_size
    if size > limit:
        tmp.unlink()
        raise _too_large(source, size, files, limit, compressed=True)
    os.replace(tmp, dest)
    return SourceArchive(dest, size, len(files))


def _too_large(source: Path, size: int, files: list[tuple[Path, str, int]], limit: int,
               compressed: bool) -> ConfigError:
    what = "the compressed archive" if compressed else "the files"
    return ConfigError(
        f"{what} of {str(source)!r} take {size / 1e6:.1f} MB, over the PanDA cache limit of "
        f"{limit / 1e6:.0f} MB; largest: {_largest(files)}.", field="runner.source_dir",
        fix="add them to runner.excludes (glob patterns) or point source_dir at a smaller folder")


__all__ = ["CACHE_LIMIT_BYTES", "DEFAULT_EXCLUDES", "SourceArchive", "build_archive", "collect"]
