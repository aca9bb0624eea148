"""The :class:`Storage` facade: open a database by URL, read and write studies and trials.

Every write is its own short transaction, addressed by primary or unique key, so the cost of
storing a trial does not grow with the number of trials already stored. SQLite runs in WAL
mode with ``synchronous=NORMAL``: a committed write survives the death of the driver process,
and ``detopt status`` can read while a study runs.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from detopt.errors import StorageError
from detopt.storage import schema
from detopt.trial import Trial, TrialStatus


def _to_plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python numbers, non-finite floats to strings."""
    if isinstance(value, Mapping):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _json_dumps(value: Any) -> str:
    return json.dumps(_to_plain(value), separators=(",", ":"))


def storage_url(target: str | os.PathLike[str], base_dir: str | Path | None = None) -> str:
    """A SQLAlchemy URL from a URL or a file path (relative paths resolve against ``base_dir``).

    ``postgresql://`` URLs get the psycopg (v3) driver, the one detopt installs.
    """
    text = str(target)
    if "://" not in text:
        path = Path(text).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return f"sqlite:///{path.resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


@dataclass(frozen=True)
class StudyRecord:
    """A study row: identity, status and the configuration needed to resume it."""

    id: int
    name: str
    status: str
    stop_reason: str | None
    config: dict[str, Any]
    driver: str | None
    created_at: float
    updated_at: float


class Storage:
    """Studies and trials in a SQL database.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``) or a file path.
    """

    def __init__(self, url: str | os.PathLike[str]):
        self.url = storage_url(url)
        self.engine = self._create_engine(self.url)
        for attempt in range(5):
            try:
                schema.metadata.create_all(self.engine)
                break
            except SQLAlchemyError as exc:
                # another process (a driver, `detopt status`) may be creating the same tables
                # right now: its CREATE wins between our check and ours, so look again
                if "already exists" in str(exc) and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                self.engine.dispose()
                raise StorageError(f"cannot open storage {self._safe_url}: {_first_line(exc)}",
                                   field="storage", fix="check the URL, the server and permissions") from None

    @property
    def _safe_url(self) -> str:
        """The URL without a password, for messages."""
        head, sep, tail = self.url.partition("@")
        if not sep:
            return self.url
        scheme, _, credentials = head.partition("://")
        return f"{scheme}://{credentials.split(':')[0]}@{tail}"

    @staticmethod
    def _create_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, json_serializer=_json_dumps,
                                   connect_args={"timeout": 30, "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            return engine
        return create_engine(url, json_serializer=_json_dumps, pool_pre_ping=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------------------- studies
    def create_study(self, name: str, config: Mapping[str, Any]) -> StudyRecord:
        """Create a study; raises :class:`StorageError` if the name is taken."""
        from detopt import __version__

        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(schema.studies).values(
                    name=name, status="running", config=_to_plain(dict(config)),
                    schema_version=schema.SCHEMA_VERSION, detopt_version=__version__,
                    driver=_driver_id(), created_at=now, updated_at=now))
        except IntegrityError:
            raise StorageError(f"a study named {name!r} already exists in {self._safe_url}.",
                               field="name", fix="run 'detopt resume' to continue it, or pick "
                                                 "another name") from None
        record = self.get_study(name)
        assert record is not None
        return record

    def get_study(self, name: str) -> StudyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.studies).where(schema.studies.c.name == name)).first()
        return None if row is None else _study_from_row(row)

    def list_studies(self) -> list[StudyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.studies).order_by(schema.studies.c.id)).all()
        return [_study_from_row(r) for r in rows]

    def set_study_status(self, study_id: int, status: str, stop_reason: str | None = None,
                         claim: bool = False) -> None:
        values: dict[str, Any] = {"status": status, "stop_reason": stop_reason,
                                  "updated_at": time.time()}
        if claim:
            values["driver"] = _driver_id()
        with self.engine.begin() as conn:
            conn.execute(update(schema.studies).where(schema.studies.c.id == study_id).values(**values))

    # ----------------------------------------------------------------------------- trials
    def add_trials(self, study_id: int, trials: list[Trial]) -> None:
        """Insert new trials (one transaction)."""
        if not trials:
            return
        with self.engine.begin() as conn:
            conn.execute(_INSERT_TRIAL, [_trial_row(study_id, t) for t in trials])

    def save_trial(self, study_id: int, trial: Trial) -> None:
        """Write the current state of an existing trial."""
        with self.engine.begin() as conn:
            conn.execute(_UPDATE_TRIAL, _trial_update(study_id, trial))

    def finish_attempt(self, study_id: int, trial: Trial, outcome: str) -> None:
        """Write the trial and the record of the attempt that just ended, atomically."""
        with self.engine.begin() as conn:
            conn.execute(_UPDATE_TRIAL, _trial_update(study_id, trial))
            conn.execute(_INSERT_ATTEMPT, {
                "study_id": study_id, "trial_index": trial.index, "attempt": trial.attempts,
                "status": outcome, "error": trial.error, "traceback": trial.traceback,
                "runner_handle": trial.runner_handle, "logs": trial.logs or None,
                "started_at": trial.started_at,
                "finished_at": trial.finished_at or time.time()})

    def load_trials(self, study_id: int) -> list[Trial]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.trials).where(schema.trials.c.study_id == study_id)
                                .order_by(schema.trials.c.trial_index)).all()
        return [_trial_from_row(r) for r in rows]

    def load_attempts(self, study_id: int, trial_index: int | None = None) -> list[dict[str, Any]]:
        query = select(schema.attempts).where(schema.attempts.c.study_id == study_id)
        if trial_index is not None:
            query = query.where(schema.attempts.c.trial_index == trial_index)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(schema.attempts.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def load_trial_state(self, study_id: int, trial_index: int) -> dict[str, Any]:
        """What :meth:`save_trial_state` stored for the trial (``{}`` when nothing was)."""
        t = schema.trial_state
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.state).where(t.c.study_id == study_id,
                                                       t.c.trial_index == trial_index)).first()
        return dict(row[0]) if row is not None else {}

    def save_trial_state(self, study_id: int, trial_index: int, state: Mapping[str, Any]) -> None:
        """Replace the stored state of a trial (one transaction; safe from several threads)."""
        t = schema.trial_state
        values = {"state": _to_plain(dict(state)), "updated_at": time.time()}
        with self.engine.begin() as conn:
            done = conn.execute(update(t).where(t.c.study_id == study_id,
                                                t.c.trial_index == trial_index).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(t).values(study_id=study_id, trial_index=trial_index, **values))

    def count_by_status(self, study_id: int) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.trials.c.status, func.count())
                                .where(schema.trials.c.study_id == study_id)
                                .group_by(schema.trials.c.status)).all()
        return {status: count for status, count in rows}


