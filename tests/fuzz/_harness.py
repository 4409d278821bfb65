"""A fuzzing harness: raw Socket.IO packets fed to the real server in-process, the bus watched.

:class:`PacketHarness` builds one app (a connect handler, a catch-all handler, an
echo handler, a failing handler and an error handler, a handler in ``/chat``,
a guard and a listener on every namespace) and opens in-process connections on it. Each packet of a
:class:`Connection` goes through an in-process transport
(:class:`~flask_sockevents.testing.TestTransport`) to the server's reader, as
the transport's reader would hand it over, and is checked against a model of the
protocol written from the Socket.IO specification:

- a packet the protocol does not allow closes the transport and is counted in
  ``server.protocol_errors``, and nothing but the disconnects of the closed
  transport reaches the bus;
- a CONNECT, an EVENT (once its binary attachments are in) and a DISCONNECT of
  a connected namespace each publish exactly one :class:`Event` of that kind
  with an outcome;
- an ACK, a DISCONNECT of a namespace the client is not in, and a binary
  packet still waiting for attachments publish nothing.

When the transport closes, every namespace the client was let into is
disconnected exactly once, and the server forgets the connection. Handlers
only ever see string event names that are not reserved. Nothing may raise out
of the server, and the server logs no error of its own.

:func:`check_totals` compares the bus's counts: every event received has
exactly one outcome.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

from flask import Flask
from flask.testing import EnvironBuilder
from socketio import packet as sio_packet

from flask_sockevents import Event, EventKind, Outcome, SockEvents
from flask_sockevents.bus import RESERVED_EVENT_NAMES
from flask_sockevents.testing import SocketIOTestClient, TestTransport

__all__ = ["NAMESPACES", "Connection", "PacketHarness", "check_totals"]

#: Namespaces the harness app knows: with a handler (``/``, ``/chat``), accepted
#: without one (``/open``), and one it refuses (``/nope``).
NAMESPACES = ("/", "/chat", "/open", "/nope")
_ACCEPTED = {"/", "/chat", "/open"}
_MAX_ATTACHMENTS = 10


class _ErrorLog(logging.Handler):
    """Keeps the records at ERROR and above that the server's own logger emits."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class PacketHarness:
    """One app served in-process, ready to open connections fed with raw packets."""

    def __init__(self) -> None:
        app = Flask("fuzz")
        app.config["SECRET_KEY"] = "fuzz"
        sockevents = SockEvents(
            app,
            namespaces=["/", "/open"],
            connect_timeout=None,
            max_attachments=_MAX_ATTACHMENTS,
            max_connections_per_address=None,
        )
        self.app = app
        self.sockevents = sockevents
        self.server = sockevents._require_server()
        self.bus = sockevents.bus
        self.events: list[Event] = []
        self.handler_names: list[Any] = []
        self.errors = _ErrorLog()
        logging.getLogger("flask_sockevents.server").addHandler(self.errors)
        names = self.handler_names

        @sockevents.on("connect")
        def connect(auth: Any) -> Any:
            return not (isinstance(auth, dict) and auth.get("deny") is True)

        @sockevents.on("*")
        def anything(name: Any, *args: Any) -> int:
            names.append(name)
            return len(args)

        @sockevents.on("echo")
        def echo(*args: Any) -> tuple[Any, ...]:
            names.append("echo")
            return args

        @sockevents.on("boom")
        def boom(*args: Any) -> None:
            names.append("boom")
            raise RuntimeError("boom")

        @sockevents.on_error_default
        def failed(error: BaseException) -> dict[str, str]:
            return {"error": type(error).__name__}

        @sockevents.on("*", namespace="/chat")
        def chat(name: Any, *args: Any) -> None:
            names.append(name)

        @sockevents.guard("*", namespace="*")
        def no_forbidden(event: Event) -> bool:
            return event.name != "forbidden"

        sockevents.listen("*", namespace="*")(self.events.append)

    def connect(self) -> Connection:
        """A new in-process client, connected to ``/``."""
        client = SocketIOTestClient(self.app, self.sockevents)
        sid = self.server.manager.sid_from_eio_sid(client.eio_sid, "/")
        assert sid is not None, "the test client did not connect to /"
        return Connection(self, client.transport, {"/": sid})

    def open(self) -> Connection:
        """A new Engine.IO connection that has sent nothing yet (no CONNECT)."""
        transport = TestTransport(self.server, uuid.uuid4().hex, lambda pkt: None)
        environ = EnvironBuilder(self.app, path="/socket.io/").get_environ()
        environ["flask.app"] = self.app
        transport.open(environ)
        return Connection(self, transport, None)

    def close(self) -> None:
        """Stop collecting the server's error log."""
        logging.getLogger("flask_sockevents.server").removeHandler(self.errors)


