"""The asynchronous study loop: propose, submit, collect, store, stop, resume.

The loop keeps ``concurrency`` trials in flight and refills a slot the moment one finishes;
there is no batch barrier. Every state change of a trial is written to storage before the loop
moves on, so a driver that dies loses nothing: ``resume`` keeps completed trials, re-attaches
to work still running on durable runners, and re-runs the rest.

Stop rules come in two kinds:

* *drain* (trial budget reached, hypervolume target, stall, too many failures): no new trial is
  started; trials in flight finish and are stored.
* *halt* (wall-clock limit, Ctrl-C): nothing new starts and in-flight work is given up at once:
  cancelled and queued for re-run on a local runner, left running (and re-attached on resume)
  on a durable one.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from detopt.errors import InvalidResultError, RemoteTaskError, TrialError
from detopt.evaluation import TrialContext
from detopt.metrics import HypervolumeTracker
from detopt.optimizers.base import Optimizer
from detopt.problem import Problem
from detopt.proposals import ProposalPipeline
from detopt.runners.base import INTENT_PREFIX, Runner
from detopt.settings import StudySettings
from detopt.storage import Storage, StudyRecord
from detopt.trial import Trial, TrialStatus, parse_result

log = logging.getLogger("detopt")


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


@dataclass
class _Stop:
    reason: str
    halt: bool  # True: give up in-flight work now; False: let it finish


@dataclass
class RunOutcome:
    """What :meth:`Study.run` did."""

    stop_reason: str
    status: str
    trials_started: int
    trials_finished: int
    elapsed: float
    stats: dict[str, Any] = field(default_factory=dict)


class Study:
    """A named optimization study, stored durably and resumable.

    Build one with :meth:`create` (new) or :meth:`load` (existing), usually through
    :func:`detopt.config.open_study` from a YAML file.

    Args:
        name: unique name in the storage.
        problem: what to optimize.
        optimizer: how to propose designs.
        runner: where evaluations run (``None`` for a read-only view: status, export, report).
        storage: where everything is kept.
        settings: stop rules, concurrency and failure policy.
        record: the stored study row.
        workdir: where evaluations keep their files (``<workdir>/t<trial>``); default
            ``./<name>-work``.
    """

    def __init__(self, name: str, problem: Problem, optimizer: Optimizer, runner: Runner | None,
                 storage: Storage, settings: StudySettings, record: StudyRecord,
                 workdir: str | Path | None = None):
        settings.check(problem)
        self.name = name
        self.problem = problem
        self.optimizer = optimizer
        self.runner = runner
        self.storage = storage
        self.settings = settings
        self.record = record
        self.workdir = Path(workdir) if workdir is not None else Path.cwd() / f"{name}-work"
        self.trials: dict[int, Trial] = {t.index: t for t in storage.load_trials(record.id)}
        self.reference_point = problem.objectives.reference_point(settings.reference_point)
        self.tracker = HypervolumeTracker(self.reference_point,
                                          problem.true_hypervolume(self.reference_point))
        self.observers: list[Observer] = []
        self._stop: _Stop | None = None
        self._last_gain_at = 0  # finished-trial count at the last hypervolume gain
        self._started = time.monotonic()
        self.config: Any = None  # the StudyConfig it was built from, when there is one
        self._n_finished = sum(1 for t in self.trials.values() if t.status.is_finished)
        self._n_failed = sum(1 for t in self.trials.values()
                             if t.status == TrialStatus.FAILED or t.penalized)
        self._last_notify = 0.0
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
               storage: Storage, settings: StudySettings, config: Mapping[str, Any],
               workdir: str | Path | None = None) -> Study:
        """Create a new study (``config`` is stored and is what ``resume`` rebuilds from)."""
        settings.check(problem)
        record = storage.create_study(name, config)
        return cls(name, problem, optimizer, runner, storage, settings, record, workdir=workdir)

    def enqueue(self, designs: list[Mapping[str, Any]], generator: str = "user") -> list[Trial]:
        """Add designs to evaluate before the optimizer's own (e.g. the current baseline).

        They are validated (values, constraints and the design check), stored as PENDING and
        run first; they count towards the budget.
        """
        space = self.problem.space
        new = [Trial(index=self._next_index() + i,
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

    def snapshot(self, running: int = 0, queued: int = 0) -> Snapshot:
        c = self.counts()
        return Snapshot(completed=c[TrialStatus.COMPLETED], failed=c[TrialStatus.FAILED],
                        running=running, queued=queued, budget=self.settings.max_trials,
                        hypervolume=self.hypervolume, normalized_hypervolume=self.normalized_hypervolume,
                        elapsed=time.monotonic() - self._started,
                        stop_reason=self._stop.reason if self._stop else None)

    # ------------------------------------------------------------------------- control
    def request_stop(self, reason: str = "stopped by request", halt: bool = True) -> None:
        """Ask a running loop to stop (thread-safe); see the module docs for halt vs drain."""
        if self._stop is None or (halt and not self._stop.halt):
            self._stop = _Stop(reason, halt)

    # ----------------------------------------------------------------------------- run
    def run(self) -> RunOutcome:
        """Run until a stop rule fires. Ctrl-C stops cleanly with everything stored."""
        if self.runner is None:
            raise RuntimeError("this study was opened read-only (no runner)")
        self._stop = None
        self._started = time.monotonic()
        self.storage.set_study_status(self.record.id, "running", claim=True)
        finished_before = self._finished_count()
        pipeline = ProposalPipeline(self.optimizer, prefetch=self.settings.prefetch)
        pipeline.tell([t for t in self.trials.values() if t.status.is_finished])
        inflight: dict[Future, Trial] = {}
        queue: list[Trial] = []
        self._recover(inflight, queue)
        concurrency = self.settings.concurrency or self.runner.slots
        restore = self._install_interrupt_handler()
        started = 0
        try:
            while True:
                self._check_stop_rules()
                if self._stop is not None and self._stop.halt:
                    break
                started += self._fill(inflight, queue, pipeline, concurrency)
                if not inflight:
                    if self._stop is None:
                        self._stop = _Stop("trial budget reached", halt=False)
                    break
                done, _ = wait(list(inflight), timeout=self._tick(), return_when=FIRST_COMPLETED)
                for future in done:
                    trial = inflight.pop(future)
                    retry = self._collect(trial, future, pipeline)
                    if retry:
                        queue.insert(0, trial)
                self._notify(len(inflight), len(queue))
            self._abandon(inflight, pipeline)
        finally:
            restore()
            pipeline.close()
        stop = self._stop or _Stop("stopped", halt=True)
        status = self._final_status(stop)
        self.storage.set_study_status(self.record.id, status, stop.reason)
        self._notify(0, 0, force=True)
        return RunOutcome(stop_reason=stop.reason, status=status, trials_started=started,
                          trials_finished=self._finished_count() - finished_before,
                          elapsed=time.monotonic() - self._started,
                          stats={"stale_proposals_used": pipeline.stale_used,
                                 "stale_proposals_discarded": pipeline.stale_discarded,
                                 "optimizer_fallbacks": pipeline.fallbacks,
                                 "median_ask_seconds": _median(pipeline.ask_seconds)})

    # ------------------------------------------------------------------- loop helpers
    def _fill(self, inflight: dict[Future, Trial], queue: list[Trial],
              pipeline: ProposalPipeline, concurrency: int) -> int:
        """Start trials until every slot is busy; returns how many new trials were created."""
        created = 0
        while len(inflight) < concurrency and queue and self._stop is None:
            self._submit(queue.pop(0), inflight)
        free = concurrency - len(inflight)
        room = self._room_for_new_trials()
        n_new = min(free, room) if self._stop is None else 0
        if n_new > 0:
            pending = list(inflight.values()) + queue
            proposals = pipeline.take(n_new, pending)
            new = [Trial(index=self._next_index() + i, params=self.problem.space.validate(p),
                         generator=self.optimizer.name) for i, p in enumerate(proposals)]
            self.storage.add_trials(self.record.id, new)
            for trial in new:
                self.trials[trial.index] = trial
                self._submit(trial, inflight)
            created = len(new)
        if self._stop is None and self._room_for_new_trials() > 0:
            pipeline.prepare(list(inflight.values()) + queue)
        return created

    def _room_for_new_trials(self) -> int:
        if self.settings.max_trials is None:
            return 1 << 30
        return max(0, self.settings.max_trials - len(self.trials))

    def _submit(self, trial: Trial, inflight: dict[Future, Trial]) -> None:
        trial.status = TrialStatus.RUNNING
        trial.attempts += 1
        trial.started_at, trial.finished_at = time.time(), None
        if self.problem.evaluation is not None:
            trial.runner_handle = None
            self.storage.save_trial(self.record.id, trial)  # RUNNING before any job starts
            future = self.problem.evaluation.submit(self.runner, trial.params,
                                                    self._context(trial))
            trial.runner_handle = getattr(future, "handle", None)
            trial.logs = dict(getattr(future, "logs", None) or {})
            self.storage.save_trial(self.record.id, trial)
            inflight[future] = trial
            return
        call = replace(self.problem.call(trial.params),
                       label=f"{self.name}.t{trial.index}.a{trial.attempts}")
        if self.runner.durable:
            # a driver killed between the submission and the next write must not submit again
            # on resume: the stored intent lets the runner find the work by its label
            trial.runner_handle = INTENT_PREFIX + call.label
            self.storage.save_trial(self.record.id, trial)
        future = self.runner.submit(call)
        trial.runner_handle = getattr(future, "handle", None)
        trial.logs = dict(getattr(future, "logs", None) or {})
        self.storage.save_trial(self.record.id, trial)
        inflight[future] = trial

    def _collect(self, trial: Trial, future: Future, pipeline: ProposalPipeline) -> bool:
        """Store the outcome of a finished attempt. Returns True if the trial must be re-run."""
        trial.finished_at = time.time()
        try:
            metrics = parse_result(future.result(), self.problem.objectives.required_metrics)
        except Exception as exc:  # noqa: BLE001 - every failure is stored, none escapes
            return self._attempt_failed(trial, exc, pipeline)
        trial.status, trial.metrics, trial.error, trial.traceback = \
            TrialStatus.COMPLETED, metrics, None, None
        self.storage.finish_attempt(self.record.id, trial, "completed")
        self._n_finished += 1
        pipeline.tell([trial])
        self._track(trial)
        return False

    def _attempt_failed(self, trial: Trial, exc: BaseException, pipeline: ProposalPipeline) -> bool:
        trial.error = _one_line(exc)
        trial.traceback = exc.traceback_text if isinstance(exc, RemoteTaskError) else \
            "".join(traceback.format_exception(exc))
        retryable = exc.retryable if isinstance(exc, TrialError) else True
        if isinstance(exc, InvalidResultError):
            retryable = False
        if retryable and trial.attempts <= self.settings.max_retries:
            trial.status = TrialStatus.PENDING
            self.storage.finish_attempt(self.record.id, trial, "failed")
            log.info("trial %d attempt %d failed (%s); retrying", trial.index, trial.attempts, trial.error)
            return True
        if self.settings.on_failure == "penalty":
            assert self.settings.penalty is not None
            trial.status, trial.penalized = TrialStatus.COMPLETED, True
            trial.metrics = {m: (float(v), None) for m, v in self.settings.penalty.items()}
        else:
            trial.status = TrialStatus.FAILED
        self.storage.finish_attempt(self.record.id, trial, "failed")
        self._n_finished += 1
        self._n_failed += 1
        pipeline.tell([trial])
        failed = self._failed_count()
        if self.settings.max_failed_trials is not None and failed >= self.settings.max_failed_trials:
            self.request_stop(f"{failed} trials failed (max_failed_trials = "
                              f"{self.settings.max_failed_trials})", halt=False)
        return False

    def _recover(self, inflight: dict[Future, Trial], queue: list[Trial]) -> None:
        """After a restart: re-attach to trials still running remotely; queue the others."""
        for trial in sorted(self.trials.values(), key=lambda t: t.index):
            if trial.status == TrialStatus.RUNNING:
                future = None
                if self.problem.evaluation is not None:
                    # the evaluation's own stored state says what is left to do
                    future = self.problem.evaluation.reattach(
                        self.runner, trial.runner_handle or "", self._context(trial))
                elif self.runner.durable and trial.runner_handle:
                    future = self.runner.reattach(trial.runner_handle)
                if future is not None:
                    trial.logs = dict(getattr(future, "logs", None) or trial.logs)
                    inflight[future] = trial
                    log.info("trial %d: re-attached to %s", trial.index, trial.runner_handle)
                    continue
                self._mark_interrupted(trial, "the driver stopped while the trial ran")
                queue.append(trial)
            elif trial.status == TrialStatus.PENDING:
                queue.append(trial)

    def _context(self, trial: Trial) -> TrialContext:
        """The :class:`TrialContext` of the trial's current attempt."""
        study_id, index = self.record.id, trial.index

        def save_state(state: Mapping[str, Any]) -> None:
            self.storage.save_trial_state(study_id, index, state)

        return TrialContext(study=self.name, trial=index, attempt=trial.attempts,
                            label=f"{self.name}.t{index}.a{trial.attempts}",
                            workdir=self.workdir / f"t{index}",
                            state=self.storage.load_trial_state(study_id, index),
                            save_state=save_state)

    def _mark_interrupted(self, trial: Trial, reason: str) -> None:
        """Record an attempt that never finished; it does not count against the retries."""
        trial.error, trial.finished_at = reason, time.time()
        trial.status = TrialStatus.PENDING
        self.storage.finish_attempt(self.record.id, trial, "interrupted")
        trial.attempts = max(0, trial.attempts - 1)
        trial.runner_handle = None
        self.storage.save_trial(self.record.id, trial)

    def _abandon(self, inflight: dict[Future, Trial], pipeline: ProposalPipeline) -> None:
        """Halted with work in flight: keep durable work running, cancel and requeue the rest."""
        for future, trial in inflight.items():
            if future.done():
                self._collect(trial, future, pipeline)
                continue
            if self.runner.durable:
                continue  # stays RUNNING with its handle; resume re-attaches to it
            self.runner.cancel(future)
            self._mark_interrupted(trial, f"halted: {self._stop.reason if self._stop else 'stop'}")

    def _check_stop_rules(self) -> None:
        s = self.settings
        if s.max_wall_time is not None and time.monotonic() - self._started >= s.max_wall_time:
            self.request_stop(f"wall-clock limit of {s.max_wall_time:g} s reached", halt=True)
        if s.target_normalized_hv is not None and (self.tracker.normalized or 0.0) >= s.target_normalized_hv:
            self.request_stop(f"normalized hypervolume {self.tracker.normalized:.4f} reached the "
                              f"target {s.target_normalized_hv}", halt=False)
        if s.target_hv is not None and self.hypervolume is not None and self.hypervolume >= s.target_hv:
            self.request_stop(f"hypervolume {self.hypervolume:.6g} reached the target {s.target_hv}",
                              halt=False)
        if s.stall_trials is not None and self._finished_count() - self._last_gain_at >= s.stall_trials:
            self.request_stop(f"no hypervolume gain in the last {s.stall_trials} trials", halt=False)

    def _tick(self) -> float:
        """How long to wait for a result before re-checking the clock and stop requests."""
        if self.settings.max_wall_time is None:
            return 0.5
        left = self.settings.max_wall_time - (time.monotonic() - self._started)
        return max(0.01, min(0.5, left))

    # --------------------------------------------------------------- hypervolume & misc
    def _track(self, trial: Trial) -> None:
        if trial.penalized or not self.problem.objectives.is_feasible(
                {m: v[0] for m, v in trial.metrics.items()}):
            return
        point = self.problem.objectives.to_minimization(trial.values(self.problem.objectives.names))
        before = self.tracker.hypervolume
        if self.tracker.add(point, trial.index) and (
                self.tracker.hypervolume - before > self.settings.stall_tolerance * max(abs(before), 1e-300)
                or self.reference_point is None):
            self._last_gain_at = self._finished_count()

    def _rebuild_tracker(self) -> None:
        done = [t for t in sorted(self.trials.values(), key=lambda t: t.index)
                if t.status == TrialStatus.COMPLETED and not t.penalized
                and self.problem.objectives.is_feasible({m: v[0] for m, v in t.metrics.items()})]
        if done:
            Y = self.problem.objectives.to_minimization(
                np.array([t.values(self.problem.objectives.names) for t in done]))
            self.tracker.add_many(Y, [t.index for t in done])
        self._last_gain_at = self._finished_count()

    def _finished_count(self) -> int:
        """Finished trials; kept as a counter because it is needed after every trial."""
        return self._n_finished

    def _failed_count(self) -> int:
        return self._n_failed

    def _next_index(self) -> int:
        return len(self.trials)  # indices are 0..n-1, assigned in order

    def _final_status(self, stop: _Stop) -> str:
        if stop.reason.startswith("interrupted"):
            return "interrupted"
        if stop.reason == "trial budget reached":
            return "finished"
        return "stopped"

    def _notify(self, running: int, queued: int, force: bool = False) -> None:
        """Tell observers (progress bar) where the study stands, at most 5 times a second."""
        if not self.observers:
            return
        now = time.monotonic()
        if not force and now - self._last_notify < 0.2:
            return
        self._last_notify = now
        snap = self.snapshot(running, queued)
        for observer in self.observers:
            observer(snap)

    def _install_interrupt_handler(self) -> Callable[[], None]:
        """First Ctrl-C: halt cleanly. Only possible on the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def on_interrupt(_signum: int, _frame: Any) -> None:
            self.request_stop("interrupted by the user (Ctrl-C)", halt=True)

        signal.signal(signal.SIGINT, on_interrupt)
        return lambda: signal.signal(signal.SIGINT, previous)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    name = type(exc).__name__
    if isinstance(exc, RemoteTaskError):
        return message
    return f"{name}: {message}" if message else name


def _median(values: Any) -> float | None:
    values = list(values)
    return float(np.median(values)) if values else None


__all__ = ["RunOutcome", "Snapshot", "Study", "StudySettings"]  # StudySettings: re-exported
