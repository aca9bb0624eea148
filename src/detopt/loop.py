"""The asynchronous study loop: propose, submit, collect, store, stop, resume.

The loop keeps ``concurrency`` trials in flight and refills a slot the moment one finishes;
there is no batch barrier. Every state change of a trial is written to storage before the loop
moves on, so a driver that dies loses nothing: a resumed run keeps completed trials,
re-attaches to work still running on durable runners, and re-runs the rest. The loop owns only
the in-flight work of one run; what a failure means is :mod:`detopt.failures`, when to stop is
:mod:`detopt.stopping`, and what is stored is the :class:`~detopt.study.Study`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from detopt.evaluation import Evaluation, TrialContext
from detopt.failures import FailureAction, FailurePolicy
from detopt.proposals import ProposalPipeline
from detopt.runners.base import INTENT_PREFIX
from detopt.stopping import BUDGET_REACHED, RunStatus, Stop, StopKind, StopRules
from detopt.trial import Trial, TrialStatus, parse_result

if TYPE_CHECKING:
    from detopt.study import Study

log = logging.getLogger("detopt")

#: seconds between looks at the clock and at stop requests while waiting for results
TICK = 0.5


@dataclass
class RunOutcome:
    """What one run of a study did."""

    stop: Stop
    trials_started: int
    trials_finished: int
    elapsed: float
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def stop_reason(self) -> str:
        return self.stop.reason

    @property
    def status(self) -> RunStatus:
        return self.stop.status


class StudyLoop:
    """One run of a study: the trials in flight, the queue of trials to (re-)run, and the
    proposal pipeline."""

    def __init__(self, study: Study):
        assert study.runner is not None and study.optimizer is not None
        self.study = study
        self.runner = study.runner
        self.settings = study.settings
        self.evaluation: Evaluation = study.problem.evaluator()
        self.policy = FailurePolicy(study.settings, study.problem.retries or 0)
        self.rules = StopRules(study.settings)
        self.concurrency = self.settings.concurrency or self.runner.slots
        self.pipeline = ProposalPipeline(study.optimizer, prefetch=self.settings.prefetch,
                                         concurrency=self.concurrency)
        self.inflight: dict[Future, Trial] = {}
        self.queue: list[Trial] = []
        self.states = study.storage.load_trial_states(study.record.id)
        self._state_lock = threading.Lock()
        self._stop: Stop | None = None
        self._requested: Stop | None = None  # from another thread or the signal handler
        self._started = time.monotonic()
        self._last_notify = 0.0

    # ------------------------------------------------------------------------- control
    def request_stop(self, reason: str, halt: bool = True,
                     kind: StopKind = StopKind.REQUESTED) -> None:
        """Thread-safe; a halt wins over an earlier drain."""
        current = self._requested
        if current is None or (halt and not current.halt):
            self._requested = Stop(kind, reason, halt)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    # ----------------------------------------------------------------------------- run
    def run(self) -> RunOutcome:
        study = self.study
        study.storage.set_study_status(study.record.id, RunStatus.RUNNING.value, claim=True)
        finished_before = study.n_finished
        self.pipeline.tell([t for t in study.trials.values() if t.status.is_finished])
        self._recover()
        restore = self._install_interrupt_handler()
        started = 0
        try:
            while True:
                self._update_stop()
                if self._stop is not None and self._stop.halt:
                    break
                started += self._fill()
                if not self.inflight:
                    self._stop = self._stop or BUDGET_REACHED
                    break
                done, _ = wait(list(self.inflight), timeout=self._tick(),
                               return_when=FIRST_COMPLETED)
                for future in done:
                    trial = self.inflight.pop(future)
                    if self._collect(trial, future):
                        self.queue.insert(0, trial)
                self._notify()
            self._abandon()
        finally:
            restore()
            self.pipeline.close()
        stop = self._stop or Stop(StopKind.REQUESTED, "stopped", halt=True)
        study.storage.set_study_status(study.record.id, stop.status.value, stop.reason)
        self._notify(force=True)
        asks = self.pipeline.all_ask_seconds
        return RunOutcome(stop=stop, trials_started=started,
                          trials_finished=study.n_finished - finished_before, elapsed=self.elapsed,
                          stats={"stale_proposals_used": self.pipeline.stale_used,
                                 "stale_proposals_discarded": self.pipeline.stale_discarded,
                                 "optimizer_fallbacks": self.pipeline.fallbacks,
                                 "ask_seconds": _quantiles(asks),
                                 "median_ask_seconds": _quantiles(asks).get("p50")})

    def _update_stop(self) -> None:
        requested = self._requested
        if requested is not None and (self._stop is None or (requested.halt and not self._stop.halt)):
            self._stop = requested
        if self._stop is None or not self._stop.halt:
            rule = self.rules.check(self.study.progress(self.elapsed))
            if rule is not None and (self._stop is None or rule.halt):
                self._stop = rule

    def _tick(self) -> float:
        left = self.rules.seconds_left(self.elapsed)
        return TICK if left is None else max(0.01, min(TICK, left))

    # ---------------------------------------------------------------- starting trials
    def _fill(self) -> int:
        """Start trials until every slot is busy; returns how many new trials were created."""
        study = self.study
        while len(self.inflight) < self.concurrency and self.queue and self._stop is None:
            self._submit(self.queue.pop(0))
        n_new = min(self.concurrency - len(self.inflight), self._room()) if self._stop is None else 0
        created = 0
        if n_new > 0:
            proposals = self.pipeline.take(n_new, self._pending())
            base = study.next_index()
            new = [Trial(index=base + i, params=study.problem.space.validate(p),
                         generator=p.generator) for i, p in enumerate(proposals)]
            study.storage.add_trials(study.record.id, new)
            for trial in new:
                study.trials[trial.index] = trial
                self._submit(trial)
            created = len(new)
        if self._stop is None and self._room() > 0:
            self.pipeline.prepare(self._pending())
        return created

    def _pending(self) -> list[Trial]:
        return list(self.inflight.values()) + self.queue

    def _room(self) -> int:
        budget = self.settings.max_trials
        return 1 << 30 if budget is None else max(0, budget - len(self.study.trials))

    def _context(self, trial: Trial) -> TrialContext:
        study = self.study

        def save_state(state: Mapping[str, Any], index: int = trial.index) -> None:
            with self._state_lock:
                self.states[index] = dict(state)
                study.storage.save_trial_state(study.record.id, index, state)

        return TrialContext(study=study.name, trial=trial.index, attempt=trial.attempts,
                            label=f"{study.name}.t{trial.index}.a{trial.attempts}",
                            workdir=study.workdir() / f"t{trial.index}",
                            state=dict(self.states.get(trial.index, {})), save_state=save_state)

    def _submit(self, trial: Trial) -> None:
        study = self.study
        trial.status = TrialStatus.RUNNING
        trial.attempts += 1
        trial.started_at, trial.finished_at = time.time(), None
        context = self._context(trial)
        if self.runner.durable:
            # a driver killed between the submission and the next write must not submit again
            # on resume: the stored intent lets the runner find the work by its label
            trial.runner_handle = INTENT_PREFIX + context.label
            study.storage.save_trial(study.record.id, trial)
        future = self.evaluation.submit(self.runner, trial.params, context)
        trial.runner_handle = getattr(future, "handle", None)
        trial.logs = dict(getattr(future, "logs", None) or {})
        study.storage.save_trial(study.record.id, trial)
        self.inflight[future] = trial

    # ------------------------------------------------------------------ finishing trials
    def _collect(self, trial: Trial, future: Future) -> bool:
        """Store the outcome of a finished attempt. Returns True if the trial must be re-run."""
        study = self.study
        trial.finished_at = time.time()
        try:
            metrics = parse_result(future.result(), study.problem.objectives.required_metrics)
        except Exception as exc:  # noqa: BLE001 - every failure is stored, none escapes
            return self._attempt_failed(trial, exc)
        trial.status, trial.metrics, trial.error, trial.traceback = \
            TrialStatus.COMPLETED, metrics, None, None
        study.storage.finish_attempt(study.record.id, trial, "completed")
        self._finished(trial)
        return False

    def _attempt_failed(self, trial: Trial, exc: BaseException) -> bool:
        study = self.study
        decision = self.policy.decide(exc, trial.attempts)
        trial.error, trial.traceback = decision.error, decision.traceback
        if decision.action == FailureAction.RETRY:
            trial.status = TrialStatus.PENDING
            study.storage.finish_attempt(study.record.id, trial, "failed")
            log.info("trial %d attempt %d failed (%s); retrying", trial.index, trial.attempts,
                     trial.error)
            return True
        if decision.action == FailureAction.PENALIZE:
            trial.status, trial.penalized = TrialStatus.COMPLETED, True
            trial.metrics = self.policy.penalty_metrics()
        else:
            trial.status = TrialStatus.FAILED
        study.storage.finish_attempt(study.record.id, trial, "failed")
        self._finished(trial)
        return False

    def _finished(self, trial: Trial) -> None:
        self.study.record_finished(trial)
        self.pipeline.tell([trial])

    # ---------------------------------------------------------------- resume and halt
    def _recover(self) -> None:
        """After a restart: re-attach to trials still running remotely; queue the others."""
        for trial in sorted(self.study.trials.values(), key=lambda t: t.index):
            if trial.status == TrialStatus.RUNNING:
                future = None
                # a pipeline knows from its stored state what is left (even on a local runner,
                # where it re-runs the jobs that died with the driver); one call needs a durable
                # runner to have survived
                own = self.study.problem.evaluation is not None
                if own or (self.runner.durable and trial.runner_handle):
                    future = self.evaluation.reattach(self.runner, trial.runner_handle or "",
                                                      self._context(trial))
                if future is not None:
                    trial.logs = dict(getattr(future, "logs", None) or trial.logs)
                    self.inflight[future] = trial
                    log.info("trial %d: re-attached to %s", trial.index, trial.runner_handle)
                    continue
                self._mark_interrupted(trial, "the driver stopped while the trial ran")
                self.queue.append(trial)
            elif trial.status == TrialStatus.PENDING:
                self.queue.append(trial)

    def _mark_interrupted(self, trial: Trial, reason: str) -> None:
        """Record an attempt that never finished; it does not count against the retries."""
        study = self.study
        trial.error, trial.finished_at = reason, time.time()
        trial.status = TrialStatus.PENDING
        study.storage.finish_attempt(study.record.id, trial, "interrupted")
        trial.attempts = max(0, trial.attempts - 1)
        trial.runner_handle = None
        study.storage.save_trial(study.record.id, trial)

    def _abandon(self) -> None:
        """Halted with work in flight: keep durable work running, cancel and requeue the rest."""
        for future, trial in self.inflight.items():
            if future.done():
                self._collect(trial, future)
                continue
            if self.runner.durable:
                continue  # stays RUNNING with its handle; resume re-attaches to it
            self.runner.cancel(future)
            self._mark_interrupted(trial, f"halted: {self._stop.reason if self._stop else 'stop'}")
        self.inflight.clear()

    # -------------------------------------------------------------------------- misc
    def _notify(self, force: bool = False) -> None:
        """Tell observers (progress bar) where the study stands, at most 5 times a second."""
        if not self.study.observers:
            return
        now = time.monotonic()
        if not force and now - self._last_notify < 0.2:
            return
        self._last_notify = now
        snap = self.study.snapshot(len(self.inflight), len(self.queue), self.elapsed, self._stop)
        for observer in self.study.observers:
            observer(snap)

    def _install_interrupt_handler(self) -> Callable[[], None]:
        """First Ctrl-C: halt cleanly. Only possible on the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def on_interrupt(_signum: int, _frame: Any) -> None:
            self.request_stop("interrupted by the user (Ctrl-C)", halt=True,
                              kind=StopKind.INTERRUPTED)

        signal.signal(signal.SIGINT, on_interrupt)
        return lambda: signal.signal(signal.SIGINT, previous)


def _quantiles(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max of the proposal times of a run (empty when nothing was asked)."""
    if not values:
        return {}
    a = np.asarray(values)
    return {"p50": float(np.median(a)), "p95": float(np.quantile(a, 0.95)), "max": float(a.max()),
            "n": float(len(a))}


__all__ = ["RunOutcome", "StudyLoop"]
