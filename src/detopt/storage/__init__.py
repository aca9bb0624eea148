"""Durable storage of studies, trials and attempts through SQLAlchemy.

SQLite (WAL mode) is the embedded default; the same code runs on PostgreSQL given a URL.
"""

from detopt.storage.store import Storage, StudyRecord, storage_url

__all__ = ["Storage", "StudyRecord", "storage_url"]
