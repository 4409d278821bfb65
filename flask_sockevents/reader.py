"""The reader: from Engine.IO messages to queued events, enforcing the protocol.

The transport's greenlet hands each Engine.IO message of a connection to
the reader, which, in order:

1. refuses a transport past ``max_connections_per_address`` at the
   handshake (:meth:`Reader.handshake_refusal` answers the same question
   before a websocket upgrade), and closes one that sends no CONNECT within
   ``connect_timeout``;
2. decodes the packet (an EVENT of the plain shape nearly every client
   sends, ``2["chat",...]``, with one JSON decoding: :mod:`.eventtext`); a
   malformed one, a first packet that is not CONNECT,
   a binary message where none is expected, or more than ``max_attachments``
   attachments (or attachments past ``max_message_size``) is a
   :class:`ProtocolError`: the transport is closed and the reason counted in
   ``protocol_errors``;
3. gathers a binary packet's attachments;
4. builds the :class:`~flask_sockevents.Event` (size: the encoded packet's)
   and queues it (:mod:`.worker`), a CONNECT and a DISCONNECT as well, so
   they keep their place in order; an ACK goes straight to the callback
   waiting for it, which may be a handler blocked in ``call()``;
5. when the transport closes, queues the disconnect of every namespace still
   connected, then the close.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from socketio import packet as sio_packet

from . import dependencies
from .budget import BudgetedEngineIOServer
from .bus import check_event_name
from .connection_state import CloseItem, Connection, ConnectItem, DisconnectItem, EventItem
from .event import Event, EventKind, client_event
from .eventtext import parse_event, plain_packets
from .worker import Worker

__all__ = ["ProtocolError", "Reader"]

logger = logging.getLogger("flask_sockevents.server")

_CONNECT = sio_packet.CONNECT
_DISCONNECT = sio_packet.DISCONNECT
_EVENT = sio_packet.EVENT
_ACK = sio_packet.ACK
_BINARY_EVENT = sio_packet.BINARY_EVENT
_BINARY_ACK = sio_packet.BINARY_ACK


class ProtocolError(Exception):
    """A client broke the Socket.IO protocol; its transport is closed."""


class Reader(Worker):
    """The reading stage of :class:`~flask_sockevents.server.Server`."""

    eio: BudgetedEngineIOServer
    connect_timeout: float | None
    max_attachments: int
    max_connections_per_address: int | None

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
            allowed = dependencies.cors_allowed_origins(self.eio, environ)
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

    # python-socketio's Engine.IO handlers, overridden (see .dependencies).

    def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if self._over_address_limit(environ):
            return {"message": "too many connections from this address"}
        address = environ.get("REMOTE_ADDR")
        super()._handle_eio_connect(eio_sid, environ)
        self._per_address[address] += 1
        connection = self._connections[eio_sid] = Connection(eio_sid, environ)
        if self.connect_timeout:
            # A bare timer of the loop, not a greenlet: nearly every client
            # sends CONNECT at once, and the greenlet would be made for nothing.
            timer = connection.connect_timer = gevent.get_hub().loop.timer(self.connect_timeout)
            timer.start(self._connect_timer_fired, connection)

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
            connection.connect_timer.close()
            connection.connect_timer = None
        reason = reason or self.reason.CLIENT_DISCONNECT
        for namespace in list(connection.sids):
            self._enqueue(connection, DisconnectItem(namespace, reason, True))
        self._enqueue(connection, CloseItem())

    # -- decoding -----------------------------------------------------------------

    def _receive(self, connection: Connection, data: Any) -> None:
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
        if isinstance(data, str):
            if data.startswith("2") and connection.greeted and plain_packets(self.packet_class):
                try:
                    plain = parse_event(data)
                except Exception as exc:  # as Packet's decoding fails on the same text
                    raise ProtocolError("malformed packet") from exc
                if plain is not None:
                    namespace, ack_id, payload = plain
                    self._accept_event(connection, namespace, ack_id, payload, len(data))
                    return
        elif self.packet_class.uses_binary_events:
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

    def _accept(self, connection: Connection, pkt: Any, size: int) -> None:
        kind = pkt.packet_type
        namespace = pkt.namespace or "/"
        if kind in (_EVENT, _BINARY_EVENT):
            self._accept_event(connection, namespace, pkt.id, pkt.data, size)
        elif kind in (_ACK, _BINARY_ACK):
            if not isinstance(pkt.data, list) or pkt.id is None:
                raise ProtocolError("malformed ACK")
            sid = connection.sids.get(namespace)
            if sid is not None:
                self.manager.trigger_callback(sid, pkt.id, pkt.data)
        elif kind == _CONNECT:
            connection.greeted = True
            if connection.connect_timer is not None:
                connection.connect_timer.close()
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
            self._enqueue(connection, ConnectItem(event), bounded=True)
        elif kind == _DISCONNECT:
            if namespace in connection.sids:
                item = DisconnectItem(namespace, self.reason.CLIENT_DISCONNECT, True)
                self._enqueue(connection, item, bounded=True)
        else:
            raise ProtocolError(f"unexpected packet type {kind}")

    def _accept_event(
        self, connection: Connection, namespace: str, ack_id: int | None, data: Any, size: int
    ) -> None:
        if type(data) is not list or not data:
            raise ProtocolError("event payload must be a non-empty array")
        name = data[0]
        rejection = None
        if type(name) is not str:  # the bus checks names; this one cannot even be carried
            rejection = check_event_name(name)
            name = repr(name)[:64]
        event = client_event(
            namespace,
            name,
            connection.sids.get(namespace),
            tuple(data[1:]),
            ack_id is not None,
            connection.remote_addr,
            size,
            connection.eio_sid,
        )
        self._enqueue(connection, EventItem(event, rejection, ack_id), bounded=True)

    # -- closing ------------------------------------------------------------------

    def _drop(self, connection: Connection, reason: str) -> None:
        """Close a transport that broke the protocol."""
        self.protocol_errors[reason] += 1
        logger.info("closing %s (%s): %s", connection.eio_sid, connection.remote_addr, reason)
        socket = dependencies.open_socket(self.eio, connection.eio_sid)
        if socket is None:
            return
        socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
        self.eio.sockets.pop(connection.eio_sid, None)
        # Let the transport's writer close the socket now: a reader whose socket
        # always has data waiting never yields, and would go on reading what a
        # client keeps streaming at a connection already dropped.
        gevent.sleep(0)

    def _connect_timer_fired(self, connection: Connection) -> None:
        # Called by the loop itself, where nothing may block: close in a greenlet.
        timer = connection.connect_timer
        connection.connect_timer = None
        if timer is not None:
            timer.close()
        gevent.spawn(self._connect_timed_out, connection)

    def _connect_timed_out(self, connection: Connection) -> None:
        if not connection.greeted and not connection.closed:
            self._drop(connection, "no CONNECT within connect_timeout")