class Connection:
    """One in-process connection, its packets checked against the protocol model."""

    def __init__(
        self, harness: PacketHarness, transport: TestTransport, sids: dict[str, str] | None
    ) -> None:
        self.harness = harness
        self.server = harness.server
        self.transport = transport
        self.eio_sid = transport.sid
        self.greeted = sids is not None  # a CONNECT was sent
        self.sids: dict[str, str] = dict(sids or {})
        self.all_sids = set(self.sids.values())
        self.pending: sio_packet.Packet | None = None
        self.decoded: sio_packet.Packet | None = None  # the last complete packet
        self.closed = False

    def _protocol_errors(self) -> int:
        return sum(self.server.protocol_errors.values())

    def feed(self, data: str | bytes) -> None:
        """Hand ``data`` to the server as one Engine.IO message and check what it did.

        After a packet that broke the protocol the transport is closed (as
        Engine.IO would close it) and later packets are not delivered.
        """
        if self.closed:
            return
        expected = self._expect(data)
        events = self.harness.events
        seen, errors = len(events), self._protocol_errors()
        names_seen = len(self.harness.handler_names)
        self.transport.feed([data])
        new = events[seen:]
        dropped = self._protocol_errors() - errors
        for name in self.harness.handler_names[names_seen:]:
            assert type(name) is str and name and name not in RESERVED_EVENT_NAMES, name
        if expected == "drop":
            assert dropped == 1, f"{data!r} should have closed the connection, published {new}"
            # Closing the transport disconnects the namespaces it was in, as
            # python-engineio's close does: those disconnects, and nothing else.
            others = [e for e in new if e.kind is not EventKind.DISCONNECT]
            assert not others, f"{data!r} closed the connection but published {others}"
            self.close(since=seen)
            return
        assert dropped == 0, f"{data!r} closed the connection: {self.server.protocol_errors}"
        if expected is None:
            assert not new, f"{data!r} should have published nothing, published {new}"
            return
        assert len(new) == 1, f"{data!r} should have published one event, published {new}"
        event = new[0]
        assert event.kind is expected, (data, event)
        check_finished(event)
        if event.kind is EventKind.CONNECT and event.sid is not None:
            if event.outcome in (Outcome.HANDLED, Outcome.UNHANDLED):
                assert event.namespace not in self.sids, (data, event)
                self.sids[event.namespace] = event.sid
                self.all_sids.add(event.sid)
        elif event.kind is EventKind.DISCONNECT:
            assert self.sids.pop(event.namespace) == event.sid, (data, event)
        elif event.kind is EventKind.EVENT:
            self._check_event(event)

    def _check_event(self, event: Event) -> None:
        assert self.decoded is not None
        name = self.decoded.data[0]
        connected = self.sids.get(event.namespace)
        if connected is None:
            assert event.outcome is Outcome.REJECTED, event
            return
        assert event.sid == connected, event
        if type(name) is not str or not name or name in RESERVED_EVENT_NAMES or name == "forbidden":
            assert event.outcome is Outcome.REJECTED, event
            return
        assert event.name == name, event
        if len(name) > self.harness.bus.max_event_name_length:
            assert event.outcome is Outcome.REJECTED, event
        elif name == "boom" and event.namespace == "/":
            assert event.outcome is Outcome.FAILED, event
        elif event.namespace == "/open":
            assert event.outcome is Outcome.UNHANDLED, event
        else:
            assert event.outcome is Outcome.HANDLED, event

    def _expect(self, data: str | bytes) -> EventKind | str | None:
        """What the protocol says ``data`` must do: ``"drop"``, an event kind, or ``None``."""
        pkt = self.pending
        if pkt is not None:
            if not isinstance(data, (bytes, bytearray)):
                return "drop"
            try:
                complete = pkt.add_attachment(data)
            except Exception:
                return "drop"
            if not complete:
                return None
            self.pending = None
            return self._expect_complete(pkt)
        if not isinstance(data, str):
            return "drop"
        try:
            pkt = sio_packet.Packet(encoded_packet=data)
        except Exception:
            return "drop"
        kind = pkt.packet_type
        if not self.greeted:
            if kind != sio_packet.CONNECT:
                return "drop"
            self.greeted = True
        if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK) and pkt.attachment_count:
            if pkt.attachment_count > _MAX_ATTACHMENTS:
                return "drop"
            self.pending = pkt
            return None
        return self._expect_complete(pkt)

    def _expect_complete(self, pkt: sio_packet.Packet) -> EventKind | str | None:
        self.decoded = pkt
        kind = pkt.packet_type
        namespace = pkt.namespace or "/"
        if kind == sio_packet.CONNECT:
            return EventKind.CONNECT
        if kind == sio_packet.DISCONNECT:
            return EventKind.DISCONNECT if namespace in self.sids else None
        if kind in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            if type(pkt.data) is list and pkt.data:
                return EventKind.EVENT
            return "drop"
        if kind in (sio_packet.ACK, sio_packet.BINARY_ACK):
            return None if isinstance(pkt.data, list) and pkt.id is not None else "drop"
        return "drop"

    def close(self, since: int | None = None) -> None:
        """Close the transport and check that the connection left no trace.

        :param since: the index of the harness's first event that may belong
            to the closing (the transport may have closed already).
        """
        if self.closed:
            return
        self.closed = True
        events = self.harness.events
        seen = len(events) if since is None else since
        connected = dict(self.sids)
        self.transport.close(reason="transport close")
        self.server.wait_dispatched(self.eio_sid)
        new = events[seen:]
        assert all(e.kind is EventKind.DISCONNECT for e in new), new
        assert sorted((e.namespace, e.sid) for e in new) == sorted(connected.items()), new
        for event in new:
            check_finished(event)
        assert self.eio_sid not in self.server._connections
        assert self.eio_sid not in self.server.environ
        for namespace in NAMESPACES:
            assert self.server.manager.sid_from_eio_sid(self.eio_sid, namespace) is None
        lifecycle = Counter(
            (e.sid, e.kind)
            for e in events
            if e.sid in self.all_sids
            and e.kind is not EventKind.EVENT
            and e.outcome in (Outcome.HANDLED, Outcome.UNHANDLED)
        )
        for sid in self.all_sids:
            assert lifecycle[(sid, EventKind.CONNECT)] == 1, (sid, lifecycle)
            assert lifecycle[(sid, EventKind.DISCONNECT)] == 1, (sid, lifecycle)


def check_finished(event: Event) -> None:
    """An event as listeners see it: an outcome, and a reason exactly when it went wrong."""
    assert isinstance(event.outcome, Outcome), event
    assert type(event.name) is str, event
    if event.outcome in (Outcome.REJECTED, Outcome.FAILED):
        assert isinstance(event.reason, str) and event.reason, event
    assert event.duration is not None and event.duration >= 0, event


def check_totals(harness: PacketHarness) -> None:
    """Every event the bus received has exactly one outcome; the server logged no error."""
    counts = harness.bus.counts
    outcomes = sum(counts[outcome.value] for outcome in Outcome)
    assert counts["received"] == outcomes, counts
    assert counts["received"] == len(harness.events), (counts, len(harness.events))
    assert not harness.errors.records, [r.getMessage() for r in harness.errors.records]
