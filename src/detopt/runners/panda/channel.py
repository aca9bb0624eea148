"""The result channel of the PanDA runner: one STOMP connection per broker, one subscription
per work in flight.

Why not iDDS's ``AsyncResult``: it opens a connection and a thread per work, sleeps a second in
``subscribe``, polls REST every 300 s once STOMP failed, keeps only successes (a failure's text
sits in a private list) and its ``MapResult`` keeps one result (reference §14 #2, #10). Here one
connection serves every work; each work subscribes to the iDDS destination with the same JMS
selector iDDS uses (``internal_id = '<id>'``, ActiveMQ); a message is handed to the runner as
its decoded body. The runner polls the iDDS REST message store whenever :attr:`up` is False.

A STOMP topic keeps nothing for absent subscribers: a work subscribes before it is submitted,
and after a reconnection the runner asks REST for what may have been published meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from detopt.runners.panda.backend import BrokerConfig

log = logging.getLogger("detopt.panda")


def _addresses(brokers: str) -> list[tuple[str, int]]:
    out = []
    for item in brokers.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"broker {item!r} is not host:port")
        out.append((host, int(port)))
    return out


class ResultChannel:
    """Receives iDDS result messages for the works it is told about.

    Args:
        broker: where iDDS publishes (from the workflow context).
        on_message: called with each message body (a dict), on a stomp.py receiver thread.
        timeout: seconds to connect.
    """

    def __init__(self, broker: BrokerConfig, on_message: Callable[[dict[str, Any]], None],
                 timeout: float = 30.0):
        import stomp  # the panda extra; the backend has checked it is installed

        self._stomp = stomp
        self.broker = broker
        self.on_message = on_message
        self.timeout = timeout
        self._addresses = _addresses(broker.brokers)
        self._conns: list[Any] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    # ---------------------------------------------------------------- connection
    def connect(self) -> None:
        """Connect to every broker and (re)subscribe every work.

        Raises:
            ConnectionError: a broker cannot be reached or refuses the login.
        """
        stomp = self._stomp
        conns = []
        try:
            for host, port in self._addresses:
                conn = stomp.Connection12(host_and_ports=[(host, port)], keepalive=True,
                                          heartbeats=(30000, 30000), timeout=self.timeout,
                                          reconnect_attempts_max=1)
                conn.set_listener("detopt", _Listener(self))
                try:
                    conn.connect(self.broker.username, self.broker.password, wait=True)
                except Exception as exc:  # noqa: BLE001 - stomp raises several kinds
                    reason = "connection refused or timed out" if \
                        isinstance(exc, (stomp.exception.ConnectFailedException, OSError)) else str(exc)
                    raise ConnectionError(f"cannot reach the STOMP broker {host}:{port} "
                                          f"({reason or type(exc).__name__})") from None
                conns.append(conn)
        except ConnectionError:
            for conn in conns:
                _quiet_disconnect(conn)
            raise
        with self._lock:
            old, self._conns = self._conns, conns
            ids = sorted(self._ids)
        for conn in old:
            _quiet_disconnect(conn)
        for internal_id in ids:
            self._subscribe_on(conns, internal_id)

    @property
    def up(self) -> bool:
        with self._lock:
            conns = list(self._conns)
        return bool(conns) and all(_connected(c) for c in conns)

    def ensure(self) -> bool:
        """Reconnect if a connection dropped; returns True if it *re*connected just now."""
        if self._closed or self.up:
            return False
        try:
            self.connect()
        except ConnectionError as exc:
            log.debug("STOMP still down: %s", exc)
            return False
        log.info("STOMP connection to %s restored", self.broker.brokers)
        return True

    # -------------------------------------------------------------- subscriptions
    def subscribe(self, internal_id: str) -> None:
        with self._lock:
            self._ids.add(internal_id)
            conns = list(self._conns)
        self._subscribe_on(conns, internal_id)

    def _subscribe_on(self, conns: list[Any], internal_id: str) -> None:
        for conn in conns:
            try:
                conn.subscribe(destination=self.broker.destination, id=f"detopt-{internal_id}",
                               ack="auto", headers={"selector": f"internal_id = '{internal_id}'"})
            except Exception as exc:  # noqa: BLE001 - a dropped connection; REST takes over
                log.debug("cannot subscribe %s: %s", internal_id, exc)

    def unsubscribe(self, internal_id: str) -> None:
        with self._lock:
            self._ids.discard(internal_id)
            conns = list(self._conns)
        for conn in conns:
            try:
                if _connected(conn):
                    conn.unsubscribe(id=f"detopt-{internal_id}")
            except Exception:  # noqa: BLE001 - nothing to undo on a dead connection
                pass

    def wants(self, internal_id: Any) -> bool:
        with self._lock:
            return internal_id in self._ids

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _quiet_disconnect(conn)


def _connected(conn: Any) -> bool:
    try:
        return bool(conn.is_connected())
    except Exception:  # noqa: BLE001
        return False


def _quiet_disconnect(conn: Any) -> None:
    try:
        if _connected(conn):
            conn.disconnect()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass


class _Listener:
    """stomp.py listener: decode the body, drop messages of works nobody waits for."""

    def __init__(self, channel: ResultChannel):
        self.channel = channel

    def on_message(self, frame: Any) -> None:
        try:
            body = json.loads(frame.body)
        except ValueError:
            log.warning("ignoring a non-JSON message on %s", self.channel.broker.destination)
            return
        if isinstance(body, dict) and self.channel.wants(body.get("internal_id")):
            self.channel.on_message(body)

    def on_error(self, frame: Any) -> None:
        log.warning("STOMP broker error: %s", (frame.body or "")[:200])

    def on_disconnected(self) -> None:
        if not self.channel._closed:
            log.warning("STOMP connection to %s lost; results come through REST until it is "
                        "back", self.channel.broker.brokers)

    def __getattr__(self, name: str) -> Callable[..., None]:  # the other stomp.py callbacks
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


__all__ = ["ResultChannel"]
