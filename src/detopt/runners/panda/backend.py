"""The only module that imports the iDDS and PanDA client libraries (lazily).

:class:`PandaIddsBackend` wraps idds-workflow / idds-client 2.6.21 and panda-client 2.2.0 for
the runner, and isolates their defects (numbers refer to the reference's list of idds 2.6.21
bugs, ``shared/reference/panda-idds.md`` §14):

* #6 ``Workflow.submit`` / ``Work.submit`` / client calls turn errors into a logged ``None`` or
  a ``(False, message)`` tuple: the client methods are called undecorated
  (``__wrapped__``), so an error raises with its message.
* #4 a Work ignores the workflow's cores and walltime: both, plus memory and ``max_attempt``,
  are set on every Work.
* #5 a job fails before running if the workflow's context has no broker information:
  ``pre_run()`` (the STOMP self-test that also loads it) is mandatory and checked.
* #8 / #1 default work names collide within a second, and multi-job works publish key ``None``:
  one Work per trial, with a unique name that is also its ``job_key``.
* #7 ``Work.cancel`` lacks the PanDA task id: it is read from ``get_transform`` first.
* #16 decorator and class disagree on ``service``: it is always passed explicitly.
* #17 with idds-server installed, client code behaves as server code: ``IDDS_CLIENT_MODE=1``.
* §10/§12: the workflow context carries ``OIDC_AUTH_ID_TOKEN`` and is serialized into every
  job's command line; the token is removed from it (jobs get their credential from PanDA).

Results (#2, #3, #9-#13 of the library's ``AsyncResult``) are handled by the runner's own
:mod:`~detopt.runners.panda.channel` and :mod:`~detopt.runners.panda.wire`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from detopt.errors import ConfigError

log = logging.getLogger("detopt.panda")

#: the function every work runs (``file:module:function``; the file part is only tried first)
WORKER_FUNCTION = "detopt/runners/panda/worker.py:detopt.runners.panda.worker:run_trial"
INSTALL_HINT = "pip install 'detopt[panda]'"
#: iDDS transform states after which no job of the work runs any more
TERMINAL = {"Finished", "SubFinished", "Failed", "Cancelled", "Suspended", "Expired", "Broken"}
#: transform id under which jobs store detopt's durable copy of their outcome
DURABLE_TRANSFORM_ID = 0
_SECRET_CONTEXT_ENV = ("OIDC_AUTH_ID_TOKEN", "IDDS_OIDC_TOKEN", "PANDA_AUTH_ID_TOKEN")


_LIBRARY_DIRS = (f"{os.sep}idds{os.sep}", f"{os.sep}pandaclient{os.sep}", f"{os.sep}stomp{os.sep}")


class _LibraryLogFilter(logging.Filter):
    """Drops the client libraries' own log records (they log every call at INFO and every
    handled failure as WARNING/ERROR, on the root logger too); detopt reports what matters in
    one line. ``DETOPT_PANDA_LIBRARY_LOGS=1`` lets them through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if os.environ.get("DETOPT_PANDA_LIBRARY_LOGS") == "1":
            return True
        return not any(d in record.pathname for d in _LIBRARY_DIRS)


_FILTER = _LibraryLogFilter()


