"""Testing tools: an in-process client, a signal recorder and a live server.

- :class:`SocketIOTestClient` drives the real server in-process, as
  Flask-SocketIO's test client does, and can answer the server's ``call()``
  requests and emit callbacks (:meth:`SocketIOTestClient.on`); it runs on a
  :class:`TestTransport`, an in-process Engine.IO session of the app's
  server, so it works beside a live server of the same app.
- :func:`record_signals` records what the bus publishes.
- :class:`LiveServer` serves an app under gevent on an ephemeral loopback
  port, in a background thread, for tests that use real clients.
- :func:`wait_for` waits, with a deadline, for an asynchronous outcome.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.testing import EnvironBuilder
from socketio import packet
from socketio.pubsub_manager import PubSubManager

from . import dependencies
from . import signals as bus_signals
from .event import Event, EventKind, Outcome
from .inprocess import TestTransport

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = [
    "LiveServer",
    "SignalRecord",
    "SocketIOTestClient",
    "TestTransport",
    "record_signals",
    "wait_for",
]

SIGNAL_NAMES = (
    "client_connected",
    "client_disconnected",
    "event_received",
    "event_handled",
    "event_unhandled",
    "event_rejected",
    "event_failed",
    "event_emitted",
)


class SocketIOTestClient:
    """An in-process Socket.IO client for the server of ``sockevents``.

    The client is a transport of its own on the app's server: its packets
    go through the same reader, queue and admission as a network client's,
    and what the server sends it arrives encoded, as over the network. So a
    test client and a live server of the same app (:class:`LiveServer`) work
    at the same time, and an emit to everyone reaches both.

    Events are dispatched before :meth:`emit` returns: the handler, guards
    and listeners have run. As with Flask-SocketIO's test client, an
    exception that a handler raised and no error handler answered (none
    registered, or it raised in turn) is raised again by :meth:`emit` or
    :meth:`connect`, and so is a payload that cannot be serialized (a
    :class:`TypeError`), whether the client sends it or the server answers
    with it. Served over the network, the same failure only fails that event.

    :param app: the Flask app.
    :param sockevents: its :class:`~flask_sockevents.SockEvents`.
    :param namespace: the namespace to connect to (``"/"``).
    :param query_string: a query string for the handshake.
    :param headers: HTTP headers for the handshake.
    :param auth: the ``auth`` payload of the connect.
    :param flask_test_client: a Flask test client whose cookies (the session)
        the handshake carries.
    """

    def __init__(
        self,
        app: Flask,
        sockevents: SockEvents,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> None:
        server = sockevents._require_server()
        if isinstance(server.manager, PubSubManager):
            raise RuntimeError(
                "the test client cannot be used with a message queue: "
                "disable message_queue in the test configuration"
            )
        self.app = app
        self.sockevents = sockevents
        self.server = server
        self.flask_test_client = flask_test_client
        self.eio_sid = uuid.uuid4().hex
        self.connected: dict[str, bool] = {}
        self.queue: list[dict[str, Any]] = []
        self.acks: dict[str, Any] | None = None
        self.callback_counter = 0
        self.handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        self.transport = TestTransport(server, self.eio_sid, self._receive)
        server.manager.initialize()
        self.connect(namespace=namespace, query_string=query_string, headers=headers, auth=auth)

    # -- the client's side of the protocol --------------------------------------

    def is_connected(self, namespace: str | None = None) -> bool:
        """Whether ``namespace`` (``"/"``) is connected."""
        return self.connected.get(namespace or "/", False)

    def connect(
        self,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
    ) -> None:
        """Connect to ``namespace`` (done for the constructor's namespace already)."""
        url = "/socket.io"
        namespace = namespace or "/"
        if query_string:
            url += query_string if query_string.startswith("?") else "?" + query_string
        if self.flask_test_client is not None:
            environ = dependencies.request_environ(self.flask_test_client, url, headers)
        else:
            environ = EnvironBuilder(self.app, path=url, headers=headers).get_environ()
        environ["flask.app"] = self.app
        self.transport.open(environ)
        self._deliver(packet.Packet(packet.CONNECT, auth, namespace=namespace))
        if self.server.manager.sid_from_eio_sid(self.eio_sid, namespace):
            self.connected[namespace] = True

    def disconnect(self, namespace: str | None = None) -> None:
        """Disconnect from ``namespace``."""
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        self._deliver(packet.Packet(packet.DISCONNECT, namespace=namespace))
        self.connected.pop(namespace or "/", None)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Emit ``event`` with ``args``; with ``callback=True`` return the server's ack.

        :param namespace: the namespace (``"/"``).
        """
        namespace = kwargs.pop("namespace", None)
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        ack_id = None
        if kwargs.pop("callback", False):
            self.callback_counter += 1
            ack_id = self.callback_counter
        self._deliver(
            packet.Packet(packet.EVENT, data=[event, *args], namespace=namespace, id=ack_id)
        )
        if self.acks is not None:
            ack, self.acks = self.acks, None
            return ack["args"][0] if len(ack["args"]) == 1 else ack["args"]
        return None

    def send(
        self, data: Any, json: bool = False, callback: bool = False, namespace: str | None = None
    ) -> Any:
        """Send an unnamed ``message`` (or ``json``) event."""
        return self.emit(
            "json" if json else "message", data, callback=callback, namespace=namespace
        )

    def get_received(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Return and forget the events received in ``namespace`` since the last call."""
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        namespace = namespace or "/"
        received = [item for item in self.queue if item["namespace"] == namespace]
        self.queue = [item for item in self.queue if item["namespace"] != namespace]
        return received

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str | None = None
    ) -> Any:
        """Answer the server's ``call()`` or emit callback for ``event`` with ``handler``'s value.

        The event is still recorded for :meth:`get_received`.
        """
        if handler is None:
            return lambda fn: self.on(event, fn, namespace)
        self.handlers[(namespace or "/", event)] = handler
        return handler

    # -- plumbing ----------------------------------------------------------------

    def _deliver(self, pkt: packet.Packet) -> None:
        """Hand ``pkt`` to the server; raise what its dispatch failed with, unanswered."""
        encoded = pkt.encode()  # an unserializable payload raises TypeError here
        finished: list[Event] = []
        eio_sid = self.eio_sid

        def on_finished(sender: Any, event: Event) -> None:
            if event.transport == eio_sid and event.kind is not EventKind.EMIT:
                finished.append(event)

        receivers = [
            bus_signals.event_handled,
            bus_signals.event_unhandled,
            bus_signals.event_rejected,
            bus_signals.event_failed,
        ]
        for signal in receivers:
            signal.connect(on_finished, sender=self.app, weak=False)
        try:
            self.transport.feed(encoded if isinstance(encoded, list) else [encoded])
        finally:
            for signal in receivers:
                signal.disconnect(on_finished, sender=self.app)
        for event in finished:
            if event.outcome is Outcome.FAILED and not event.replied and event.error is not None:
                raise event.error
        for event in finished:
            if pkt.id is not None and event.ack_requested and event.replied and self.acks is None:
                _check_ack_serializes(event.ack)

    def _receive(self, pkt: packet.Packet) -> None:
        namespace = pkt.namespace or "/"
        if pkt.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            name, args = pkt.data[0], pkt.data[1:]
            single = name in ("message", "json")
            self.queue.append(
                {"name": name, "args": args[0] if single and args else args, "namespace": namespace}
            )
            handler = self.handlers.get((namespace, name))
            if handler is not None and pkt.id is not None:
                answer = handler(*args)
                data = list(answer) if isinstance(answer, tuple) else [answer]
                self._deliver(packet.Packet(packet.ACK, data=data, namespace=namespace, id=pkt.id))
        elif pkt.packet_type in (packet.ACK, packet.BINARY_ACK):
            self.acks = {"args": pkt.data, "namespace": namespace}
        elif pkt.packet_type in (packet.DISCONNECT, packet.CONNECT_ERROR):
            self.connected[namespace] = False


