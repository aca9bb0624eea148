"""Proposal pipeline: the optimizer works in a background thread, ahead of the study loop.

While every worker is busy, the next design is already being prepared, so a free slot is
refilled at once instead of waiting for ``optimizer.ask``. All optimizer calls (``tell`` and
``ask``) happen on one thread, in order, so optimizers need no locking.

A prepared proposal may be *stale*: results arrived after it was computed. It is used anyway
when computing a fresh one would keep a worker idle for a noticeable share of a trial's run
time; otherwise it is thrown away and a fresh one is computed. ``ask`` does not change the
optimizer's state, so a discarded proposal costs only the time spent on it.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from detopt.optimizers.base import Optimizer
from detopt.trial import Trial

log = logging.getLogger("detopt")

#: a stale proposal is recomputed when asking takes less than this share of a trial's run time
STALE_RECOMPUTE_SHARE = 0.05


@dataclass
class _Prepared:
    future: Future  # -> list of parameter dicts
    version: int    # how many tell() calls the optimizer had seen when it started


class ProposalPipeline:
    """Serializes optimizer calls on a worker thread and keeps one proposal prepared ahead.

    Args:
        optimizer: the optimizer (used only from the pipeline's thread).
        prefetch: prepare the next proposal while workers are busy.
    """

    def __init__(self, optimizer: Optimizer, prefetch: bool = True):
        self.optimizer = optimizer
        self.prefetch_enabled = prefetch
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detopt-optimizer")
        self._to_tell: list[Trial] = []
        self._version = 0
        self._prepared: _Prepared | None = None
        self.ask_seconds: deque[float] = deque(maxlen=20)
        self.trial_seconds: deque[float] = deque(maxlen=50)
        self.stale_used = 0
        self.stale_discarded = 0
        self.fallbacks = 0
        self._fallback = optimizer.space.sobol(optimizer.seed + 7919)

    # --------------------------------------------------------------------------- input
    def tell(self, trials: Sequence[Trial]) -> None:
        """Queue finished trials; the optimizer learns them before its next ask."""
        self._to_tell.extend(trials)
        self._version += 1
        for t in trials:
            if t.duration is not None:
                self.trial_seconds.append(t.duration)

    # -------------------------------------------------------------------------- output
    def take(self, n: int, pending: Sequence[Trial]) -> list[dict[str, Any]]:
        """``n`` proposals that do not duplicate ``pending``; blocks until they exist."""
        out: list[dict[str, Any]] = []
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            proposals = prepared.future.result()
            if prepared.version == self._version or self._keep_stale():
                out = proposals[:n]
                self.stale_used += prepared.version != self._version
            else:
                self.stale_discarded += 1
        if len(out) < n:
            extra = _pending_like(out, start=-len(out))
            out += self._run(n - len(out), list(pending) + extra).result()
        return out

    def prepare(self, pending: Sequence[Trial]) -> None:
        """Start preparing one proposal in the background (if prefetching and idle)."""
        if self.prefetch_enabled and self._prepared is None:
            self._prepared = _Prepared(self._run(1, list(pending)), self._version)

    def discard_prepared(self) -> None:
        self._prepared = None

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------------ internals
    def _keep_stale(self) -> bool:
        if not self.ask_seconds or not self.trial_seconds:
            return True
        ask = statistics.median(self.ask_seconds)
        trial = statistics.median(self.trial_seconds)
        return ask >= STALE_RECOMPUTE_SHARE * trial

    def _run(self, n: int, pending: list[Trial]) -> Future:
        told, self._to_tell = self._to_tell, []
        return self._thread.submit(self._tell_and_ask, told, n, pending)

    def _tell_and_ask(self, told: list[Trial], n: int, pending: list[Trial]) -> list[dict[str, Any]]:
        if told:
            self.optimizer.tell(told)
        start = time.perf_counter()
        try:
            proposals = self.optimizer.ask(n, pending)
            if len(proposals) != n:
                raise RuntimeError(f"it returned {len(proposals)} proposals for {n} asked")
        except Exception:  # keep the workers busy; the failure is logged loudly
            log.exception("optimizer %r failed to propose; using Sobol designs instead",
                          self.optimizer.name)
            self.fallbacks += 1
            position = self.optimizer.n_known(pending)
            proposals = [self._fallback.params(position + i) for i in range(n)]
        self.ask_seconds.append(time.perf_counter() - start)
        return proposals


def _pending_like(params_list: list[dict[str, Any]], start: int) -> list[Trial]:
    """Temporary pending trials for proposals taken but not yet turned into trials."""
    return [Trial(index=start + i, params=p) for i, p in enumerate(params_list)]
