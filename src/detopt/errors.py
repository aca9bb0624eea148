"""Exceptions shared by every layer of detopt.

Two families matter:

* :class:`DetoptError` is a *user* error (bad config, unknown name, malformed constraint).
  Its message names the offending field and the fix; the CLI prints it in one or two lines
  without a traceback and exits with status 2.
* :class:`TrialError` and its subclasses describe why a single *trial* failed. They are
  stored with the trial; the study keeps running according to its failure policy.
"""

from __future__ import annotations


class DetoptError(Exception):
    """A user-facing error: the message says what is wrong and how to fix it.

    Args:
        message: what is wrong, in one sentence.
        field: dotted path of the offending input (e.g. ``problem.parameters[2].low``).
        fix: a short hint on how to fix it.
    """

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class ConfigError(DetoptError):
    """The study configuration (YAML or Python objects) is invalid."""


class ConstraintSyntaxError(ConfigError):
    """A linear or outcome constraint string could not be parsed."""


class StorageError(DetoptError):
    """The storage cannot be opened or does not hold the requested study."""


class TrialError(Exception):
    """Base class for reasons a trial failed; the message is stored with the trial."""

    #: whether retrying the same parameters can succeed (infeasible designs cannot)
    retryable: bool = True


class InfeasibleDesignError(TrialError):
    """The design violates a hard constraint (e.g. a geometric overlap).

    Raised by an evaluation function, typically within milliseconds, before any expensive
    simulation starts. Never retried: the same parameters violate the same constraint.

    Args:
        constraint: name of the violated constraint.
        margin: how far the design is from satisfying it (negative, in the constraint's unit).
        detail: optional human-readable explanation.
    """

    retryable = False

    def __init__(self, constraint: str, margin: float | None = None, detail: str = ""):
        self.constraint = constraint
        self.margin = margin
        self.detail = detail
        text = f"infeasible design: constraint '{constraint}' violated"
        if margin is not None:
            text += f" (margin {margin:.4g})"
        if detail:
            text += f": {detail}"
        super().__init__(text)

    def __reduce__(self):  # keep the fields when pickled across processes
        return (type(self), (self.constraint, self.margin, self.detail))


class InvalidResultError(TrialError):
    """The evaluation returned a result that cannot be used (NaN, missing metric, bad type)."""

    retryable = False


class TrialTimeoutError(TrialError):
    """The trial ran longer than its timeout and was stopped."""


class RemoteTaskError(TrialError):
    """An exception raised inside a task that ran in another process or on another host.

    The original exception object may not be importable where the result is read, so its
    type name, message and formatted traceback travel as plain text.
    """

    def __init__(self, type_name: str, message: str, traceback_text: str, retryable: bool = True):
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text
        self.retryable = retryable
        super().__init__(f"{type_name}: {message}")

    def __reduce__(self):
        return (type(self), (self.type_name, self.message, self.traceback_text, self.retryable))


class WorkerLostError(TrialError):
    """The process or job running the trial died without returning (crash, OOM, node failure)."""
