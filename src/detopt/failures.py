"""The failure policy: what happens to a trial whose attempt failed.

An attempt that failed with a retryable error runs again while retries are left. Infeasible
designs, invalid results and configuration errors raised inside an evaluation are never
retried: the same parameters fail the same way. A trial out of retries is stored FAILED, or
(``on_failure: penalty``) COMPLETED with the penalty values so the optimizer steers away.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from detopt.errors import InvalidResultError, RemoteTaskError, TrialError
from detopt.settings import StudySettings
from detopt.trial import MetricValue

#: stored text is capped so one runaway message cannot bloat the store (the size is noted)
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 50_000


class FailureAction(StrEnum):
    RETRY = "retry"
    FAIL = "fail"
    PENALIZE = "penalize"


@dataclass(frozen=True)
class FailureDecision:
    action: FailureAction
    error: str                      # one line, capped
    traceback: str | None           # capped


class FailurePolicy:
    """Decides retry / fail / penalize for a failed attempt.

    Args:
        settings: the study's settings (``max_retries``, ``on_failure``, ``penalty``).
        default_retries: retries when the study sets none (the evaluation task's own
            ``@task(retries=...)``).
    """

    def __init__(self, settings: StudySettings, default_retries: int = 0):
        self.retries = settings.max_retries if settings.max_retries is not None \
            else default_retries
        self.penalize = settings.on_failure == "penalty"
        self.penalty: Mapping[str, float] = dict(settings.penalty or {})

    def decide(self, exc: BaseException, attempts: int) -> FailureDecision:
        """``attempts``: attempts that ran to an outcome, this one included."""
        error, text = describe(exc)
        retryable = exc.retryable if isinstance(exc, TrialError) else True
        if isinstance(exc, InvalidResultError):
            retryable = False
        if retryable and attempts <= self.retries:
            action = FailureAction.RETRY
        else:
            action = FailureAction.PENALIZE if self.penalize else FailureAction.FAIL
        return FailureDecision(action, error, text)

    def penalty_metrics(self) -> dict[str, MetricValue]:
        return {m: (float(v), None) for m, v in self.penalty.items()}


def describe(exc: BaseException) -> tuple[str, str | None]:
    """``(one-line reason, traceback text)`` of a failure, both capped in size."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(exc, RemoteTaskError):
        one_line, text = message, exc.traceback_text
    else:
        name = type(exc).__name__
        one_line = f"{name}: {message}" if message else name
        text = "".join(traceback.format_exception(exc))
    return cap(one_line, MAX_ERROR_CHARS), cap(text, MAX_TRACEBACK_CHARS) if text else None


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text):,} characters, cut to {limit:,}]"


__all__ = ["FailureAction", "FailureDecision", "FailurePolicy", "cap", "describe"]
