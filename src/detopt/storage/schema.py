"""Table definitions (SQLAlchemy Core). One row per study, per trial, and per trial attempt."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: bump when the schema changes incompatibly; stored in every study row
SCHEMA_VERSION = 1

studies = Table(
    "detopt_studies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(32), nullable=False),  # running | stopped | finished | interrupted
    Column("stop_reason", Text),
    Column("config", JSON, nullable=False),  # the resolved configuration, enough to resume
    Column("schema_version", Integer, nullable=False, default=SCHEMA_VERSION),
    Column("detopt_version", String(32)),
    Column("driver", String(200)),  # host:pid of the driver that last ran it
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

trials = Table(
    "detopt_trials", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("detopt_studies.id", ondelete="CASCADE"), nullable=False),
    Column("trial_index", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", JSON, nullable=False),
    Column("metrics", JSON),  # {metric: [mean, sem or null]}
    Column("error", Text),
    Column("traceback", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("runner_handle", String(200)),
    Column("generator", String(64)),
    Column("penalized", Boolean, nullable=False, default=False),
    Column("logs", JSON),  # {"stdout": path, ...} of the current attempt, from the runner
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("study_id", "trial_index", name="uq_trial_index"),
)
Index("ix_trials_study_status", trials.c.study_id, trials.c.status)

attempts = Table(
    "detopt_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("detopt_studies.id", ondelete="CASCADE"), nullable=False),
    Column("trial_index", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # completed | failed | interrupted
    Column("error", Text),
    Column("traceback", Text),
    Column("runner_handle", String(200)),
    Column("logs", JSON),
    Column("started_at", Float),
    Column("finished_at", Float),
)
Index("ix_attempts_trial", attempts.c.study_id, attempts.c.trial_index)

#: what an evaluation (a pipeline) stored about a trial's progress, so a resumed study continues
#: a half-finished trial (one row per trial, replaced on every save)
trial_state = Table(
    "detopt_trial_state", metadata,
    Column("study_id", Integer, ForeignKey("detopt_studies.id", ondelete="CASCADE"),
           primary_key=True),
    Column("trial_index", Integer, primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)