# Statements built once: building them per call (``.values(**row)``) cost more than the write.
_UPDATE_TRIAL = update(schema.trials).where(
    schema.trials.c.study_id == bindparam("key_study"),
    schema.trials.c.trial_index == bindparam("key_index"))
_INSERT_TRIAL = insert(schema.trials)
_INSERT_ATTEMPT = insert(schema.attempts)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _driver_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _study_from_row(row: Any) -> StudyRecord:
    m = row._mapping
    return StudyRecord(id=m["id"], name=m["name"], status=m["status"], stop_reason=m["stop_reason"],
                       config=m["config"], driver=m["driver"], created_at=m["created_at"],
                       updated_at=m["updated_at"])


def _trial_row(study_id: int, t: Trial) -> dict[str, Any]:
    return {
        "study_id": study_id, "trial_index": t.index, "status": t.status.value,
        "params": _to_plain(t.params),
        "metrics": {k: [m, s] for k, (m, s) in t.metrics.items()} if t.metrics else None,
        "error": t.error, "traceback": t.traceback, "attempts": t.attempts,
        "runner_handle": t.runner_handle, "generator": t.generator, "penalized": t.penalized,
        "logs": t.logs or None,
        "created_at": t.created_at, "started_at": t.started_at, "finished_at": t.finished_at,
    }


def _trial_update(study_id: int, t: Trial) -> dict[str, Any]:
    row = _trial_row(study_id, t)
    del row["study_id"], row["trial_index"], row["params"], row["created_at"]  # never change
    row["key_study"], row["key_index"] = study_id, t.index
    return row


def _trial_from_row(row: Any) -> Trial:
    m = row._mapping
    metrics = {k: (float(v[0]), None if v[1] is None else float(v[1]))
               for k, v in (m["metrics"] or {}).items()}
    return Trial(index=m["trial_index"], params=dict(m["params"]), status=TrialStatus(m["status"]),
                 metrics=metrics, error=m["error"], traceback=m["traceback"],
                 attempts=m["attempts"], runner_handle=m["runner_handle"],
                 generator=m["generator"], penalized=bool(m["penalized"]), logs=dict(m["logs"] or {}),
                 created_at=m["created_at"], started_at=m["started_at"],
                 finished_at=m["finished_at"])
