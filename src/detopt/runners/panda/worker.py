"""What a PanDA job runs: ``run_trial(payload)``, the function of every work detopt submits.

iDDS's ``run_workflow`` imports it by reference (``detopt.runners.panda.worker:run_trial``)
in the job's directory, where the user's source tarball was unpacked, and calls it with the
JSON payload (see :mod:`detopt.runners.panda.wire`). It runs the trial's task like any other
detopt worker (:func:`detopt.task.execute`) and returns a JSON-safe envelope, which iDDS
publishes over STOMP (or REST when the broker is down).

On an error that PanDA should retry, it raises ``RuntimeError("<type>: <message>\\n<short
traceback>")``: iDDS sends only ``str(exception)``, so the type and the traceback travel inside
the message, and the job exits non-zero, so PanDA's attempt policy (``retries``) applies.
Errors that cannot improve on a retry (infeasible designs, invalid results, configuration
errors) are returned as an error envelope instead: the job succeeds and PanDA does not retry.

Every outcome is also posted to the iDDS REST message store of the trial (``durable`` part of
the payload), so a driver that was down while the job ended still finds it on resume (a STOMP
topic keeps nothing for absent subscribers). A failed post is logged and otherwise ignored.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from detopt.errors import RemoteTaskError
from detopt.runners.panda import wire
from detopt.task import Resources, TaskCall, execute


def run_trial(payload: str) -> dict[str, Any]:
    """Run the trial in ``payload`` and return its result envelope (or raise, to be retried)."""
    data = wire.decode_payload(payload)
    if os.getcwd() not in sys.path:  # the unpacked source tarball is the job's directory
        sys.path.insert(0, os.getcwd())
    call = TaskCall(data["function"], data.get("kwargs") or {},
                    Resources(env={str(k): str(v) for k, v in (data.get("env") or {}).items()}),
                    label=str(data.get("label") or ""))
    try:
        try:
            envelope = wire.ok_envelope(execute(call))
        except TypeError as exc:  # the value has no JSON form: the same on every attempt
            raise RemoteTaskError("InvalidResultError", f"the result cannot be sent back: {exc}",
                                  "", retryable=False) from None
    except RemoteTaskError as exc:
        if exc.retryable:
            text = wire.error_text(exc)
            _store(data, [False, None, text, {}])
            raise RuntimeError(text) from None
        envelope = wire.error_envelope(exc)
    _store(data, [True, envelope, None, {}])
    return envelope


def _store(data: dict[str, Any], ret: list[Any]) -> None:
    durable = data.get("durable") or {}
    if not durable.get("request_id") or not durable.get("internal_id"):
        return
    try:
        from detopt.runners.panda.backend import post_result_message

        post_result_message(durable, ret)
    except Exception as exc:  # noqa: BLE001 - the STOMP copy may still arrive; never fail the job
        sys.stderr.write(f"detopt: could not store the result in iDDS ({type(exc).__name__}: "
                         f"{exc}); relying on the broker\n")


__all__ = ["run_trial"]
