"""PanDA runner: each call is one iDDS work (one PanDA job) of the runner's iDDS request.

Set-up, all before anything is submitted, so a problem is one ``ConfigError`` (the CLI: one
line, exit 2): the credential is found and checked; the source tarball is built and checked
against the PanDA cache limit; the broker configuration is loaded (``IDDS_BROKER*`` or the
server), the STOMP broker is connected and iDDS's loopback self-test (``pre_run``) passes; the
tarball is uploaded; the request (a local iDDS workflow) is registered.

Per call: a Work with a unique name (= its job key) running
:func:`detopt.runners.panda.worker.run_trial` on a JSON payload, with the call's cores, memory
and walltime (or the runner's defaults) and ``max_attempt = retries + 1``. Its
``internal_id`` is subscribed on the broker before submission. A success message resolves the
future; a failure message is one failed attempt (PanDA may retry it); the last failure's text
becomes the trial's error once iDDS reports the work ended. While the broker is unreachable,
results come from the iDDS REST message store (``rest_poll_interval``).

Durable: works outlive the driver. The handle is ``idds:<request>:<transform>:<internal id>``;
:meth:`reattach` watches the work again (REST first, for what was published while no driver
listened). Before each submission a line goes to ``<workdir>/journal.jsonl``, so a driver killed
between submitting and storing the handle is found by its label (the study's intent handle)
and adopted instead of submitted twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detopt import plugins
from detopt.errors import ConfigError, RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners.base import INTENT_PREFIX, Runner, RunnerFuture, TrialCancelledError, safe_name, settle
from detopt.runners.panda import wire
from detopt.runners.panda.options import PandaOptions
from detopt.task import TaskCall

log = logging.getLogger("detopt.panda")
HANDLE_PREFIX = "idds:"


@dataclass
class _Work:
    """A submitted work the poller watches."""

    label: str
    name: str
    internal_id: str
    request_id: int
    transform_id: int | None
    future: RunnerFuture
    deadline: float
    status: str | None = None
    ended_at: float | None = None  # monotonic time iDDS first reported a terminal state
    last_error: RemoteTaskError | None = None
    failed_attempts: int = 0
    checked_at: float = field(default_factory=time.monotonic)


def parse_handle(handle: str) -> tuple[int, int, str] | None:
    """``(request_id, transform_id, internal_id)`` of a stored handle, None if it is not ours."""
    if not handle.startswith(HANDLE_PREFIX):
        return None
    parts = handle.removeprefix(HANDLE_PREFIX).split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def options_from_config(options: dict[str, Any]) -> PandaOptions:
    """Validate a ``runner`` section; errors name the plugin, the field and what is allowed."""
    return plugins.parse_options("runner", "panda", PandaOptions, options, "runner")  # type: ignore[return-value]


class PandaRunner(Runner):
    """Runs each call as one PanDA job through iDDS (see the module docstring)."""

    name = "panda"
    durable = True
    Options = PandaOptions

    def __init__(self, options: PandaOptions | None = None, **kwargs: Any):
        opts = self._settings(options, kwargs)
        from detopt.runners.panda import backend as backend_module
        from detopt.runners.panda.credentials import find_credential
        from detopt.runners.panda.packaging import build_archive

        backend_module.require_libraries()
        self.options = opts
        self.workdir = Path(opts.workdir).absolute()
        self.credential = find_credential(opts.auth, vo=opts.vo,
                                          token_file=str(opts.token_file) if opts.token_file else None,
                                          x509_proxy=str(opts.x509_proxy) if opts.x509_proxy else None)
        os.environ.update(self.credential.env)  # the client libraries read it from there
        self.workdir.mkdir(parents=True, exist_ok=True)
        tag = f"detopt-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.archive = build_archive(opts.source_dir, self.workdir / f"{tag}.tar.gz", opts.excludes)
        self.backend = backend_module.PandaIddsBackend(opts.service, opts.idds_host,
                                                       timeout=opts.connect_timeout)
        self.backend.open_workflow(
            name=tag, queue=opts.queue, site=opts.site, cloud=opts.cloud, vo=opts.vo,
            working_group=opts.working_group, init_env=opts.init_env, clean_env=opts.clean_env,
            container=opts.container, cores=opts.cores, memory_mb=opts.memory_mb,
            walltime_s=opts.walltime_s, max_attempt=opts.retries + 1)
        where = opts.idds_host or os.environ.get("IDDS_HOST") or "the PanDA server"
        server = (opts.idds_host or os.environ.get("IDDS_HOST")) if opts.service == "idds" \
            else os.environ.get("PANDA_URL_SSL")
        server_field = "runner.idds_host" if opts.service == "idds" else "runner.service"
        env_brokers = all(os.environ.get(f"IDDS_BROKER{k}") for k in
                          ("S", "_DESTINATION", "_USERNAME", "_PASSWORD"))
        if server and not env_brokers:  # the broker settings come from the server: ask it first
            _probe(server, server_field, opts.connect_timeout)  # seconds, not the client's retries
        broker = self.backend.init_brokers()
        from detopt.runners.panda.channel import ResultChannel

        self._works: dict[str, _Work] = {}
        self._lock = threading.Lock()
        #: outcomes taken from each path ("stomp", "rest"): what the tests and benchmarks read
        self.delivered: Counter[str] = Counter()
        self.channel = ResultChannel(broker, lambda body: self._on_message(body, "stomp"),
                                     timeout=opts.connect_timeout)
        try:
            self.channel.connect()
        except (ConnectionError, ValueError) as exc:
            raise ConfigError(f"{exc}.", field="runner.service",
                              fix="check IDDS_BROKERS or the server's [asyncresult] broker settings") from None
        try:
            if server:
                _probe(server, server_field, opts.connect_timeout)
            self.backend.ping()
        except ConfigError:
            self.channel.close()
            raise
        except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
            self.channel.close()
            raise ConfigError(f"the iDDS server {where} does not answer ({_short(exc)}).",
                              field="runner.idds_host", fix="check the URL and that it is up") from None
        if not self.backend.pre_run():
            self.channel.close()
            raise ConfigError(f"iDDS's result-channel self-test failed on {broker.brokers} "
                              f"({broker.destination}).", field="runner.service",
                              fix="check the broker credentials and destination")
        try:
            url = self.backend.upload_sources(str(self.archive.path)) if opts.upload else None
            self.backend.set_remote_sources(url)
            self.request_id = self.backend.submit_request()
        except ConfigError:
            self.channel.close()
            raise
        except Exception as exc:  # noqa: BLE001 - anything the servers answer
            self.channel.close()
            raise ConfigError(f"{where} refused the request: {_short(exc)}.", field="runner",
                              fix="check the credential, the VO and the queue") from None
        log.info("iDDS request %s opened (%d files, %.1f MB of sources)", self.request_id,
                 self.archive.files, self.archive.size / 1e6)
        self._journal = self.workdir / "journal.jsonl"
        self._closed = False
        self._wake = threading.Event()
        self._last_rest = 0.0
        self._poller = threading.Thread(target=self._poll_loop, name="detopt-panda-poller",
                                        daemon=True)
        self._poller.start()

    @property
    def slots(self) -> int:
        return self.options.slots

    # ---------------------------------------------------------------- submission
    def work_for(self, call: TaskCall, internal_id: str) -> Any:
        """The iDDS Work of ``call`` (not submitted)."""
        return trial_work(self.backend, self.options, call, internal_id, self.request_id)

    def submit(self, call: TaskCall) -> RunnerFuture:
        if self._closed:
            raise RuntimeError("the runner is closed")
        internal_id = uuid.uuid4().hex[:8]  # iDDS's own format; also the STOMP selector
        work = self.work_for(call, internal_id)
        future = RunnerFuture()
        future.set_running_or_notify_cancel()
        entry = _Work(call.label, work.name, internal_id, self.request_id, None, future,
                      time.monotonic() + self.options.result_timeout_s)
        self._append_journal(entry)
        with self._lock:
            self._works[internal_id] = entry
        self.channel.subscribe(internal_id)  # before the job can publish
        try:
            entry.transform_id = self.backend.submit_work(work)
        except Exception as exc:  # noqa: BLE001 - refused or unreachable: this attempt fails
            self._forget(entry)
            settle(future, exc=WorkerLostError(f"iDDS did not accept the work: {_short(exc)}"))
            return future
        future.handle = f"{HANDLE_PREFIX}{self.request_id}:{entry.transform_id}:{internal_id}"
        future.logs = {"idds": f"request {self.request_id} transform {entry.transform_id}",
                       "work": work.name}
        return future

    def _append_journal(self, entry: _Work) -> None:
        line = json.dumps({"label": entry.label, "request_id": entry.request_id,
                           "internal_id": entry.internal_id, "name": entry.name,
                           "time": time.time()})
        with open(self._journal, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    # ------------------------------------------------------------------ reattach
    def reattach(self, handle: str) -> RunnerFuture | None:
        """Watch a work submitted by an earlier driver; None if iDDS does not know it."""
        if handle.startswith(INTENT_PREFIX):
            return self._adopt(handle.removeprefix(INTENT_PREFIX))
        parsed = parse_handle(handle)
        if parsed is None:
            return None
        request_id, transform_id, internal_id = parsed
        try:
            tf = self.backend.transform(request_id, transform_id)
        except Exception as exc:  # noqa: BLE001 - server briefly away: keep watching
            log.warning("cannot check iDDS transform %s now (%s); watching it anyway",
                        transform_id, _short(exc))
            tf = {"status": "Unknown", "name": None}
        if tf.get("status") is None:
            return None  # iDDS has no such transform: the study runs the trial again
        future = RunnerFuture(handle=handle, logs={
            "idds": f"request {request_id} transform {transform_id}", "work": tf.get("name") or ""})
        future.set_running_or_notify_cancel()
        entry = _Work("", tf.get("name") or "", internal_id, request_id, transform_id, future,
                      time.monotonic() + self.options.result_timeout_s)
        with self._lock:
            self._works[internal_id] = entry
        self.channel.subscribe(internal_id)
        self._poll_rest([entry])  # what was published while no driver listened
        self._wake.set()
        return future

    def _adopt(self, label: str) -> RunnerFuture | None:
        """The work of a submission whose driver died before storing its handle."""
        found = None
        if self._journal.exists():
            for line in self._journal.read_text().splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if item.get("label") == label:
                    found = item
        if found is None:
            return None
        try:
            transform_id = self.backend.find_transform(int(found["request_id"]), found["name"])
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot look up work %s (%s); running the trial again", found["name"], _short(exc))
            return None
        if transform_id is None:
            return None  # never reached iDDS
        log.info("adopting iDDS transform %s (%s), submitted by a driver that died", transform_id, label)
        return self.reattach(f"{HANDLE_PREFIX}{found['request_id']}:{transform_id}:{found['internal_id']}")

    # ------------------------------------------------------------------- results
    def _on_message(self, body: dict[str, Any], via: str) -> None:
        with self._lock:
            entry = self._works.get(str(body.get("internal_id")))
        if entry is None:
            return
        outcome = wire.parse_message(body)
        if outcome.ok or outcome.final:
            if self._finish(entry, result=outcome.value, error=None if outcome.ok else outcome.error):
                self.delivered[via] += 1
        else:  # one failed attempt: PanDA may still retry it
            with self._lock:
                entry.last_error = outcome.error
                entry.failed_attempts += 1
            log.info("%s: attempt failed (%s)", entry.name, outcome.error)

    def _finish(self, entry: _Work, result: Any = None, error: BaseException | None = None) -> bool:
        with self._lock:
            if self._works.pop(entry.internal_id, None) is None:
                return False  # delivered twice (STOMP and REST), or cancelled
        self.channel.unsubscribe(entry.internal_id)
        settle(entry.future, result=result, exc=error)
        return True

    def _forget(self, entry: _Work) -> None:
        with self._lock:
            self._works.pop(entry.internal_id, None)
        self.channel.unsubscribe(entry.internal_id)

    # -------------------------------------------------------------- poller thread
    def _poll_loop(self) -> None:
        tick = min(1.0, self.options.status_interval, self.options.rest_poll_interval)
        while not self._closed:
            self._wake.wait(tick)
            self._wake.clear()
            if self._closed:
                return
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the poller must survive anything
                log.exception("PanDA poll failed; retrying")

    def poll(self) -> None:
        """One round: reconnect STOMP, REST fallback, iDDS states, grace and timeouts."""
        with self._lock:
            works = list(self._works.values())
        if not works:
            return
        now = time.monotonic()
        reconnected = self.channel.ensure()
        if reconnected or (not self.channel.up and
                           now - self._last_rest >= self.options.rest_poll_interval):
            self._last_rest = now
            self._poll_rest(works)
        for entry in works:
            if entry.future.done():
                continue
            if now > entry.deadline:
                self._cancel_work(entry)
                self._finish(entry, error=TrialTimeoutError(
                    f"no result from iDDS work {entry.name} within "
                    f"{self.options.result_timeout_s:g} s (result_timeout); the work was cancelled"))
                continue
            if entry.ended_at is None and now - entry.checked_at < self.options.status_interval:
                continue
            entry.checked_at = now
            if entry.ended_at is None:
                self._check_status(entry, now)
            elif now - entry.ended_at >= self.options.result_grace_s:
                self._poll_rest([entry])
                if not entry.future.done():
                    self._finish(entry, error=self._no_result_error(entry))

    def _check_status(self, entry: _Work, now: float) -> None:
        from detopt.runners.panda.backend import TERMINAL

        try:
            tf = self.backend.transform(entry.request_id, entry.transform_id or 0)
        except Exception as exc:  # noqa: BLE001
            log.debug("status of %s unavailable: %s", entry.name, _short(exc))
            return
        entry.status = tf.get("status")
        if entry.status in TERMINAL or entry.status is None:
            entry.ended_at = now
            self._poll_rest([entry])  # results published over REST, or missed on STOMP

    def _no_result_error(self, entry: _Work) -> BaseException:
        if entry.last_error is not None:
            return entry.last_error  # the last attempt's message (type, text, short traceback)
        if entry.status == "Cancelled":
            return TrialCancelledError(f"iDDS work {entry.name} was cancelled")
        return WorkerLostError(
            f"iDDS work {entry.name} (request {entry.request_id}, transform {entry.transform_id}) "
            f"ended {entry.status or 'unknown to iDDS'} without a result "
            f"within {self.options.result_grace_s:g} s")

    def _poll_rest(self, works: list[_Work]) -> None:
        for entry in works:
            try:
                bodies = self.backend.messages(entry.request_id, entry.transform_id,
                                               entry.internal_id)
            except Exception as exc:  # noqa: BLE001 - server away too: try again later
                log.debug("REST poll of %s failed: %s", entry.name, _short(exc))
                continue
            for body in sorted(bodies, key=lambda b: bool((b.get("ret") or [False])[0])):
                self._on_message(body, "rest")  # failures first, so a success wins

    # ------------------------------------------------------------ cancel / close
    def _cancel_work(self, entry: _Work) -> None:
        try:
            if entry.transform_id is not None:
                self.backend.cancel(entry.request_id, entry.transform_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not cancel iDDS work %s: %s", entry.name, _short(exc))

    def cancel(self, future: Any) -> bool:
        with self._lock:
            entry = next((w for w in self._works.values() if w.future is future), None)
        if entry is None:
            return future.done()
        self._cancel_work(entry)
        self._finish(entry, error=TrialCancelledError(f"iDDS work {entry.name} cancelled by detopt"))
        return True

    def close(self) -> None:
        """Stop listening. Works keep running (durable); their futures say how to re-attach."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._wake.set()
        self._poller.join(timeout=30)
        with self._lock:
            works, self._works = list(self._works.values()), {}
        for entry in works:
            settle(entry.future, exc=TrialCancelledError(
                f"the runner was closed; iDDS work {entry.name} keeps running "
                f"(re-attach with handle {entry.future.handle})"))
        self.channel.close()
        if not works:
            try:
                self.backend.close_request()
            except Exception as exc:  # noqa: BLE001 - the request expires by itself
                log.debug("could not close iDDS request %s: %s", self.request_id, _short(exc))


