"""Proposal pipeline: the optimizer works in a background thread, ahead of the study loop.

While every worker is busy, the next designs are already being prepared, so a free slot is
refilled at once instead of waiting for ``optimizer.ask``. All optimizer calls (``tell`` and
``ask``) happen on one thread, in order, so optimizers need no locking. They receive immutable
trial snapshots, never the loop's live trials.

How many designs are prepared ahead: as many slots as will free up while one ``ask`` runs
(median ask time over median trial time per slot), at least one and at most the concurrency.
With cheap evaluations and a slow model this asks for several designs at once, which costs
far less than one ask per slot and keeps every worker busy.

A prepared proposal may be *stale*: results arrived after it was computed. It is used anyway
when computing a fresh one would keep a worker idle for a noticeable share of a trial's run
time; otherwise it is thrown away and a fresh one is computed. ``ask`` does not change the
optimizer's state, so a discarded proposal costs only the time spent on it.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from detopt.optimizers.base import Optimizer, Proposal
from detopt.trial import Trial, TrialView

log = logging.getLogger("detopt")

#: a stale proposal is recomputed when asking takes less than this share of a trial's run time
STALE_RECOMPUTE_SHARE = 0.05

#: generator tag of designs that replace a failed ``ask``
FALLBACK = "fallback"


@dataclass
class _Prepared:
    future: Future  # -> list of proposals
    version: int    # how many tell() calls the optimizer had seen when it started


class ProposalPipeline:
    """Serializes optimizer calls on a worker thread and keeps proposals prepared ahead.

    Args:
        optimizer: the optimizer (used only from the pipeline's thread).
        prefetch: prepare proposals while workers are busy.
        concurrency: trials in flight at once (the most proposals prepared ahead).
    """

    def __init__(self, optimizer: Optimizer, prefetch: bool = True, concurrency: int = 1):
        self.optimizer = optimizer
        self.prefetch_enabled = prefetch
        self.concurrency = max(1, concurrency)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detopt-optimizer")
        self._to_tell: list[TrialView] = []
        self._version = 0
        self._prepared: _Prepared | None = None
        self.ask_seconds: deque[float] = deque(maxlen=20)
        self.all_ask_seconds: list[float] = []
        self.trial_seconds: deque[float] = deque(maxlen=50)
        self.stale_used = 0
        self.stale_discarded = 0
        self.fallbacks = 0
        self._fallback = optimizer.space.sobol(optimizer.seed + 7919)

    # --------------------------------------------------------------------------- input
    def tell(self, trials: Sequence[Trial | TrialView]) -> None:
        """Queue finished trials (as snapshots); the optimizer learns them before its next ask."""
        views = [t.snapshot() if isinstance(t, Trial) else t for t in trials]
        self._to_tell.extend(views)
        self._version += 1
        for t in views:
            if t.duration is not None:
                self.trial_seconds.append(t.duration)

    # -------------------------------------------------------------------------- output
    def take(self, n: int, pending: Sequence[Trial | TrialView]) -> list[Proposal]:
        """``n`` proposals that do not duplicate ``pending``; blocks until they exist.

        Prepared proposals are used first (a batch prepared for several slots is handed out
        over several calls); the rest is asked for now.
        """
        out: list[Proposal] = []
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            ready = prepared.future.result()
            if prepared.version == self._version or self._keep_stale():
                out, rest = ready[:n], ready[n:]
                self.stale_used += prepared.version != self._version
                if rest:  # keep the remainder of the batch for the next free slots
                    done: Future = Future()
                    done.set_result(rest)
                    self._prepared = _Prepared(done, prepared.version)
            else:
                self.stale_discarded += 1
        if len(out) < n:
            extra = _pending_like(out, start=-len(out))
            out += self._run(n - len(out), _views(pending) + extra).result()
        return out

    def prepare(self, pending: Sequence[Trial | TrialView]) -> None:
        """Start preparing proposals in the background (if prefetching and idle)."""
        if self.prefetch_enabled and self._prepared is None:
            self._prepared = _Prepared(self._run(self.batch_size(), _views(pending)),
                                       self._version)

    def batch_size(self) -> int:
        """How many slots free up while one ask runs (1 until both times are known)."""
        if not self.ask_seconds or not self.trial_seconds:
            return 1
        per_slot = statistics.median(self.trial_seconds) / self.concurrency
        if per_slot <= 0:
            return self.concurrency
        return max(1, min(self.concurrency,
                          math.ceil(statistics.median(self.ask_seconds) / per_slot)))

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------------ internals
    def _keep_stale(self) -> bool:
        if not self.ask_seconds or not self.trial_seconds:
            return True
        ask = statistics.median(self.ask_seconds)
        trial = statistics.median(self.trial_seconds)
        return ask >= STALE_RECOMPUTE_SHARE * trial

    def _run(self, n: int, pending: list[TrialView]) -> Future:
        told, self._to_tell = self._to_tell, []
        return self._thread.submit(self._tell_and_ask, told, n, pending)

    def _tell_and_ask(self, told: list[TrialView], n: int,
                      pending: list[TrialView]) -> list[Proposal]:
        if told:
            self.optimizer.tell(told)
        start = time.perf_counter()
        try:
            raw = self.optimizer.ask(n, pending)
            if len(raw) != n:
                raise RuntimeError(f"it returned {len(raw)} proposals for {n} asked")
            proposals = [p if isinstance(p, Proposal) else Proposal(p, self.optimizer.name)
                         for p in raw]
        except Exception:  # keep the workers busy; the failure is logged loudly
            log.exception("optimizer %r failed to propose; using Sobol designs instead",
                          self.optimizer.name)
            self.fallbacks += 1
            position = self.optimizer.n_known(pending)
            proposals = [Proposal(self._fallback.params(position + i), FALLBACK)
                         for i in range(n)]
        seconds = time.perf_counter() - start
        self.ask_seconds.append(seconds)
        self.all_ask_seconds.append(seconds)
        return proposals


def _views(trials: Sequence[Trial | TrialView]) -> list[TrialView]:
    return [t.snapshot() if isinstance(t, Trial) else t for t in trials]


def _pending_like(params_list: list[Proposal], start: int) -> list[TrialView]:
    """Temporary pending trials for proposals taken but not yet turned into trials."""
    return [Trial(index=start + i, params=dict(p)).snapshot() for i, p in enumerate(params_list)]
