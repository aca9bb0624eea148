"""Dask runner: calls become Dask tasks on a distributed cluster.

Connects to a running scheduler (``address``) or starts a private ``LocalCluster`` (worker
processes on 127.0.0.1). Each call is one task, ``detopt.task.execute(call)``, with the key
``detopt-<label>-<random>``; that key is the future's ``handle``. Workers import the function
by reference, so its module must be importable there (installed, on the workers'
``PYTHONPATH``, or sent with ``upload``: ``client.upload_file``, which also reaches workers
that join later).

Durability: a Dask scheduler forgets a task as soon as no client wants it, so by itself a task
dies with the driver. On a long-lived scheduler (``address`` given) the runner therefore
*publishes* each task that has run ``publish_after`` seconds (default 5) under its key
(``Client.publish_dataset``): the scheduler then holds it for a client that no longer exists,
it keeps running, and its result or error stays in the cluster until a new driver picks it up
with :meth:`DaskRunner.reattach` (``get_dataset``) and collects it (``unpublish_dataset``).
Publishing and unpublishing are batched (one scheduler round trip for all tasks due at that
moment) on a thread of their own. Shorter tasks are never published: a crash loses at most
``publish_after`` seconds of their work, and short calls pay nothing for durability. A private
``LocalCluster`` dies with the driver, so there the runner is not durable.

Limits (Dask's, stated plainly): a running task cannot be interrupted. A call's ``walltime``
(or the runner's ``walltime``) makes its future fail with :class:`~detopt.errors.TrialTimeoutError` and
releases the task, but the worker thread runs the function to its end. ``env`` is set in the
worker *process* for the call; with several threads per worker, calls see each other's values.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator, \
    model_validator

from detopt.errors import ConfigError, RemoteTaskError, TrialTimeoutError, WorkerLostError
from detopt.runners.base import (
    Runner,
    RunnerFuture,
    RunnerOptions,
    TrialCancelledError,
    safe_name,
    settle,
)
from detopt.task import Resources, TaskCall, execute
from detopt.units import Duration

log = logging.getLogger("detopt.dask")

#: detopt resources -> the Dask worker resource names they are matched against
#: (the names used in Dask's documentation: ``dask worker --resources "CPU=4,GPU=1,MEMORY=16e9"``)
RESOURCE_NAMES = {"cores": "CPU", "gpus": "GPU", "memory": "MEMORY"}


@dataclass
class _Entry:
    """A task this runner waits for."""

    key: str
    dask_future: Any
    future: RunnerFuture
    deadline: float | None  # time.monotonic(); None = no limit
    limit: float | None


def _key(label: str) -> str:
    return f"detopt-{safe_name(label)}-{uuid.uuid4().hex[:10]}"


class DaskOptions(RunnerOptions):
    """Options of the ``dask`` runner."""

    address: str | None = Field(None, description=(
        "scheduler address (tcp://host:8786); none starts a private LocalCluster"))
    workers: PositiveInt | None = Field(None, description=(
        "worker processes of the LocalCluster (default: CPU cores)"))
    threads_per_worker: PositiveInt = Field(1, description="threads per LocalCluster worker")
    walltime: Duration | None = Field(None, description=(
        "default time limit of one evaluation; a call's own walltime wins"))
    upload: list[str] = Field(default_factory=list, description=(
        ".py/.zip/.egg files sent to every worker (client.upload_file)"))
    resources: Literal["auto", "none"] = Field("auto", description=(
        "auto: request the worker resources CPU/GPU/MEMORY a call needs (only the names the "
        "workers declare); none: never restrict placement"))
    durable: bool | None = Field(None, description=(
        "keep tasks alive without a driver (default: true with an address)"))
    publish_after: NonNegativeFloat = Field(5.0, description=(
        "seconds a task runs before it is published (made durable)"))
    slots: PositiveInt | None = Field(None, description=(
        "default concurrency of a study (default: the cluster's total threads)"))
    connect_timeout: PositiveFloat = Field(30.0, description="seconds to wait for the scheduler")

    @field_validator("upload", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> DaskOptions:
        if self.durable and self.address is None:
            raise ConfigError("a LocalCluster started by the runner dies with the driver.",
                              field="runner.durable", fix="give the address of a long-lived "
                              "scheduler, or drop durable")
        for i, name in enumerate(self.upload):
            path = Path(name)
            if not path.is_file() or path.suffix not in (".py", ".zip", ".egg"):
                raise ConfigError(f"{path} is not a .py, .zip or .egg file.",
                                  field=f"runner.upload[{i}]", fix="give an existing file")
        return self


class DaskRunner(Runner):
    """Runs calls as tasks on a Dask cluster (options: :class:`DaskOptions`)."""

    name = "dask"
    Options = DaskOptions

    def __init__(self, options: DaskOptions | None = None, **kwargs: Any):
        from distributed import Client, LocalCluster

        settings = self._settings(options, kwargs)
        address, workers = settings.address, settings.workers
        threads_per_worker, connect_timeout = settings.threads_per_worker, settings.connect_timeout
        slots = settings.slots
        resources = settings.resources
        uploads = [Path(p) for p in settings.upload]
        self.walltime = settings.walltime
        self.durable = address is not None if settings.durable is None else settings.durable
        self.publish_after = float(settings.publish_after)
        self._cluster = None
        if address is None:
            try:  # worker processes; every socket on loopback (the HTTP server too)
                self._cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=threads_per_worker, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", resources={"CPU": threads_per_worker})
            except RuntimeError as exc:
                # the usual cause: worker processes are spawned and re-import the driver's
                # __main__, which fails for stdin/notebook code or unguarded scripts
                raise ConfigError(f"cannot start a Dask LocalCluster ({exc}).",
                                  field="runner.address", fix="run the study from a script with "
                                  "'if __name__ == \"__main__\":', or give a scheduler address"
                                  ) from exc
            self.client = Client(self._cluster, set_as_default=False)
        else:
            try:
                self.client = Client(address, timeout=connect_timeout, set_as_default=False)
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {address} ({exc}).",
                                  field="runner.address", fix="start the scheduler or fix the "
                                  "address") from None
        try:
            for path in uploads:
                self.client.upload_file(str(path))
            info = self.client.scheduler_info(n_workers=-1)["workers"].values()
            self._offered: dict[str, float] = {}
            if resources == "auto":
                for worker in info:
                    for name, amount in (worker.get("resources") or {}).items():
                        self._offered[name] = max(self._offered.get(name, 0.0), float(amount))
            self._slots = slots or max(1, sum(w.get("nthreads", 1) for w in info))
        except BaseException:
            self._shutdown()
            raise
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # collector inbox: ("ok" | "error", key, result | exception), None to wake it
        self._inbox: queue.SimpleQueue[tuple[str, str, Any] | None] = queue.SimpleQueue()
        # publisher inbox, in order: ("publish", entry) | ("adopt" | "unpublish", key) | None
        self._datasets: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._collector = threading.Thread(target=self._collect_loop, name="detopt-dask-collector",
                                           daemon=True)
        self._collector.start()
        self._publisher = threading.Thread(target=self._publish_loop, name="detopt-dask-publisher",
                                           daemon=True)
        self._publisher.start()

    @property
    def slots(self) -> int:
        return self._slots

    # ------------------------------------------------------------------------ submission
    def resource_request(self, resources: Resources) -> dict[str, float] | None:
        """The Dask resource restrictions for a call (only names some worker offers).

        Raises:
            ConfigError: the call asks for more than the largest worker offers (it would wait
                forever).
        """
        wanted = {RESOURCE_NAMES["cores"]: resources.cores, RESOURCE_NAMES["gpus"]: resources.gpus,
                  RESOURCE_NAMES["memory"]: (resources.memory_mb or 0) * 2**20}
        request = {name: float(amount) for name, amount in wanted.items()
                   if amount and name in self._offered}
        for name, amount in request.items():
            if amount > self._offered[name]:
                raise ConfigError(f"a call needs {name}={amount:g} but the largest Dask worker "
                                  f"offers {name}={self._offered[name]:g}.", field="resources",
                                  fix="ask for less, or start workers with more")
        return request or None

    def submit(self, call: TaskCall) -> RunnerFuture:
        if self._closed:
            raise RuntimeError("the runner is closed")
        key = _key(call.label)
        dask_future = self.client.submit(execute, call, key=key, pure=False,
                                         resources=self.resource_request(call.resources))
        limit = call.resources.walltime or self.walltime
        entry = _Entry(key, dask_future, RunnerFuture(handle=key), None, limit)
        entry.deadline = time.monotonic() + limit if limit else None
        entry.future.set_running_or_notify_cancel()  # the scheduler owns it now
        self._track(entry, publish=self.durable)
        return entry.future

    def reattach(self, handle: str) -> RunnerFuture | None:
        """The task published under ``handle`` by an earlier driver, or ``None`` if the
        scheduler no longer has it (restarted, or never published)."""
        if not self.durable:
            return None
        try:
            dask_future = self.client.get_dataset(handle, default=None)
        except Exception as exc:  # noqa: BLE001 - a scheduler error means: not found
            log.warning("cannot look up Dask task %s: %s", handle, exc)
            return None
        if dask_future is None or getattr(dask_future, "key", None) != handle:
            return None
        future = RunnerFuture(handle=handle)
        future.set_running_or_notify_cancel()
        limit = self.walltime
        self._datasets.put(("adopt", handle))  # before any unpublish of it can be queued
        self._track(_Entry(handle, dask_future, future,
                           time.monotonic() + limit if limit else None, limit), publish=False)
        return future

    def _track(self, entry: _Entry, publish: bool) -> None:
        with self._lock:
            self._entries[entry.key] = entry
        if publish:
            self._datasets.put(("publish", entry))
        # wait and fetch on the client's event loop; only the outcome comes back to the
        # collector (one thread hop per call; fetches of different calls overlap)
        asyncio.run_coroutine_threadsafe(self._fetch(entry.key, entry.dask_future),
                                         self.client.loop.asyncio_loop)

    async def _fetch(self, key: str, dask_future: Any) -> None:
        try:
            value = await self.client.gather(dask_future, asynchronous=True)
        except BaseException as exc:  # noqa: BLE001 - delivered as the call's outcome
            self._inbox.put(("error", key, exc))
        else:
            self._inbox.put(("ok", key, value))

    def cancel(self, future: Any) -> bool:
        """Release the task behind ``future`` (a running one finishes on its worker)."""
        with self._lock:
            entry = next((e for e in self._entries.values() if e.future is future), None)
            if entry is not None:
                del self._entries[entry.key]
        if entry is None:
            return future.done()
        self._drop([entry])
        settle(future, exc=TrialCancelledError(f"Dask task {entry.key} cancelled by detopt"))
        return True

    def close(self) -> None:
        """Stop collecting. Durable: tasks stay published and keep running; otherwise they are
        cancelled. A cluster the runner started is shut down; one it connected to is not."""
        if self._closed:
            return
        self._closed = True
        self._inbox.put(None)
        self._collector.join(timeout=30)
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        if entries and not self.durable:
            self._drop(entries)
        self._datasets.put(None)  # the publisher finishes what is queued (publishes first)
        self._publisher.join(timeout=60)
        for entry in entries:
            settle(entry.future, exc=TrialCancelledError(
                f"the runner was closed while Dask task {entry.key} ran"
                + (" (it keeps running; re-attach with its key)" if self.durable else "")))
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

    # ------------------------------------------------------------------ publisher thread
    def _publish_loop(self) -> None:
        """Publish tasks that have run ``publish_after`` seconds, unpublish collected ones.

        All decisions happen on this thread, in queue order, so a task is never unpublished
        before it is published; each round trip covers everything due at that moment. Tasks
        that finish sooner are never published (nothing to protect, nothing to pay).
        """
        pending: dict[str, tuple[float, _Entry]] = {}  # key -> (publish at, entry)
        published: set[str] = set()
        stop = False
        while True:
            due = min((at for at, _ in pending.values()), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            ops: list[tuple[str, Any] | None] = []
            try:
                ops.append(self._datasets.get(timeout=timeout))
                while True:
                    ops.append(self._datasets.get_nowait())
            except queue.Empty:
                pass
            gone: list[str] = []
            for op in ops:
                if op is None:
                    stop = True
                elif op[0] == "publish":
                    pending[op[1].key] = (time.monotonic() + self.publish_after, op[1])
                elif op[0] == "adopt":  # published by an earlier driver
                    published.add(op[1])
                elif pending.pop(op[1], None) is None and op[1] in published:
                    published.discard(op[1])
                    gone.append(op[1])
            now = time.monotonic()
            ready = {key: entry for key, (at, entry) in pending.items()
                     if (stop or at <= now) and not entry.future.done()}
            for key in [k for k, (at, e) in pending.items() if k in ready or e.future.done()]:
                del pending[key]
            try:
                if ready:
                    self.client.publish_dataset({k: e.dask_future for k, e in ready.items()},
                                                override=True)
                    published.update(ready)
                if gone:
                    self.client.unpublish_dataset(sorted(gone))
            except Exception as exc:  # noqa: BLE001 - the scheduler went away, ...
                log.warning("Dask dataset update failed: %s", exc)
            if stop:
                return

    # ------------------------------------------------------------------ collector thread
    def _collect_loop(self) -> None:
        while not self._closed:
            outcomes = self._next_outcomes()
            try:
                if outcomes:
                    self._deliver(outcomes)
                self._enforce_deadlines()
            except Exception:  # noqa: BLE001 - the collector must survive anything
                log.exception("Dask collector error")
                time.sleep(0.5)

    def _next_outcomes(self) -> list[tuple[str, str, Any]]:
        """Block until outcomes arrive (or the next deadline); return all that are there."""
        with self._lock:
            deadlines = [e.deadline for e in self._entries.values() if e.deadline is not None]
        wait = min([max(0.0, d - time.monotonic()) for d in deadlines] + [1.0])
        outcomes: list[tuple[str, str, Any]] = []
        try:
            item = self._inbox.get(timeout=wait)
        except queue.Empty:
            return outcomes
        while True:
            if item is not None:
                outcomes.append(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return outcomes

    def _deliver(self, outcomes: list[tuple[str, str, Any]]) -> None:
        delivered = []
        for status, key, value in outcomes:
            with self._lock:
                entry = self._entries.pop(key, None)
            if entry is None:
                continue  # cancelled or timed out meanwhile
            if status == "ok":
                settle(entry.future, result=value)
            else:
                settle(entry.future, exc=_as_trial_error(key, value))
            delivered.append(key)
        self._unpublish(delivered)

    def _unpublish(self, keys: list[str]) -> None:
        if self.durable:
            for key in keys:
                self._datasets.put(("unpublish", key))

    def _drop(self, entries: list[_Entry]) -> None:
        """Cancel and forget tasks nobody waits for any more."""
        self.client.cancel([e.dask_future for e in entries])
        self._unpublish([e.key for e in entries])

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [e for e in self._entries.values()
                    if e.deadline is not None and e.deadline <= now]
            for entry in late:
                del self._entries[entry.key]
        if not late:
            return
        self._drop(late)
        for entry in late:
            settle(entry.future, exc=TrialTimeoutError(
                f"Dask task {entry.key} ran longer than its {entry.limit:g} s limit; released "
                "(the worker finishes the call in the background)"))


def _as_trial_error(key: str, exc: BaseException) -> BaseException:
    """Dask's exceptions as detopt trial errors (a call's own errors arrive as RemoteTaskError)."""
    if isinstance(exc, RemoteTaskError):
        return exc
    name = type(exc).__name__
    if name == "KilledWorker":
        return WorkerLostError(f"Dask task {key}: the workers running it died ({exc})")
    if name in ("CancelledError", "FutureCancelledError"):
        return WorkerLostError(f"Dask task {key} was cancelled or lost by the scheduler ({exc})")
    import traceback

    return RemoteTaskError(name, f"Dask task {key}: {exc}",
                           "".join(traceback.format_exception(exc)))


__all__ = ["DaskRunner", "RESOURCE_NAMES"]