def work_name(call: TaskCall, internal_id: str) -> str:
    """Unique per submission (iDDS refuses two works of one name in a request, bug #8); also
    the job key results are published under (bug #1)."""
    return f"{safe_name(call.label, 'detopt')}-{internal_id}"


def trial_work(backend: Any, o: PandaOptions, call: TaskCall, internal_id: str,
               request_id: int) -> Any:
    """The iDDS Work of one call: the payload, the call's resources over the runner's defaults."""
    from detopt.runners.panda.backend import WORKER_FUNCTION

    res, name = call.resources, work_name(call, internal_id)
    durable = {"request_id": request_id, "internal_id": internal_id, "name": WORKER_FUNCTION,
               "key": name, "service": o.service, "idds_host": o.idds_host} if o.durable_results else None
    payload = wire.encode_payload(call.function, call.kwargs, res.env, call.label, durable)
    return backend.make_work(payload, name=name, internal_id=internal_id,
                             cores=max(res.cores, o.cores), memory_mb=res.memory_mb or o.memory_mb,
                             walltime_s=res.walltime or o.walltime_s, max_attempt=o.retries + 1)


def _probe(url: str, field_name: str, timeout: float) -> None:
    """Raise a ConfigError when nothing accepts TCP connections at ``url``'s host and port."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(f"the server {url} does not answer ({exc.strerror or type(exc).__name__}).",
                          field=field_name, fix="check the URL and that the server is up") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


__all__ = ["PandaRunner", "parse_handle", "trial_work", "work_name"]
