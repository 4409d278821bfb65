"""The Socket.IO server: from Engine.IO messages to events on the bus.

:class:`Server` is python-socketio's ``Server`` with its packet handling
replaced. Each Engine.IO connection has two halves:

- the **reader** (the transport's greenlet) decodes packets, enforces the
  protocol (the first packet must be CONNECT; malformed packets close the
  transport), builds the :class:`~flask_sockevents.Event` and queues it;
- the **worker**, one greenlet that exists only while the connection has queued
  packets, dispatches them in arrival order through the bus and sends the
  answer (CONNECT, CONNECT_ERROR or ACK).

Every packet a client sends costs, whatever its kind and transport
(:mod:`flask_sockevents.budget` charges the Engine.IO side: the reader yields
every few packets and stops while the client does not read its answers). The
queue is bounded by ``max_queued_events``: when it is full the reader stops
reading until the worker catches up, so a flooding client slows itself down
(TCP backpressure) without ever losing a packet it already sent. The
client's CONNECT and DISCONNECT packets are queued like events, in order and
bounded alike; only what the server itself queues (the disconnects of a
closed transport, a server-side disconnect) never waits. A connection holds
at most ``max_namespaces`` namespaces. Connections never wait on each other.

It runs past 400 lines on purpose: the reader, the
worker and the server-side operations (``disconnect``, ``emit``, ``call``,
graceful shutdown) all act on one per-connection state (``_Connection``) whose
invariants (one connect and one disconnect per accepted namespace, nothing
queued is lost) are easiest to check in one place.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import engineio
import gevent
import gevent.event
import socketio
from socketio import packet as sio_packet

from .budget import PACKETS_PER_TURN, BudgetedEngineIOServer
from .bus import accepted
from .event import Event, EventKind, Outcome
from .exceptions import Reject
from .socketio_api import SocketIOServerAPI

__all__ = ["Dispatcher", "Server"]

logger = logging.getLogger("flask_sockevents.server")

#: ``dispatcher(environ, event, rejection) -> finished event``: publishes an
#: event on the bus inside whatever context the application needs.
Dispatcher = Callable[[dict[str, Any], Event, "str | None"], Event]

_CONNECT = sio_packet.CONNECT
_DISCONNECT = sio_packet.DISCONNECT
_EVENT = sio_packet.EVENT
_ACK = sio_packet.ACK
_BINARY_EVENT = sio_packet.BINARY_EVENT
_BINARY_ACK = sio_packet.BINARY_ACK
_INTERNAL_ERROR = {"message": "Internal server error"}
_NOT_CONNECTED = "not connected to namespace"
_TOO_MANY_NAMESPACES = "too many namespaces"


class ProtocolError(Exception):
    """A client broke the Socket.IO protocol; its transport is closed."""


class _Connection:
    """The state of one Engine.IO connection, kept until its last packet is dispatched."""

    __slots__ = (
        "binary",
        "binary_size",
        "closed",
        "connect_timer",
        "eio_sid",
        "environ",
        "greeted",
        "pending",
        "remote_addr",
        "sids",
        "space",
        "worker",
    )

    def __init__(self, eio_sid: str, environ: dict[str, Any]) -> None:
        self.eio_sid = eio_sid
        self.environ = environ
        self.remote_addr: str | None = environ.get("REMOTE_ADDR")
        self.sids: dict[str, str] = {}  # namespace -> sid, for accepted connects
        self.pending: deque[tuple[Any, ...]] = deque()
        self.worker: gevent.Greenlet | None = None
        self.space: gevent.event.Event | None = None
        self.connect_timer: gevent.Greenlet | None = None
        self.binary: Any = None  # a binary packet waiting for its attachments
        self.binary_size = 0
        self.greeted = False  # a CONNECT packet arrived
        self.closed = False


class _Hold:
    """The packets for one namespace of a client, kept while its connect handler runs.

    Every packet is kept except the connect's own answer (CONNECT,
    CONNECT_ERROR): emits to the client, to its rooms, broadcasts it is part
    of, in the order they were sent. Packets of the client's other namespaces
    pass (their binary attachments with them).
    """

    __slots__ = ("attachments_kept", "attachments_left", "namespace", "packets")

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.packets: list[tuple[bool, Any]] = []  # (encoded?, packet), in sending order
        self.attachments_left = 0  # binary attachments still to come after an encoded packet
        self.attachments_kept = False  # whether they are kept, as their packet was

    def keeps_packet(self, pkt: Any) -> bool:
        """Keep ``pkt`` (a Socket.IO packet) if it is for the namespace connecting."""
        if pkt.packet_type in (_CONNECT, sio_packet.CONNECT_ERROR):
            return False
        if (pkt.namespace or "/") != self.namespace:
            return False
        self.packets.append((False, pkt))
        return True

    def keeps_encoded(self, eio_pkt: Any, packet_class: Any) -> bool:
        """Keep ``eio_pkt`` (an encoded packet or attachment) if it is for the namespace."""
        if self.attachments_left:
            self.attachments_left -= 1
            kept = self.attachments_kept
        else:
            try:
                pkt = packet_class(encoded_packet=eio_pkt.data)
            except Exception:  # not a packet this server encoded: not ours to hold
                return False
            self.attachments_left = pkt.attachment_count
            kept = self.attachments_kept = (
                pkt.packet_type not in (_CONNECT, sio_packet.CONNECT_ERROR)
                and (pkt.namespace or "/") == self.namespace
            )
        if kept:
            self.packets.append((True, eio_pkt))
        return kept

    def release(self, server: Server, eio_sid: str) -> None:
        """Send what was kept to ``eio_sid``, in order (once the hold is lifted)."""
        packets, self.packets = self.packets, []
        for encoded, pkt in packets:
            if encoded:
                server._send_eio_packet(eio_sid, pkt)
            else:
                server._send_packet(eio_sid, pkt)


class Server(SocketIOServerAPI, socketio.Server):
    """python-socketio's server, dispatching every packet through the bus in order.

    Handlers registered with python-socketio's API (``on``, ``event``,
    ``register_namespace``) become routes on ``bus`` (see
    :mod:`.socketio_api`).

    :param dispatcher: publishes an event on the bus (see :data:`Dispatcher`).
    :param accepts_namespace: tells whether a client may connect to a namespace.
    :param connect_timeout: seconds a transport may stay open without sending
        CONNECT before it is closed (``None`` or ``0`` to wait forever).
    :param max_queued_events: packets queued per connection before the reader
        waits for the worker (and packets waiting to be sent to the client
        before the reader waits for the client to read them).
    :param max_attachments: binary attachments allowed in one packet.
    :param max_connections_per_address: open transports allowed from one
        remote address (``None`` for no limit); more are refused at the
        handshake with HTTP 401.
    :param max_namespaces: namespaces one connection may be connected to at
        once; a CONNECT to one more is refused with ``too many namespaces``.
    :param max_packets_per_post: Engine.IO packets one long-polling POST may
        carry; a POST with more is refused with HTTP 400 before any is decoded.
    :param on_emit: called with an ``EMIT`` event after every server emit.
    :param bus: the bus that handlers registered on the server are routed on.
    :param kwargs: python-socketio ``Server`` options.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        accepts_namespace: Callable[[str], bool],
        *,
        connect_timeout: float | None = 45.0,
        max_queued_events: int = 100,
        max_attachments: int = 10,
        max_connections_per_address: int | None = None,
        max_namespaces: int = 100,
        max_packets_per_post: int = 10_000,
        on_emit: Callable[[Event], None] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("async_mode", "gevent")
        if not str(kwargs["async_mode"]).startswith("gevent"):
            raise ValueError(
                f"flask_sockevents serves under gevent: async_mode must be 'gevent' or "
                f"'gevent_uwsgi', not {kwargs['async_mode']!r}"
            )
        super().__init__(**kwargs)
        self.eio.limits = self  # every session charges its packets to this server's limits
        self.dispatcher = dispatcher
        self.accepts_namespace = accepts_namespace
        self.connect_timeout = connect_timeout
        self.max_queued_events = max(1, max_queued_events)
        self.max_attachments = max_attachments
        self.max_connections_per_address = max_connections_per_address
        self.max_namespaces = max(1, max_namespaces)
        self.max_packets_per_post = max(1, max_packets_per_post)
        self._per_address: Counter[str | None] = Counter()
        self.on_emit = on_emit
        self.protocol_errors: Counter[str] = Counter()
        self._connections: dict[str, _Connection] = {}
        self._holds: dict[str, _Hold] = {}  # eio_sid -> packets waiting for a connect verdict

    def _engineio_server_class(self) -> type[engineio.Server]:
        return BudgetedEngineIOServer

    # -- the reader ---------------------------------------------------------

    def handshake_refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """Why a transport opening with ``environ`` would be refused: ``(HTTP status, text)``.

        The same rules the Engine.IO server and :meth:`_handle_eio_connect` apply
        (a known ``transport``, the origin against ``cors_allowed_origins``, and
        ``max_connections_per_address`` for a new session), asked before a
        websocket upgrade so that the client gets the HTTP answer instead of
        an upgraded socket closed at once.
        """
        refusal = self.eio.request_refusal(environ)
        if refusal is not None:
            return "400 BAD REQUEST", refusal
        origin = environ.get("HTTP_ORIGIN")
        if origin and self.eio.cors_allowed_origins != []:
            allowed = self.eio._cors_allowed_origins(environ)
            if allowed is not None and origin not in allowed:
                return "400 BAD REQUEST", "Not an accepted origin."
        if "sid=" not in environ.get("QUERY_STRING", "") and self._over_address_limit(environ):
            return "401 UNAUTHORIZED", "too many connections from this address"
        return None

    def _over_address_limit(self, environ: dict[str, Any]) -> bool:
        limit = self.max_connections_per_address
        if limit is None or self._per_address[environ.get("REMOTE_ADDR")] < limit:
            return False
        self.protocol_errors["too many connections from one address"] += 1
        return True

    def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if self._over_address_limit(environ):
            return {"message": "too many connections from this address"}
        address = environ.get("REMOTE_ADDR")
        super()._handle_eio_connect(eio_sid, environ)
        self._per_address[address] += 1
        connection = self._connections[eio_sid] = _Connection(eio_sid, environ)
        if self.connect_timeout:
            connection.connect_timer = gevent.spawn_later(
                self.connect_timeout, self._connect_timed_out, connection
            )

    def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        connection = self._connections.get(eio_sid)
        if connection is None or connection.closed:
            return
        try:
            self._receive(connection, data)
        except ProtocolError as exc:
            self._drop(connection, str(exc))

    def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        connection = self._connections.get(eio_sid)
        self.environ.pop(eio_sid, None)
        if connection is None or connection.closed:
            return
        connection.closed = True
        connection.binary = None
        if connection.connect_timer is not None:
            connection.connect_timer.kill(block=False)
        reason = reason or self.reason.CLIENT_DISCONNECT
        for namespace in list(connection.sids):
            self._enqueue(connection, ("disconnect", namespace, reason, True))
        self._enqueue(connection, ("close",))

    def _receive(self, connection: _Connection, data: Any) -> None:
        if connection.binary is not None:
            if not isinstance(data, (bytes, bytearray)):
                raise ProtocolError("expected a binary attachment")
            pkt = connection.binary
            connection.binary_size += len(data)
            if connection.binary_size > self.eio.max_http_buffer_size:
                raise ProtocolError("binary attachments larger than max_message_size")
            try:
                complete = pkt.add_attachment(data)
            except Exception as exc:  # bad placeholders, RecursionError on deep nesting
                raise ProtocolError("bad binary attachment") from exc
            if complete:
                connection.binary = None
                self._accept(connection, pkt, connection.binary_size)
            return
        if not isinstance(data, str) and self.packet_class.uses_binary_events:
            # Binary messages are attachments, unless the packet class encodes
            # whole packets as binary (python-socketio's msgpack serializer).
            raise ProtocolError("unexpected binary message")
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception as exc:  # any decoding failure, RecursionError included
            raise ProtocolError("malformed packet") from exc
        if not connection.greeted and pkt.packet_type != _CONNECT:
            raise ProtocolError("first packet must be CONNECT")
        if pkt.packet_type in (_BINARY_EVENT, _BINARY_ACK) and pkt.attachment_count:
            if pkt.attachment_count > self.max_attachments:
                raise ProtocolError("too many binary attachments")
            connection.binary = pkt
            connection.binary_size = len(data)
            return
        self._accept(connection, pkt, len(data))

    def _accept(self, connection: _Connection, pkt: Any, size: int) -> None:
        kind = pkt.packet_type
        namespace = pkt.namespace or "/"
        if kind in (_EVENT, _BINARY_EVENT):
            self._accept_event(connection, pkt, namespace, size)
        elif kind in (_ACK, _BINARY_ACK):
            if not isinstance(pkt.data, list) or pkt.id is None:
                raise ProtocolError("malformed ACK")
            sid = connection.sids.get(namespace)
            if sid is not None:
                self.manager.trigger_callback(sid, pkt.id, pkt.data)
        elif kind == _CONNECT:
            connection.greeted = True
            if connection.connect_timer is not None:
                connection.connect_timer.kill(block=False)
                connection.connect_timer = None
            event = Event(
                EventKind.CONNECT,
                namespace,
                "connect",
                args=(pkt.data,),
                remote_addr=connection.remote_addr,
                size=size,
                transport=connection.eio_sid,
            )
            self._enqueue(connection, ("connect", event), bounded=True)
        elif kind == _DISCONNECT:
            if namespace in connection.sids:
                self._enqueue(
                    connection,
                    ("disconnect", namespace, self.reason.CLIENT_DISCONNECT, True),
                    bounded=True,
                )
        else:
            raise ProtocolError(f"unexpected packet type {kind}")

    def _accept_event(self, connection: _Connection, pkt: Any, namespace: str, size: int) -> None:
        data = pkt.data
        if type(data) is not list or not data:
            raise ProtocolError("event payload must be a non-empty array")
        name = data[0]
        rejection = None
        if type(name) is not str:
            rejection = f"event name must be a string, not {type(name).__name__}"
            name = repr(name)[:64]
        sid = connection.sids.get(namespace)
        if sid is None:
            rejection = _NOT_CONNECTED
        event = Event(
            EventKind.EVENT,
            namespace,
            name,
            sid,
            tuple(data[1:]),
            pkt.id is not None,
            None,
            connection.remote_addr,
            size,
            transport=connection.eio_sid,
        )
        self._enqueue(connection, ("event", event, rejection, pkt.id), bounded=True)

    def _enqueue(
        self, connection: _Connection, item: tuple[Any, ...], bounded: bool = False
    ) -> None:
        """Queue ``item`` for the connection's worker, starting one if there is none.

        :param bounded: the item comes from the client (through the reader):
            when the queue is full, wait until the worker makes room. What the
            server queues itself never waits (a worker disconnecting its own
            client would wait for itself).
        """
        if not self.async_handlers:  # the in-process test client: dispatch inline
            self._process(connection, item)
            return
        pending = connection.pending
        pending.append(item)
        if connection.worker is None:
            connection.worker = gevent.spawn(self._drain, connection)
        elif bounded and len(pending) >= self.max_queued_events:
            if connection.space is None:
                connection.space = gevent.event.Event()
            connection.space.clear()
            connection.space.wait()

    def _drop(self, connection: _Connection, reason: str) -> None:
        """Close a transport that broke the protocol."""
        self.protocol_errors[reason] += 1
        logger.info("closing %s (%s): %s", connection.eio_sid, connection.remote_addr, reason)
        try:
            socket = self.eio._get_socket(connection.eio_sid)
        except KeyError:
            return
        socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
        self.eio.sockets.pop(connection.eio_sid, None)
        # Let the transport's writer close the socket now: a reader whose socket
        # always has data waiting never yields, and would go on reading what a
        # client keeps streaming at a connection already dropped.
        gevent.sleep(0)

    def _connect_timed_out(self, connection: _Connection) -> None:
        connection.connect_timer = None
        if not connection.greeted and not connection.closed:
            self._drop(connection, "no CONNECT within connect_timeout")

    # -- the worker ---------------------------------------------------------

    def _drain(self, connection: _Connection) -> None:
        pending = connection.pending
        done = 0
        try:
            while pending:
                item = pending.popleft()
                space = connection.space
                if space is not None and len(pending) < self.max_queued_events:
                    space.set()
                self._process(connection, item)
                done += 1
                if done % PACKETS_PER_TURN == 0:
                    gevent.sleep(0)  # handlers that never block must not hold the others
        finally:
            connection.worker = None

    def _process(self, connection: _Connection, item: tuple[Any, ...]) -> None:
        try:
            what = item[0]
            if what == "event":
                self._dispatch_event(connection, item[1], item[2], item[3])
            elif what == "connect":
                if not self._refused_over_namespace_limit(connection, item[1]):
                    self._dispatch_connect(connection, item[1])
            elif what == "disconnect":
                self._dispatch_disconnect(connection, item[1], item[2], item[3])
            else:  # "close": the transport is gone and everything before it is done
                self._forget(connection)
        except Exception:
            logger.exception("dispatch of %r failed", item)

    def _refused_over_namespace_limit(self, connection: _Connection, event: Event) -> bool:
        """Refuse a CONNECT that would take the connection past ``max_namespaces``."""
        if event.namespace in connection.sids or len(connection.sids) < self.max_namespaces:
            return False
        if not connection.closed:
            self.dispatcher(connection.environ, event, _TOO_MANY_NAMESPACES)
            self._send_packet(
                connection.eio_sid,
                self.packet_class(
                    sio_packet.CONNECT_ERROR,
                    {"message": _TOO_MANY_NAMESPACES},
                    namespace=event.namespace,
                ),
            )
        return True

    def _forget(self, connection: _Connection) -> None:
        if self._connections.pop(connection.eio_sid, None) is not None:
            address = connection.remote_addr
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    def _dispatch_event(
        self, connection: _Connection, event: Event, rejection: str | None, ack_id: int | None
    ) -> None:
        if rejection is None and connection.sids.get(event.namespace) != event.sid:
            rejection = _NOT_CONNECTED
        finished = self.dispatcher(connection.environ, event, rejection)
        if ack_id is not None:
            if finished.replied:
                ack = finished.ack
                data = [] if ack is None else list(ack) if isinstance(ack, tuple) else [ack]
                self._send_packet(
                    connection.eio_sid,
                    self.packet_class(_ACK, namespace=event.namespace, id=ack_id, data=data),
                )
            elif finished.outcome is Outcome.REJECTED:
                error = finished.ack or {"error": "rejected", "reason": finished.reason}
                self._send_packet(
                    connection.eio_sid,
                    self.packet_class(_ACK, namespace=event.namespace, id=ack_id, data=[error]),
                )
        if isinstance(finished.error, Reject) and finished.error.disconnect:
            self._close_transport(connection)

    def _close_transport(self, connection: _Connection) -> None:
        """Close the client's whole Engine.IO session, as ``Reject(disconnect=True)`` asks.

        Closing only the namespace would let the client CONNECT again on the
        same transport; closing the session disconnects every namespace it
        opened (each published once, in order, reason ``SERVER_DISCONNECT``).
        The client is sent a DISCONNECT for each namespace first, so that a
        Socket.IO client knows the server closed it and does not reconnect
        on its own.
        """
        if connection.closed:
            return
        for namespace in list(connection.sids):
            disconnect = self.packet_class(_DISCONNECT, namespace=namespace)
            self._send_packet(connection.eio_sid, disconnect)
        self._handle_eio_disconnect(connection.eio_sid, self.reason.SERVER_DISCONNECT)
        self.eio.disconnect(connection.eio_sid)

    def _dispatch_connect(self, connection: _Connection, event: Event) -> None:
        namespace = event.namespace
        eio_sid = connection.eio_sid
        if connection.closed:
            return
        if namespace in connection.sids:
            self.dispatcher(connection.environ, event, "already connected to namespace")
            return
        if not self.accepts_namespace(namespace):
            self.dispatcher(connection.environ, event, "Invalid namespace")
            self._send_packet(
                eio_sid,
                self.packet_class(
                    sio_packet.CONNECT_ERROR, {"message": "Invalid namespace"}, namespace=namespace
                ),
            )
            return
        sid = self.manager.pre_connect(eio_sid, namespace)
        event = event._replace(sid=sid)
        if self.always_connect:  # python-socketio's option: admit first, refuse by disconnecting
            self._admit(connection, namespace, sid)
            finished = self.dispatcher(connection.environ, event, None)
            if not accepted(finished):
                connection.sids.pop(namespace, None)
                self.manager.pre_disconnect(sid, namespace)
                refusal = self._refusal(finished)
                self._send_packet(
                    eio_sid, self.packet_class(_DISCONNECT, data=refusal, namespace=namespace)
                )
                self.manager.disconnect(sid, namespace, ignore_queue=True)
            return
        # What the handler sends this client in the namespace waits for its
        # verdict: after CONNECT if it accepts, never if it refuses.
        hold = self._holds[eio_sid] = _Hold(namespace)
        try:
            finished = self.dispatcher(connection.environ, event, None)
            if accepted(finished):
                del self._holds[eio_sid]
                if connection.closed:
                    # The transport closed while the handler ran: the client
                    # is in and leaves at once, so its disconnect is published.
                    self.manager.connect(sid, namespace)
                    connection.sids[namespace] = sid
                    reason = self.reason.TRANSPORT_CLOSE
                    self._dispatch_disconnect(connection, namespace, reason, True)
                    return
                self._admit(connection, namespace, sid)
                hold.release(self, eio_sid)
                return
            self._send_packet(
                eio_sid,
                self.packet_class(
                    sio_packet.CONNECT_ERROR, data=self._refusal(finished), namespace=namespace
                ),
            )
        finally:
            self._holds.pop(eio_sid, None)
        self.manager.disconnect(sid, namespace, ignore_queue=True)
        if isinstance(finished.error, Reject) and finished.error.disconnect:
            self._close_transport(connection)

    @staticmethod
    def _refusal(finished: Event) -> Any:
        return finished.ack if finished.outcome is Outcome.REJECTED else _INTERNAL_ERROR

    def _admit(self, connection: _Connection, namespace: str, sid: str) -> None:
        """Answer CONNECT and count the client in ``namespace``."""
        self._send_packet(
            connection.eio_sid, self.packet_class(_CONNECT, {"sid": sid}, namespace=namespace)
        )
        self.manager.connect(sid, namespace)
        connection.sids[namespace] = sid

    # -- sending --------------------------------------------------------------

    def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        """Send a Socket.IO packet, unless it waits for a connect's verdict."""
        hold = self._holds.get(eio_sid) if self._holds else None
        if hold is None or not hold.keeps_packet(pkt):
            super()._send_packet(eio_sid, pkt)

    def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        """Send an encoded Socket.IO packet (python-socketio's broadcasts), unless it waits."""
        hold = self._holds.get(eio_sid) if self._holds else None
        if hold is None or not hold.keeps_encoded(eio_pkt, self.packet_class):
            super()._send_eio_packet(eio_sid, eio_pkt)

    def _dispatch_disconnect(
        self, connection: _Connection, namespace: str, reason: str, by_client: bool
    ) -> None:
        sid = connection.sids.pop(namespace, None)
        if sid is None:
            return
        if by_client and self.manager.is_connected(sid, namespace):
            self.manager.pre_disconnect(sid, namespace=namespace)
        event = Event(
            EventKind.DISCONNECT,
            namespace,
            "disconnect",
            sid,
            (reason,),
            remote_addr=connection.remote_addr,
            transport=connection.eio_sid,
        )
        try:
            self.dispatcher(connection.environ, event, None)
        finally:
            self.manager.disconnect(sid, namespace, ignore_queue=True)

    # -- server-side operations ---------------------------------------------

    def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        """Disconnect a client from a namespace; its disconnect is published once, in order.

        :param sid: the client's session id in ``namespace``.
        :param namespace: the namespace, ``"/"`` by default.
        :param ignore_queue: with a message queue, act locally only.
        """
        namespace = namespace or "/"
        if ignore_queue:
            delete_it = self.manager.is_connected(sid, namespace)
        else:
            delete_it = self.manager.can_disconnect(sid, namespace)
        if not delete_it:
            return
        eio_sid = self.manager.pre_disconnect(sid, namespace=namespace)
        self._send_packet(eio_sid, self.packet_class(_DISCONNECT, namespace=namespace))
        connection = self._connections.get(eio_sid)
        if connection is None:
            self.manager.disconnect(sid, namespace, ignore_queue=True)
            return
        self._enqueue(connection, ("disconnect", namespace, self.reason.SERVER_DISCONNECT, False))

    def emit(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """Emit ``event`` to clients, as python-socketio does; publish it on ``event_emitted``."""
        super().emit(
            event,
            data=data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
            ignore_queue=ignore_queue,
        )
        if self.on_emit is not None:
            args = data if isinstance(data, tuple) else () if data is None else (data,)
            self.on_emit(
                Event(
                    EventKind.EMIT,
                    namespace or "/",
                    event,
                    args=args,
                    ack_requested=callback is not None,
                    to=to or room,
                )
            )

    def call(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        sid: Any = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        """Emit ``event`` to one client and wait for its acknowledgement.

        Works from handlers: events are dispatched off the transport's reader,
        so the client's answer can arrive while the handler waits.

        :raises TimeoutError: when no answer came within ``timeout`` seconds.
        :return: the client's answer: one value, a tuple of values, or None.
        """
        to = to or sid
        if to is None:
            raise ValueError("call() needs a client: pass to=<sid>")
        answered = gevent.event.Event()
        answers: list[tuple[Any, ...]] = []

        def on_answer(*args: Any) -> None:
            answers.append(args)
            answered.set()

        self.emit(
            event,
            data=data,
            to=to,
            namespace=namespace,
            callback=on_answer,
            ignore_queue=ignore_queue,
        )
        if not answered.wait(timeout=timeout):
            raise TimeoutError(f"no answer to {event!r} from {to} within {timeout} s")
        answer = answers[0]
        return answer if len(answer) > 1 else answer[0] if answer else None

    def shutdown_gracefully(self, timeout: float) -> bool:
        """Finish what clients sent, then disconnect every client and close the transports.

        Packets already received are dispatched first, so every event the
        server took gets its handler run and its acknowledgement sent; then
        each connected namespace is disconnected (reason ``SERVER_DISCONNECT``,
        published on the bus once, in order) and every transport is closed.

        :param timeout: seconds allowed for all of it.
        :return: ``True`` if everything finished in time, ``False`` if some
            handler was still running at the deadline (it is left running).
        """
        deadline = time.monotonic() + timeout
        finished = self._join_workers(deadline)
        for connection in list(self._connections.values()):
            for namespace, sid in list(connection.sids.items()):
                self.disconnect(sid, namespace, ignore_queue=True)
        finished = self._join_workers(deadline) and finished
        gevent.spawn(self.eio.disconnect).join(max(0.0, deadline - time.monotonic()))
        return self._join_workers(deadline) and finished

    def _join_workers(self, deadline: float) -> bool:
        """Wait until no connection has packets to dispatch, or until ``deadline``."""
        while True:
            workers = [c.worker for c in self._connections.values() if c.worker is not None]
            if not workers:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            gevent.joinall(workers, timeout=remaining)

    def connection_stats(self) -> dict[str, int]:
        """Connections known to the server and packets waiting in their queues."""
        return {
            "connections": len(self._connections),
            "queued": sum(len(c.pending) for c in self._connections.values()),
        }
