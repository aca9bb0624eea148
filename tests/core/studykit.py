"""Building small real studies in tests (imported by the test modules of this folder)."""

from __future__ import annotations

import uuid

from detopt.optimizers.base import make_optimizer
from detopt.problem import Problem
from detopt.problems.registry import build_problem
from detopt.storage import Storage
from detopt.settings import StudySettings
from detopt.study import Study


def unique_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_study(url: str, problem: Problem | str, runner, *, optimizer: str = "sobol",
               seed: int = 0, options: dict | None = None, name: str | None = None,
               **settings) -> Study:
    """A new study stored at ``url``; ``problem`` may be a built-in name."""
    if isinstance(problem, str):
        problem = build_problem(problem)
    opt = make_optimizer(optimizer, problem.space, problem.objectives, seed=seed, options=options)
    return Study.create(name or unique_name(), problem, opt, runner, Storage(url),
                        StudySettings(**settings), config={"test": True})


def reopen(study: Study, runner, **settings) -> Study:
    """The same stored study, rebuilt from storage as ``resume`` does (fresh optimizer)."""
    storage = Storage(study.storage.url)
    record = storage.get_study(study.name)
    assert record is not None
    opt = make_optimizer(study.optimizer.name, study.problem.space, study.problem.objectives,
                         seed=study.optimizer.seed)
    return Study(study.name, study.problem, opt, runner, storage, StudySettings(**settings), record)
