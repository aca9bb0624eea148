"""What travels between the driver and a PanDA job: the JSON payload in, the result envelope out.

Stdlib only, so the worker side needs nothing but detopt itself.

* **Payload** (driver → job): one JSON string, the only argument of
  :func:`detopt.runners.panda.worker.run_trial`. iDDS pickles its arguments; a plain string
  keeps the job independent of the driver's Python and class versions.
* **Envelope** (job → driver): the worker's *return value*, JSON-safe by construction (iDDS
  2.6.21 drops non-JSON results silently, bug #3): ``{"detopt": "ok", "value": ...}``, or
  ``{"detopt": "error", ...}`` for an error that retrying cannot fix (an infeasible design):
  returning it instead of raising spares the PanDA retries. Retryable errors are *raised*,
  so PanDA's attempt policy applies, and arrive as iDDS failure messages.
* **Messages** (iDDS AsyncResult body, over STOMP or REST): ``{"ret": [status, output, error,
  metrics], "name", "key", "internal_id", "request_id", "transform_id", "type"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detopt.errors import ConfigError, RemoteTaskError

PAYLOAD_VERSION = 1
#: first line of an error text raised by the worker (then the short traceback)
_MAX_TRACEBACK = 3000


def to_json_safe(value: Any, _path: str = "result") -> Any:
    """``value`` with numpy scalars/arrays, tuples and sets turned into JSON types.

    Raises:
        TypeError: something that has no faithful JSON form (names the path to it).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)):
                raise TypeError(f"{_path} has a key of type {type(k).__name__}")
            out[str(k)] = to_json_safe(v, f"{_path}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v, f"{_path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [to_json_safe(v, f"{_path}[{i}]") for i, v in enumerate(sorted(value, key=repr))]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, without importing numpy
    if callable(tolist) and type(value).__module__ == "numpy":
        return to_json_safe(tolist(), _path)
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return to_json_safe(item(), _path)
    raise TypeError(f"{_path} is a {type(value).__module__}.{type(value).__qualname__}, "
                    "which has no JSON form")


def encode_payload(function: str, kwargs: Mapping[str, Any], env: Mapping[str, str],
                   label: str, durable: Mapping[str, Any] | None = None) -> str:
    """The JSON payload of one trial.

    Raises:
        ConfigError: the call's arguments have no JSON form.
    """
    try:
        safe_kwargs = to_json_safe(dict(kwargs), "arguments")
    except TypeError as exc:
        raise ConfigError(f"the evaluation arguments cannot travel to a PanDA job: {exc}.",
                          field="evaluate", fix="pass plain numbers, strings, lists and dicts") from None
    return json.dumps({"v": PAYLOAD_VERSION, "function": function, "kwargs": safe_kwargs,
                       "env": dict(env), "label": label, "durable": dict(durable or {})},
                      sort_keys=True)


def decode_payload(payload: str) -> dict[str, Any]:
    """The payload as a dict (checked for the fields the worker needs)."""
    data = json.loads(payload)
    if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION or "function" not in data:
        raise ValueError(f"not a detopt PanDA payload of version {PAYLOAD_VERSION}")
    return data


def ok_envelope(value: Any) -> dict[str, Any]:
    return {"detopt": "ok", "value": to_json_safe(value)}


def error_envelope(exc: RemoteTaskError) -> dict[str, Any]:
    return {"detopt": "error", "type": exc.type_name, "message": exc.message,
            "traceback": exc.traceback_text[-_MAX_TRACEBACK:], "retryable": exc.retryable}


def error_text(exc: RemoteTaskError) -> str:
    """The text a raised worker error carries (iDDS sends only ``str(exception)``)."""
    return f"{exc.type_name}: {exc.message}\n{exc.traceback_text[-_MAX_TRACEBACK:]}".rstrip()


@dataclass(frozen=True)
class Outcome:
    """One result message, decoded: a value, or the error of one attempt."""

    ok: bool
    value: Any = None
    error: RemoteTaskError | None = None
    final: bool = True  # False for a failed attempt that PanDA may still retry


def _parse_error_text(text: str) -> RemoteTaskError:
    first, _, rest = (text or "the job failed without a message").partition("\n")
    type_name, sep, message = first.partition(": ")
    if not sep or " " in type_name:
        type_name, message = "RemoteError", first
    return RemoteTaskError(type_name, message, rest)


def parse_message(body: Mapping[str, Any]) -> Outcome:
    """Decode an iDDS AsyncResult message body."""
    ret = body.get("ret")
    if not isinstance(ret, (list, tuple)) or len(ret) < 3:
        return Outcome(False, error=RemoteTaskError("BadMessage", f"unexpected result message {ret!r}", ""),
                       final=False)
    status, output, error = ret[0], ret[1], ret[2]
    if status is not True:
        return Outcome(False, error=_parse_error_text(str(error or "")), final=False)
    if isinstance(output, Mapping) and output.get("detopt") == "ok":
        return Outcome(True, value=output.get("value"))
    if isinstance(output, Mapping) and output.get("detopt") == "error":
        return Outcome(False, error=RemoteTaskError(
            str(output.get("type") or "Error"), str(output.get("message") or ""),
            str(output.get("traceback") or ""), retryable=bool(output.get("retryable", False))))
    return Outcome(False, error=RemoteTaskError(
        "BadResult", f"the job returned {output!r}, not a detopt result envelope "
        "(is detopt.runners.panda.worker:run_trial the work's function?)", "", retryable=False))


__all__ = ["Outcome", "decode_payload", "encode_payload", "error_envelope", "error_text",
           "ok_envelope", "parse_message", "to_json_safe"]
