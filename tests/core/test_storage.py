"""Storage on embedded SQLite and on a real PostgreSQL server (same code, same assertions)."""

import numpy as np
import pytest

from detopt.errors import StorageError
from detopt.storage import Storage, storage_url
from detopt.trial import Trial, TrialStatus

from studykit import unique_name


def test_round_trip_of_studies_trials_and_attempts(storage_url):
    name = unique_name()
    with Storage(storage_url) as storage:
        record = storage.create_study(name, {"problem": {"builtin": "dtlz2"}, "x": [1, 2]})
        assert record.status == "running" and record.config["x"] == [1, 2]
        trials = [Trial(index=i, params={"x1": np.float64(i / 10), "n": np.int64(i), "c": "a"})
                  for i in range(3)]
        storage.add_trials(record.id, trials)
        t = trials[1]
        t.status, t.attempts, t.runner_handle = TrialStatus.RUNNING, 1, "job-17"
        storage.save_trial(record.id, t)
        t.status, t.metrics, t.finished_at = TrialStatus.COMPLETED, {"f1": (0.5, 0.01), "f2": (2.0, None)}, 5.0
        storage.finish_attempt(record.id, t, "completed")
        with pytest.raises(StorageError, match="already exists"):
            storage.create_study(name, {})
    with Storage(storage_url) as again:  # a new connection sees everything
        record = again.get_study(name)
        loaded = {t.index: t for t in again.load_trials(record.id)}
        assert loaded[1].status == TrialStatus.COMPLETED
        assert loaded[1].metrics == {"f1": (0.5, 0.01), "f2": (2.0, None)}
        assert loaded[1].params == {"x1": 0.1, "n": 1, "c": "a"}
        assert loaded[1].runner_handle == "job-17" and loaded[1].attempts == 1
        assert loaded[0].status == TrialStatus.PENDING
        attempts = again.load_attempts(record.id, 1)
        assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "completed")]
        assert again.count_by_status(record.id) == {"pending": 2, "completed": 1}
        again.set_study_status(record.id, "finished", "trial budget reached")
        assert again.get_study(name).stop_reason == "trial budget reached"


def test_storage_url_forms(tmp_path):
    assert storage_url("runs/a.db", base_dir=tmp_path) == f"sqlite:///{tmp_path / 'runs/a.db'}"
    assert storage_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert storage_url("sqlite:///x.db") == "sqlite:///x.db"


def test_unreachable_database_is_a_clear_storage_error():
    with pytest.raises(StorageError, match="cannot open storage") as info:
        Storage("postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "secret" not in str(info.value)


def test_sqlite_runs_in_wal_mode(tmp_path):
    with Storage(tmp_path / "w.db") as storage:
        with storage.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _open_and_close(path):
    Storage(path).close()


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    # a driver creating the tables while `detopt status` opens the same file used to fail with
    # "table detopt_studies already exists"
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):
        path = tmp_path / f"race{round_}.db"
        workers = [ctx.Process(target=_open_and_close, args=(str(path),)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
