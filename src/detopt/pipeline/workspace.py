"""Work directories of a pipeline trial, log links, cleanup and the free-space check.

Layout, per attempt (a retried trial starts in a fresh folder; a resumed one continues in its
own)::

    <study workdir>/t<trial>/a<attempt>/
        design.json               the trial's parameters
        geometry/                 the trial's edited copy of the detector description
        <stage>/j<k>/             one folder per job: its files, stdout.txt, stderr.txt
        logs/<stage>.j<k>.stdout  links to every job's logs, in one place
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detopt.errors import TrialError
from detopt.pipeline.job import STDERR, STDOUT


class NotEnoughSpaceError(TrialError):
    """Too little free disk space to start a stage (retryable: space may be freed)."""


class Workspace:
    """The folders of one attempt of one trial."""

    def __init__(self, trial_dir: Path, attempt: int):
        self.trial_dir = Path(trial_dir)
        self.root = self.trial_dir / f"a{attempt}"
        self.logs = self.root / "logs"
        self.geometry = self.root / "geometry"

    def create(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def design_file(self) -> Path:
        return self.root / "design.json"

    def write_design(self, params: Mapping[str, Any]) -> None:
        """The trial's parameters as JSON (``{{ trial.design_file }}``), for programs that read
        a design file (AID2E's script steps do)."""
        tmp = self.design_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(dict(params), indent=1, default=str))
        tmp.replace(self.design_file)

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def job_dir(self, stage: str, k: int) -> Path:
        return self.stage_dir(stage) / f"j{k}"

    def prepare_job(self, stage: str, k: int, tries: int) -> Path:
        """Create the job's folder and log links; logs of an earlier try are kept as
        ``stdout.r<n>.txt``."""
        job = self.job_dir(stage, k)
        job.mkdir(parents=True, exist_ok=True)
        for name in (STDOUT, STDERR):
            old = job / name
            if old.exists() and tries > 1:
                old.replace(job / name.replace(".txt", f".r{tries - 1}.txt"))
            link = self.logs / f"{stage}.j{k}.{name.removesuffix('.txt')}"
            if not link.is_symlink():
                os.symlink(os.path.relpath(job / name, self.logs), link)
        return job

    def check_free_space(self, need_mb: int | None, stage: str) -> None:
        if not need_mb:
            return
        free_mb = shutil.disk_usage(self.root).free / 2**20
        if free_mb < need_mb:
            raise NotEnoughSpaceError(
                f"only {free_mb:.0f} MB free in {self.root}; stage {stage!r} needs "
                f"min_free_space {need_mb} MB. Free some space (or lower min_free_space)")

    def cleanup(self, patterns: Sequence[str]) -> int:
        """Remove files and folders matching ``patterns`` (globs relative to the attempt
        folder), never the job logs; returns how many entries were removed."""
        removed = 0
        for pattern in patterns:
            for path in sorted(self.root.glob(pattern), key=lambda p: -len(p.parts)):
                if path.name in (STDOUT, STDERR) or path.parent == self.logs or not path.exists():
                    continue
                if path.is_dir() and not path.is_symlink():
                    if any(p.name in (STDOUT, STDERR) for p in path.rglob("*")):
                        _remove_except_logs(path)
                    else:
                        shutil.rmtree(path)
                else:
                    path.unlink()
                removed += 1
        return removed


def _remove_except_logs(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        if path.name in (STDOUT, STDERR) or (path.name.startswith(("stdout.r", "stderr.r"))):
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink()
