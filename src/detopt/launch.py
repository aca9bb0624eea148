"""Turning a configuration into a runnable :class:`~detopt.study.Study`: new, resumed, or a
read-only view.

A new study stores its validated configuration and a plain-data record of its problem; a
resumed one is rebuilt from the stored configuration, so it continues with the same problem,
optimizer and runner even if the YAML file changed or is gone. Stop rules and concurrency can
be changed on resume. A read-only view (status, export, report) is rebuilt from the record
alone: no optimizer, no runner, no import of the study's own code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from detopt.config import StudyConfig, assemble, load_config, parse_config, storage_target
from detopt.errors import StorageError
from detopt.storage import Storage, StudyRecord, storage_url
from detopt.study import Study

#: key of the problem record inside a study's stored configuration
RECORD_KEY = "problem_record"


def _build(config: StudyConfig, storage: Storage, record: StudyRecord | None) -> Study:
    from detopt.problem_record import describe
    from detopt.runners import runner_class

    parts = assemble(config)
    runner = runner_class(config.runner.kind)(parts.runner_options)
    try:
        if record is None:
            stored = config.model_dump(mode="json")
            stored[RECORD_KEY] = describe(parts.problem, parts.reference_point)
            study = Study.create(config.name, parts.problem, parts.optimizer, runner, storage,
                                 parts.settings, stored)
            study.enqueue(parts.settings.initial_designs, generator="initial")
        else:
            if RECORD_KEY not in record.config:  # stored by an older detopt
                storage.set_study_config(record.id, {
                    **record.config, RECORD_KEY: describe(parts.problem, parts.reference_point)})
            study = Study(config.name, parts.problem, parts.optimizer, runner, storage,
                          parts.settings, record)
    except BaseException:
        runner.close()
        raise
    study.config = config
    return study


def new_study(config: StudyConfig | str | Path) -> Study:
    """Create the study a configuration describes; fails if its name is already stored."""
    if not isinstance(config, StudyConfig):
        config = load_config(config)
    storage = Storage(storage_target(config))
    try:
        if storage.get_study(config.name) is not None:
            raise StorageError(f"study {config.name!r} already exists in {storage.safe_url}.",
                               field="name", fix="continue it with 'detopt resume', or change 'name'")
        return _build(config, storage, None)
    except BaseException:
        storage.close()
        raise


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


def find_record(storage: Storage, name: str | None, target: str | Path) -> StudyRecord:
    """The stored study ``name`` (or the only one)."""
    if name is None:
        studies = storage.list_studies()
        if len(studies) != 1:
            names = ", ".join(s.name for s in studies) or "none"
            raise StorageError(f"the storage holds {len(studies)} studies ({names}).",
                               field="--study", fix="name the study with --study NAME")
        return studies[0]
    record = storage.get_study(name)
    if record is None:
        raise StorageError(f"no study named {name!r} in {storage.safe_url}.", field="--study",
                           fix=f"list the studies with 'detopt status {target}'")
    return record


def stored_config(record: StudyRecord) -> StudyConfig:
    """The configuration a study was created with (its problem record set aside)."""
    data = {k: v for k, v in record.config.items() if k != RECORD_KEY}
    return parse_config(migrate(data))


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration stored by an earlier detopt, in today's vocabulary (renamed options)."""
    from detopt.runners.base import RENAMED_OPTIONS

    out = dict(data)
    runner = dict(out.get("runner") or {})
    for old, new in RENAMED_OPTIONS.items():
        if old in runner and new not in runner:
            runner[new] = runner.pop(old)
    out["runner"] = runner
    problem = dict(out.get("problem") or {})
    if isinstance(problem.get("resources"), Mapping):  # stored before Resources was the schema
        res = dict(problem["resources"])
        if "memory_mb" in res and "memory" not in res:
            res["memory"] = res.pop("memory_mb")
        problem["resources"] = {k: v for k, v in res.items() if v is not None}
        out["problem"] = problem
    return out


def resume_study(target: str | Path, name: str | None = None,
                 overrides: Mapping[str, Any] | None = None) -> Study:
    """Reopen a stored study to run it again.

    Args:
        target: the study's YAML file, or the storage (database path or URL).
        name: study name; needed with a storage that holds several studies.
        overrides: new values for the ``study`` section (e.g. ``max_trials``), and for
            ``runner`` under the key ``"runner"``.
    """
    url, file_name = locate_storage(target)
    storage = Storage(url)
    try:
        record = find_record(storage, name or file_name, target)
        config = stored_config(record)
        changes = {k: v for k, v in (overrides or {}).items() if k != "runner" and v is not None}
        if changes:
            config.study = config.study.updated(**changes)
        if changes.get("max_trials") is not None:
            existing = sum(storage.count_by_status(record.id).values())
            if changes["max_trials"] < existing:
                raise StorageError(f"the study already has {existing} trials; a budget of "
                                   f"{changes['max_trials']} would be below that.",
                                   field="--max-trials", fix=f"give at least {existing}")
        if (overrides or {}).get("runner"):
            config.runner = type(config.runner).model_validate(
                {**config.runner.model_dump(), **overrides["runner"]})
        study = _build(config, storage, record)
        if changes or (overrides or {}).get("runner"):  # status shows the current settings
            current = dict(storage.get_study(record.name).config)  # type: ignore[union-attr]
            current["study"] = config.study.model_dump(mode="json")
            current["runner"] = config.runner.model_dump(mode="json")
            storage.set_study_config(record.id, current)
        return study
    except BaseException:
        storage.close()
        raise


def open_readonly(target: str | Path, name: str | None = None) -> Study:
    """A stored study for reading (status, export, report): its trials, problem and
    hypervolume, without optimizer or runner, and without importing the study's code."""
    url, file_name = locate_storage(target)
    storage = Storage(url)
    try:
        record = find_record(storage, name or file_name, target)
        return readonly_study(storage, record)
    except BaseException:
        storage.close()
        raise


def readonly_study(storage: Storage, record: StudyRecord) -> Study:
    """The read-only :class:`Study` of a stored record (see :func:`open_readonly`)."""
    from detopt.problem_record import problem_from_record

    config = stored_config(record)
    problem_data = record.config.get(RECORD_KEY)
    if problem_data is not None:
        problem = problem_from_record(problem_data)
    else:  # stored by detopt 0.1 before records existed: only detopt's own problems rebuild
        if config.problem.builtin is None:
            raise StorageError("this study was stored by an older detopt without a problem "
                               "record, and its problem is the study's own code.",
                               field="CONFIG_OR_STORAGE",
                               fix="open it with 'detopt resume' once (that writes the record)")
        from detopt.config import build_problem

        problem = build_problem(config)
    study = Study(config.name, problem, None, None, storage, config.study, record)
    study.config = config
    return study