def quiet_library_logs() -> None:
    """Attach the filter to the root logger's handlers (idempotent)."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def require_libraries(quiet: bool = True) -> None:
    """Raise a one-line ConfigError naming the extra when the client libraries are missing;
    ``quiet``: silence their own logs (the driver; a job keeps them in its log)."""
    os.environ.setdefault("IDDS_CLIENT_MODE", "1")  # bug #17
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import idds.client.clientmanager  # noqa: F401
        import idds.iworkflow.work  # noqa: F401
        import idds.iworkflow.workflow  # noqa: F401
        import stomp  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the panda runner needs the iDDS/PanDA client libraries "
                          f"({exc.name or exc} is not installed).", field="runner.kind",
                          fix=INSTALL_HINT) from None
    finally:  # importing idds calls logging.basicConfig(INFO): undo that side effect
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    if quiet:
        quiet_library_logs()


def _noop() -> None:
    """The function of the (local) workflow: detopt orchestrates, it never runs."""


@dataclass(frozen=True)
class BrokerConfig:
    """Where result messages are published (from ``IDDS_BROKER*`` or the server's metainfo)."""

    brokers: str
    destination: str
    username: str
    password: str
    timeout: float

    def __repr__(self) -> str:  # never show the password
        return f"BrokerConfig(brokers={self.brokers!r}, destination={self.destination!r})"


def _status_name(status: Any) -> str | None:
    if status is None:
        return None
    return getattr(status, "name", None) or str(status).split(".")[-1]


class PandaIddsBackend:
    """One iDDS request (a local workflow) per runner; one Work per trial.

    Args:
        service: ``"panda"`` (PanDA relay) or ``"idds"`` (direct iDDS REST).
        idds_host: iDDS REST URL (``service: idds``; default ``$IDDS_HOST``).
        timeout: seconds for each server call.
    """

    def __init__(self, service: str, idds_host: str | None, timeout: float = 30.0):
        require_libraries()
        self.service = service
        self.idds_host = idds_host or os.environ.get("IDDS_HOST")
        self.timeout = timeout
        self.workflow: Any = None
        if service == "idds" and not self.idds_host:
            raise ConfigError("service 'idds' needs the iDDS server address.",
                              field="runner.idds_host", fix="set runner.idds_host or IDDS_HOST")

    # ------------------------------------------------------------------ clients
    def _idds(self) -> Any:
        from idds.client.clientmanager import ClientManager

        return ClientManager(host=self.idds_host, timeout=self.timeout)

    def _panda(self) -> Any:
        import idds.common.utils as idds_utils
        import pandaclient.idds_api as idds_api

        return idds_api.get_api(idds_utils.json_dumps, idds_host=self.idds_host, compress=True,
                                manager=True)

    def _call(self, name: str, **kwargs: Any) -> Any:
        """Call client method ``name`` so that any error raises (bug #6)."""
        if self.service == "idds":
            client = self._idds()
            method = getattr(type(client), name)
            return getattr(method, "__wrapped__", method)(client, **kwargs)
        status, reply = getattr(self._panda(), name)(**kwargs)
        if status != 0:
            raise RuntimeError(f"the PanDA server refused {name}: {reply}")
        if isinstance(reply, (list, tuple)) and len(reply) == 2 and isinstance(reply[0], bool):
            if not reply[0]:
                raise RuntimeError(f"iDDS (through PanDA) refused {name}: {reply[1]}")
            return reply[1]
        return reply

    # ----------------------------------------------------------------- workflow
    def open_workflow(self, *, name: str, queue: str | None, site: str | None,
                      cloud: str | None, vo: str | None, working_group: str | None,
                      init_env: str | None, clean_env: str | None, container: str | None,
                      cores: int, memory_mb: int, walltime_s: float, max_attempt: int) -> None:
        """Build the request's workflow object (no network yet)."""
        from idds.iworkflow.workflow import Workflow

        wf = Workflow(func=_noop, service=self.service, local=True, name=name,
                      init_env=init_env, clean_env=clean_env, max_walltime=int(walltime_s),
                      container_options={"container_image": container} if container else None)
        wf.queue, wf.site, wf.cloud, wf.vo, wf.working_group = queue, site, cloud, vo, working_group
        wf.core_count, wf.total_memory, wf.max_attempt = cores, memory_mb, max_attempt
        ctx = wf._context
        for key in _SECRET_CONTEXT_ENV:  # never serialized into jobs' command lines
            ctx._idds_env.pop(key, None)
        if self.idds_host:
            ctx._idds_env["IDDS_HOST"] = self.idds_host
        self.workflow = wf

    def init_brokers(self) -> BrokerConfig:
        """Load the broker configuration into the workflow context (env or server metainfo)."""
        ctx = self.workflow._context
        try:
            ok = ctx.init_brokers()
        except Exception as exc:  # noqa: BLE001 - any client failure is a setup error
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        else:
            reason = "the server sent no broker configuration"
        if not ok:
            where = "IDDS_BROKERS/IDDS_BROKER_DESTINATION/_USERNAME/_PASSWORD are not all set, " \
                    f"and asking the {self.service} server failed ({reason})"
            raise ConfigError(f"no STOMP broker configuration: {where}.", field="runner.service",
                              fix="check that the server is reachable and your credential valid")
        return BrokerConfig(ctx.brokers, ctx.broker_destination, ctx.broker_username,
                            ctx.broker_password, float(ctx.broker_timeout or 30))

    def pre_run(self) -> bool:
        """iDDS's own STOMP self-test on the workflow context (mandatory before submit, #5)."""
        return bool(self.workflow.pre_run())

    def ping(self) -> None:
        """Raise if the server does not answer (only for service 'idds'; PanDA is checked by
        the request submission)."""
        if self.service == "idds":
            self._call("ping")

    def upload_sources(self, archive: str) -> str:
        """Put the tarball into the PanDA cache; returns the URL the jobs download it from."""
        from pandaclient import Client

        status, out = Client.putFile(archive, True)
        if status != 0 or not (out == "True" or str(out).startswith("NewFileName:")):
            raise RuntimeError(f"the PanDA cache refused the upload (status {status}): {out}")
        name = str(out).split(":")[-1] if str(out).startswith("NewFileName:") else os.path.basename(archive)
        cache = os.environ.get("PANDACACHE_URL") or os.environ.get("PANDA_URL_SSL")
        if not cache:
            raise ConfigError("PANDACACHE_URL is not set.", field="runner.upload",
                              fix="set up the PanDA client environment (PANDA_URL_SSL, PANDACACHE_URL)")
        return f"{cache.rstrip('/')}/cache/{name}"

    def set_remote_sources(self, url: str | None) -> None:
        """Where jobs fetch the code; iDDS's own tar + upload (``prepare``) is skipped."""
        self.workflow._context.remote_source_file = url
        self.workflow.prepared = True

    def submit_request(self) -> int:
        """Register the workflow as an iDDS request; returns its id."""
        self.workflow.prepared = True
        if self.service == "idds":
            request_id = self._call("submit", workflow=self.workflow, use_dataset_name=False)
        else:
            request_id = self._call("submit", workflow=self.workflow, username=None,
                                    use_dataset_name=False)
        if isinstance(request_id, (list, tuple)) and request_id and request_id[0] is False:
            raise RuntimeError(str(request_id[-1]))
        self.workflow._context.request_id = int(request_id)
        return int(request_id)

    @property
    def request_id(self) -> int:
        return int(self.workflow._context.request_id)

    # -------------------------------------------------------------------- works
    def make_work(self, payload: str, *, name: str, internal_id: str, cores: int,
                  memory_mb: int, walltime_s: float, max_attempt: int,
                  init_env: str | None = None) -> Any:
        """The Work of one trial (not submitted): unique name = job key, resources set."""
        from idds.iworkflow.work import Work

        w = Work(func=WORKER_FUNCTION, workflow_context=self.workflow._context,
                 kwargs={"payload": payload}, name=name, job_key=name, map_results=False,
                 init_env=init_env, is_unique_func_name=True)
        w.internal_id = internal_id
        w.core_count, w.total_memory = cores, memory_mb
        w.max_walltime, w.max_attempt = int(walltime_s), max_attempt
        return w

    def submit_work(self, work: Any) -> int:
        transform_id = self._call("submit_work", request_id=self.request_id, work=work,
                                  use_dataset_name=False)
        work._context.transform_id = int(transform_id)
        return int(transform_id)

    def transform(self, request_id: int, transform_id: int) -> dict[str, Any]:
        """``status`` (a TransformStatus name) and ``workload_id`` of a transform."""
        tf = self._call("get_transform", request_id=request_id, transform_id=transform_id)
        if not isinstance(tf, dict):
            return {"status": None, "workload_id": None}
        return {"status": _status_name(tf.get("status")), "workload_id": tf.get("workload_id"),
                "name": tf.get("name")}

    def find_transform(self, request_id: int, name: str) -> int | None:
        """The id of the transform called ``name`` in ``request_id`` (adoption after a crash)."""
        tfs = self._call("get_transforms", request_id=request_id)
        for tf in tfs or []:
            if isinstance(tf, dict) and tf.get("name") == name:
                return int(tf["transform_id"])
        return None

    def messages(self, request_id: int, transform_id: int | None,
                 internal_id: str) -> list[dict[str, Any]]:
        """Result message bodies stored by the server for one work: iDDS's own REST fallback
        (under the transform id) and detopt's durable copy (under transform id 0: a job does
        not know its transform id). The client sends ``None`` as the string "None", which the
        server cannot filter on, so both ids are always given."""
        bodies = []
        for tf in ([transform_id] if transform_id else []) + [DURABLE_TRANSFORM_ID]:
            msgs = self._call("get_messages", request_id=request_id, transform_id=tf,
                              internal_id=internal_id)
            if isinstance(msgs, tuple) and len(msgs) == 2 and isinstance(msgs[0], bool):
                msgs = msgs[1] if msgs[0] else []
            bodies += [m["body"] for m in msgs or [] if isinstance(m, dict) and isinstance(m.get("body"), dict)]
        return bodies

    def cancel(self, request_id: int, transform_id: int) -> bool:
        """Abort the PanDA task of a work (its id comes from the transform, bug #7)."""
        workload_id = self.transform(request_id, transform_id).get("workload_id")
        if not workload_id:
            return False
        self._call("abort_task", request_id=request_id, workload_id=workload_id)
        return True

    def close_request(self) -> None:
        if self.workflow is not None and self.workflow._context.request_id:
            self._call("close", request_id=self.request_id)


def result_message(durable: dict[str, Any], ret: list[Any]) -> dict[str, Any]:
    """An iDDS AsyncResult message (as ``AsyncResult.get_message`` builds it)."""
    headers = {"persistent": "true", "channel": "asyncresult", "type": "iwork",
               "internal_id": str(durable["internal_id"]), "request_id": durable["request_id"]}
    body = {"ret": ret, "name": durable.get("name"), "key": durable.get("key"),
            "internal_id": str(durable["internal_id"]), "type": "iwork",
            "request_id": durable["request_id"], "transform_id": DURABLE_TRANSFORM_ID}
    return {"headers": headers, "body": body, "msg_type": "async_result"}


def post_result_message(durable: dict[str, Any], ret: list[Any]) -> None:
    """Store a result message in the iDDS message store of the trial's request (worker side).

    Uses the job's own iDDS environment (``IDDS_HOST`` from the work's context, the credential
    PanDA gives the job), as iDDS's REST fallback does.
    """
    require_libraries(quiet=False)
    from idds.common.utils import json_dumps, json_loads

    message = json_loads(json_dumps(result_message(durable, ret)))
    backend = PandaIddsBackend(str(durable.get("service") or "idds"),
                               os.environ.get("IDDS_HOST") or durable.get("idds_host"), timeout=30)
    backend._call("send_messages", request_id=durable["request_id"],
                  transform_id=DURABLE_TRANSFORM_ID, internal_id=str(durable["internal_id"]),
                  msgs=[message])


__all__ = ["BrokerConfig", "PandaIddsBackend", "TERMINAL", "WORKER_FUNCTION", "post_result_message",
           "require_libraries", "result_message"]
