"""Turning a configuration into a runnable :class:`~detopt.study.Study`: new or resumed.

A new study stores its validated configuration; a resumed one is rebuilt from that stored copy,
so it continues with the same problem, optimizer and runner even if the YAML file changed or
is gone. Stop rules and concurrency can be changed on resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from detopt.config import (
    StudyConfig,
    build_problem,
    load_config,
    parse_config,
    storage_target,
    study_settings,
)
from detopt.errors import StorageError
from detopt.optimizers.base import make_optimizer
from detopt.runners import make_runner
from detopt.storage import Storage, storage_url
from detopt.study import Study
from detopt.task import resolve


def _assemble(config: StudyConfig, storage: Storage, record: Any | None,
              with_runner: bool = True) -> Study:
    problem = build_problem(config)
    if problem.evaluation is None:
        resolve(problem.function)  # an unimportable evaluation is a config error, before any trial
    settings = study_settings(config)
    optimizer = make_optimizer(config.optimizer.name, problem.space, problem.objectives,
                               seed=config.optimizer.seed, options=config.optimizer.options)
    settings.check(problem)
    runner = make_runner(config.runner.kind, config.runner.options()) if with_runner else None
    try:
        if record is None:
            for i, design in enumerate(config.study.initial_designs):
                problem.space.validate_design(design, field_prefix=f"study.initial_designs[{i}]")
            study = Study.create(config.name, problem, optimizer, runner, storage, settings,
                                 config.model_dump(mode="json"), workdir=_workdir(config, problem))
            study.enqueue(config.study.initial_designs, generator="initial")
        else:
            study = Study(config.name, problem, optimizer, runner, storage, settings, record,
                          workdir=_workdir(config, problem))
    except BaseException:
        if runner is not None:
            runner.close()
        raise
    study.config = config
    return study


def _workdir(config: StudyConfig, problem: Any) -> Path:
    """The study's work directory: the evaluation's own choice, else ``work/<name>`` next to
    the configuration file."""
    chosen = getattr(problem.evaluation, "workdir", None)
    if chosen is not None:
        return Path(chosen)
    return Path(config.base_dir or ".").resolve() / "work" / config.name


def new_study(config: StudyConfig | str | Path) -> Study:
    """Create the study a configuration describes; fails if its name is already stored."""
    if not isinstance(config, StudyConfig):
        config = load_config(config)
    storage = Storage(storage_target(config))
    if storage.get_study(config.name) is not None:
        storage.close()
        raise StorageError(f"study {config.name!r} already exists in {storage_target(config)}.",
                           field="name", fix="continue it with 'detopt resume', or change 'name'")
    return _assemble(config, storage, None)


def locate_storage(target: str | Path) -> tuple[str, str | None]:
    """``(storage URL, study name or None)`` from a YAML file, a database file or a URL."""
    text = str(target)
    if Path(text).suffix in (".yaml", ".yml"):
        config = load_config(text)
        return storage_target(config), config.name
    if "://" not in text and not Path(text).is_file():
        raise StorageError(f"no such storage file: {text}.", field="CONFIG_OR_STORAGE",
                           fix="give the study's YAML file, its .db file, or a database URL")
    return storage_url(text), None


def resume_study(target: str | Path, name: str | None = None,
                 overrides: Mapping[str, Any] | None = None, *, read_only: bool = False) -> Study:
    """Reopen a stored study.

    Args:
        target: the study's YAML file, or the storage (database path or URL).
        name: study name; needed with a storage that holds several studies.
        overrides: new values for the ``study`` section (e.g. ``max_trials``), and for
            ``runner`` under the key ``"runner"``.
        read_only: open without a runner (for status, export and reports).
    """
    url, file_name = locate_storage(target)
    name = name or file_name
    storage = Storage(url)
    try:
        studies = storage.list_studies()
        if name is None:
            if len(studies) != 1:
                names = ", ".join(s.name for s in studies) or "none"
                raise StorageError(f"the storage holds {len(studies)} studies ({names}).",
                                   field="--study", fix="name the study with --study NAME")
            name = studies[0].name
        record = storage.get_study(name)
        if record is None:
            raise StorageError(f"no study named {name!r} in {url}.", field="--study",
                               fix="check the name with 'detopt status " + str(target) + "'")
        stored = dict(record.config)
        for key, value in (overrides or {}).items():
            if key == "runner":
                stored["runner"] = {**stored.get("runner", {}), **value}
            elif value is not None:
                stored.setdefault("study", {})[key] = value
        return _assemble(parse_config(stored), storage, record, with_runner=not read_only)
    except BaseException:
        storage.close()
        raise
