"""detopt: AI-assisted multi-objective design optimization for particle detectors.

The public API is imported lazily, so ``import detopt`` stays cheap in worker processes::

    import detopt
    study = detopt.Study.from_config("examples/dtlz2.yaml")
    study.run()
    df = study.trials_dataframe()
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Imported eagerly: the decorator ``detopt.task`` must win over the submodule of the same name.
from detopt.task import Task, TaskCall, task  # noqa: E402

_EXPORTS = {
    "Space": "detopt.space",
    "FloatParameter": "detopt.space",
    "IntParameter": "detopt.space",
    "ChoiceParameter": "detopt.space",
    "FixedParameter": "detopt.space",
    "Objective": "detopt.objectives",
    "OutcomeConstraint": "detopt.objectives",
    "ObjectiveSet": "detopt.objectives",
    "Problem": "detopt.problem",
    "Trial": "detopt.trial",
    "TrialStatus": "detopt.trial",
    "Study": "detopt.study",
    "StudySettings": "detopt.settings",
    "Storage": "detopt.storage",
    "new_study": "detopt.launch",
    "resume_study": "detopt.launch",
    "load_config": "detopt.config",
    "parse_config": "detopt.config",
    "DetoptError": "detopt.errors",
    "InfeasibleDesignError": "detopt.errors",
}

__all__ = ["Task", "TaskCall", "__version__", "task", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'detopt' has no attribute {name!r}")