def _check_ack_serializes(ack: Any) -> None:
    """Raise what encoding ``ack`` raises: the server could not send it to the client."""
    data = [] if ack is None else list(ack) if isinstance(ack, tuple) else [ack]
    packet.Packet(packet.ACK, data=data, namespace="/", id=0).encode()


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 5.0,
    message: str = "",
    interval: float = 0.005,
) -> Any:
    """Poll ``predicate`` until it returns something truthy, and return that value.

    For outcomes that arrive asynchronously (a real client's events, a live
    server's listeners): every wait has a deadline, and no test sleeps and hopes.

    :param timeout: seconds before giving up.
    :param message: the assertion message when giving up.
    :param interval: seconds between polls.
    :raises AssertionError: when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


class SignalRecord:
    """What :func:`record_signals` saw: ``(signal name, Event)`` pairs in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Event]] = []

    def names(self) -> list[str]:
        """The names of the signals sent, in order."""
        return [name for name, _ in self.sent]

    def events(self, name: str) -> list[Event]:
        """The events sent on the signal called ``name`` (e.g. ``"event_failed"``)."""
        return [event for sent_name, event in self.sent if sent_name == name]

    def __len__(self) -> int:
        return len(self.sent)


@contextmanager
def record_signals(sender: Any = None) -> Iterator[SignalRecord]:
    """Record every bus signal sent (by ``sender`` only, if given) while the block runs.

    Example::

        with record_signals(app) as record:
            client.emit("chat", "hi")
        assert record.names()[:2] == ["event_received", "event_handled"]
    """
    record = SignalRecord()
    receivers = []
    for name in SIGNAL_NAMES:
        signal = getattr(bus_signals, name)

        def receiver(sent_by: Any, event: Event, _name: str = name) -> None:
            record.sent.append((_name, event))

        signal.connect(receiver, sender=sender if sender is not None else bus_signals.ANY)
        receivers.append((signal, receiver))
    try:
        yield record
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


class LiveServer:
    """Serve ``app`` under gevent on 127.0.0.1 and an ephemeral port, in a background thread.

    Use as a context manager; :attr:`url` is ``http://127.0.0.1:<port>``.

    :param server_options: passed to :func:`~flask_sockevents.serving.make_server`
        (connection limits, ``certfile``...).
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", **server_options: Any) -> None:
        self.app = app
        self.host = host
        self.server_options = server_options
        self.port = 0
        self._ready = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        """Start serving; returns once the port is bound."""
        self._thread = threading.Thread(target=self._serve, name="sockevents-live", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the live server did not start within 10 s")
        if self._error is not None:
            raise RuntimeError("the live server failed to start") from self._error
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._stopping = True
        if self._thread is not None:
            self._thread.join(10)

    def make_server(self) -> Any:
        """The gevent WSGI server to run, not started: the app as ``run()`` serves it."""
        from .serving import make_server

        return make_server(self.app, self.host, 0, **self.server_options)

    def _serve(self) -> None:
        import gevent

        try:
            server = self.make_server()
            server.start()
            self.port = server.server_port
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stopping:
            gevent.sleep(0.02)
        server.stop(timeout=2)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
