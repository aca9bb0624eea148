"""A study: a named optimization, stored durably — its problem, trials and hypervolume.

The :class:`Study` is the stored record and what can be asked of it (counts, the Pareto set,
hypervolume, a DataFrame). Running it is the job of :class:`detopt.loop.StudyLoop`, which
keeps trials in flight, applies the failure policy and the stop rules, and writes every state
change before it moves on; :meth:`Study.run` starts one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from detopt.metrics import HypervolumeTracker
from detopt.optimizers.base import Optimizer
from detopt.problem import Problem
from detopt.runners.base import Runner
from detopt.settings import StudySettings
from detopt.stopping import Progress, Stop
from detopt.storage import Storage, StudyRecord
from detopt.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from detopt.loop import RunOutcome, StudyLoop


@dataclass
class Snapshot:
    """Where a study stands; passed to observers after every change."""

    completed: int
    failed: int
    running: int
    queued: int
    budget: int | None
    hypervolume: float | None
    normalized_hypervolume: float | None
    elapsed: float
    stop_reason: str | None = None


Observer = Callable[[Snapshot], None]


class Study:
    """A named optimization study, stored durably and resumable.

    Build one with :func:`detopt.launch.new_study` / :func:`detopt.launch.resume_study` from a
    YAML file, or with :meth:`create` from Python objects.

    Args:
        name: unique name in the storage.
        problem: what to optimize.
        optimizer: how to propose designs (``None`` for a read-only view: status, export,
            report).
        runner: where evaluations run (``None`` for a read-only view).
        storage: where everything is kept.
        settings: stop rules, concurrency and failure policy.
        record: the stored study row.
    """

    def __init__(self, name: str, problem: Problem, optimizer: Optimizer | None,
                 runner: Runner | None, storage: Storage, settings: StudySettings,
                 record: StudyRecord):
        settings.check(problem)
        self.name = name
        self.problem = problem
        self.optimizer = optimizer
        self.runner = runner
        self.storage = storage
        self.settings = settings
        self.record = record
        self.trials: dict[int, Trial] = {t.index: t for t in storage.load_trials(record.id)}
        #: the one reference point: the optimizer was built with it, the tracker measures with it
        self.reference_point = problem.objectives.reference_point(settings.reference_point)
        self.tracker = HypervolumeTracker(self.reference_point,
                                          problem.true_hypervolume(self.reference_point))
        self.observers: list[Observer] = []
        self.config: Any = None  # the StudyConfig it was built from, when there is one
        self.n_finished = sum(1 for t in self.trials.values() if t.status.is_finished)
        self.n_failed = sum(1 for t in self.trials.values()
                            if t.status == TrialStatus.FAILED or t.penalized)
        self.last_gain_at = 0  # n_finished at the last hypervolume gain
        self._loop: StudyLoop | None = None
        self._rebuild_tracker()

    def close(self) -> None:
        """Release the runner's workers and the storage connection."""
        if self.runner is not None:
            self.runner.close()
        self.storage.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ----------------------------------------------------------------------- factories
    @classmethod
    def create(cls, name: str, problem: Problem, optimizer: Optimizer, runner: Runner,
               storage: Storage, settings: StudySettings, config: Mapping[str, Any]) -> Study:
        """Create a new study (``config`` is stored and is what ``resume`` rebuilds from)."""
        settings.check(problem)
        record = storage.create_study(name, config)
        return cls(name, problem, optimizer, runner, storage, settings, record)

    def enqueue(self, designs: list[Mapping[str, Any]], generator: str = "manual") -> list[Trial]:
        """Add designs to evaluate before the optimizer's own (e.g. the current baseline).

        They are validated (values, constraints and the design check), stored as PENDING and
        run first; they count towards the budget. ``generator`` is stored as their provenance.
        """
        space = self.problem.space
        new = [Trial(index=self.next_index() + i,
                     params=space.validate_design(d, field_prefix=f"initial_designs[{i}]"),
                     generator=generator) for i, d in enumerate(designs)]
        self.storage.add_trials(self.record.id, new)
        self.trials.update({t.index: t for t in new})
        return new

    # ------------------------------------------------------------------------- queries
    def counts(self) -> dict[TrialStatus, int]:
        out = {s: 0 for s in TrialStatus}
        for t in self.trials.values():
            out[t.status] += 1
        return out

    @property
    def hypervolume(self) -> float | None:
        return self.tracker.hypervolume if self.reference_point is not None else None

    @property
    def normalized_hypervolume(self) -> float | None:
        return self.tracker.normalized

    def igd_plus(self, n_front_points: int = 5000) -> float | None:
        """IGD+ of the current Pareto set to a sample of the true front (known fronts only)."""
        if self.problem.known_front is None or not self.tracker.front.size:
            return None
        from detopt.metrics import igd_plus

        return igd_plus(self.tracker.front, self.problem.known_front.sample(n_front_points))

    def pareto_trials(self) -> list[Trial]:
        """Completed, feasible, non-penalized trials on the current Pareto front."""
        return [self.trials[i] for i in self.tracker.front_ids if i in self.trials]

    def trials_dataframe(self):  # -> pandas.DataFrame (import kept lazy)
        """All trials as a pandas DataFrame: one row per trial, parameters and metrics as columns."""
        from detopt.export import trials_dataframe

        return trials_dataframe(list(self.trials.values()), self.problem,
                                pareto_ids=set(self.tracker.front_ids))

    def snapshot(self, running: int = 0, queued: int = 0, elapsed: float = 0.0,
                 stop: Stop | None = None) -> Snapshot:
        c = self.counts()
        return Snapshot(completed=c[TrialStatus.COMPLETED], failed=c[TrialStatus.FAILED],
                        running=running, queued=queued, budget=self.settings.max_trials,
                        hypervolume=self.hypervolume, normalized_hypervolume=self.normalized_hypervolume,
                        elapsed=elapsed, stop_reason=stop.reason if stop else None)

    def progress(self, elapsed: float) -> Progress:
        """What the stop rules look at."""
        return Progress(elapsed=elapsed, finished=self.n_finished, failed=self.n_failed,
                        last_gain_at=self.last_gain_at, hypervolume=self.hypervolume,
                        normalized_hypervolume=self.normalized_hypervolume)

    def next_index(self) -> int:
        return len(self.trials)  # indices are 0..n-1, assigned in order

    def workdir(self) -> Path:
        """Where the trials' work directories go: ``study.workdir``, else the evaluation's own
        (a pipeline's ``workdir``), else ``<name>-work`` next to the store."""
        own = getattr(self.problem.evaluation, "workdir", None)
        if self.settings.workdir is None and own is not None:
            return Path(own)
        if self.settings.workdir:
            base = Path(self.config.base_dir) if self.config is not None and \
                self.config.base_dir else Path.cwd()
            return (base / self.settings.workdir).resolve()
        url = self.storage.url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            return Path(url.removeprefix("sqlite:///")).parent / f"{self.name}-work"
        return Path.cwd() / f"{self.name}-work"

    # ------------------------------------------------------------------------- control
    def run(self) -> RunOutcome:
        """Run until a stop rule fires. Ctrl-C stops cleanly with everything stored."""
        if self.runner is None or self.optimizer is None:
            raise RuntimeError("this study was opened read-only (no runner)")
        from detopt.loop import StudyLoop

        self._loop = StudyLoop(self)
        try:
            return self._loop.run()
        finally:
            self._loop = None

    def request_stop(self, reason: str = "stopped by request", halt: bool = True) -> None:
        """Ask a running loop to stop (thread-safe); see :mod:`detopt.stopping`."""
        if self._loop is not None:
            self._loop.request_stop(reason, halt)

    # ------------------------------------------------------------- results and tracking
    def record_finished(self, trial: Trial) -> None:
        """Count a trial that just finished and add it to the hypervolume tracking."""
        self.n_finished += 1
        if trial.status == TrialStatus.FAILED or trial.penalized:
            self.n_failed += 1
            return
        if not self.problem.objectives.is_feasible({m: v[0] for m, v in trial.metrics.items()}):
            return
        point = self.problem.objectives.to_minimization(trial.values(self.problem.objectives.names))
        before = self.tracker.hypervolume
        if self.tracker.add(point, trial.index) and (
                self.tracker.hypervolume - before > self.settings.stall_tolerance * max(abs(before), 1e-300)
                or self.reference_point is None):
            self.last_gain_at = self.n_finished

    def _rebuild_tracker(self) -> None:
        done = [t for t in sorted(self.trials.values(), key=lambda t: t.index)
                if t.status == TrialStatus.COMPLETED and not t.penalized
                and self.problem.objectives.is_feasible({m: v[0] for m, v in t.metrics.items()})]
        if done:
            Y = self.problem.objectives.to_minimization(
                np.array([t.values(self.problem.objectives.names) for t in done]))
            self.tracker.add_many(Y, [t.index for t in done])
        self.last_gain_at = self.n_finished


__all__ = ["Observer", "Snapshot", "Study", "StudySettings"]  # StudySettings: re-exported
