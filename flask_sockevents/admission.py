"""Admission: who gets into a namespace, and how each one leaves.

A client's CONNECT is admitted in these steps (:meth:`Admission._dispatch_connect`):

1. a connection past ``max_namespaces`` is refused with ``too many
   namespaces`` (the refusal is published, then sent as CONNECT_ERROR);
2. a namespace the client is already in is refused on the bus and not answered;
3. a namespace the app does not serve is refused with ``Invalid namespace``;
4. the manager reserves a sid: with connection state recovery, a client
   coming back gets its lost session's sid, rooms and managed session
   (:mod:`.recovering`) and its connect is published with ``recovered=True``;
   with python-socketio's ``always_connect`` the client is admitted (CONNECT
   sent) before the handler runs, and a refusal then disconnects it;
5. otherwise what the server sends the client in that namespace while the
   connect handler runs is held (:class:`Hold`): released after the CONNECT
   answer if the handler accepts, dropped if it refuses;
6. the verdict is sent (CONNECT or CONNECT_ERROR; with recovery, CONNECT
   carries the client's ``pid`` and a recovered client then gets the packets
   it missed, before what was held); a transport that closed meanwhile gets
   the client in and out at once, its disconnect published;
   ``Reject(disconnect=True)`` closes the whole transport.

A namespace leaves once (:meth:`Admission._dispatch_disconnect`): its sid is
forgotten, the disconnect is published on the bus, and the manager lets go
of it, whoever asked (the client, the server, a closed transport); with
recovery, a session lost for a recoverable reason is then kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import gevent
import socketio
from socketio import packet as sio_packet

from .connection_state import Connection
from .event import Event, EventKind, Outcome
from .exceptions import Reject
from .recovering import ConnectionRecovery, Recovered, Replayed
from .socketio_api import SocketIOServerAPI

__all__ = ["Admission", "Dispatcher", "Hold"]

#: ``dispatcher(environ, event, rejection) -> finished event``: publishes an
#: event on the bus inside whatever context the application needs.
Dispatcher = Callable[[dict[str, Any], Event, "str | None"], Event]

_CONNECT = sio_packet.CONNECT
_CONNECT_ERROR = sio_packet.CONNECT_ERROR
_DISCONNECT = sio_packet.DISCONNECT
_INTERNAL_ERROR = {"message": "Internal server error"}
_TOO_MANY_NAMESPACES = "too many namespaces"
#: Characters a sid may have to be written into the CONNECT answer as is: JSON
#: escapes none of them (every generated sid is URL-safe base64).
_PLAIN_SID = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Hold:
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
        if pkt.packet_type in (_CONNECT, _CONNECT_ERROR):
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
                pkt.packet_type not in (_CONNECT, _CONNECT_ERROR)
                and (pkt.namespace or "/") == self.namespace
            )
        if kept:
            self.packets.append((True, eio_pkt))
        return kept

    def release(self, server: Admission, eio_sid: str) -> None:
        """Send what was kept to ``eio_sid``, in order (once the hold is lifted)."""
        packets, self.packets = self.packets, []
        for encoded, pkt in packets:
            if encoded:
                server._send_eio_packet(eio_sid, pkt)
            else:
                server._send_packet(eio_sid, pkt)


class Admission(SocketIOServerAPI, socketio.Server):
    """The connect and disconnect stage of :class:`~flask_sockevents.server.Server`.

    Holds the state every stage shares; :class:`~flask_sockevents.server.Server`
    sets it up.
    """

    dispatcher: Dispatcher
    accepts_namespace: Callable[[str], bool]
    max_namespaces: int
    recovery: ConnectionRecovery | None
    protocol_errors: Counter[str]
    _connections: dict[str, Connection]
    _holds: dict[str, Hold]  # eio_sid -> packets waiting for a connect verdict
    _replays: dict[str, Replayed]  # eio_sid -> packets a recovered client must not get twice
    _per_address: Counter[str | None]

    def _refused_over_namespace_limit(self, connection: Connection, event: Event) -> bool:
        """Refuse a CONNECT that would take the connection past ``max_namespaces``."""
        if event.namespace in connection.sids or len(connection.sids) < self.max_namespaces:
            return False
        if not connection.closed:
            self.dispatcher(connection.environ, event, _TOO_MANY_NAMESPACES)
            self._send_packet(
                connection.eio_sid,
                self.packet_class(
                    _CONNECT_ERROR, {"message": _TOO_MANY_NAMESPACES}, namespace=event.namespace
                ),
            )
        return True

    def _dispatch_connect(self, connection: Connection, event: Event) -> None:
        if self._refused_over_namespace_limit(connection, event):
            return
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
                    _CONNECT_ERROR, {"message": "Invalid namespace"}, namespace=namespace
                ),
            )
            return
        recovered = self._recovered(connection, event)
        if recovered is None:
            sid = self.manager.pre_connect(eio_sid, namespace)
            event = event._replace(sid=sid)
        else:
            sid = recovered.session.sid
            event = event._replace(sid=sid, recovered=True)
        # From here to the hold below nothing yields: whatever is emitted to a
        # recovered client's rooms, re-entered above, is held.
        if self.always_connect:  # python-socketio's option: admit first, refuse by disconnecting
            self._admit(connection, namespace, sid, recovered)
            finished = self.dispatcher(connection.environ, event, None)
            if not finished.accepted:
                if self.recovery is not None:
                    self.recovery.refused(sid)
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
        hold = self._holds[eio_sid] = Hold(namespace)
        try:
            finished = self.dispatcher(connection.environ, event, None)
            if finished.accepted:
                del self._holds[eio_sid]
                if connection.closed:
                    # The transport closed while the handler ran: the client
                    # is in and leaves at once, so its disconnect is published
                    # (and a recovered session is kept again).
                    self.manager.connect(sid, namespace)
                    connection.sids[namespace] = sid
                    if recovered is not None and self.recovery is not None:
                        self.recovery.admitted(
                            sid, namespace, recovered, self.manager, connection.environ
                        )
                    reason = self.reason.TRANSPORT_CLOSE
                    self._dispatch_disconnect(connection, namespace, reason, True)
                    return
                self._admit(connection, namespace, sid, recovered)
                hold.release(self, eio_sid)
                return
            self._send_packet(
                eio_sid,
                self.packet_class(
                    _CONNECT_ERROR, data=self._refusal(finished), namespace=namespace
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

    def _recovered(self, connection: Connection, event: Event) -> Recovered | None:
        """The lost session a CONNECT asks back, its sid reserved and rooms re-entered."""
        recovery = self.recovery
        if recovery is None:
            return None
        recovered = recovery.restore(event.args[0] if event.args else None, event.namespace)
        if recovered is None or not recovery.reenter(
            self.manager, connection.eio_sid, recovered, connection.environ
        ):
            return None
        return recovered

    def _admit(
        self,
        connection: Connection,
        namespace: str,
        sid: str,
        recovered: Recovered | None = None,
    ) -> None:
        """Answer CONNECT and count the client in ``namespace``.

        With connection state recovery, CONNECT carries the client's ``pid``,
        and a recovered client is then sent the packets it missed.
        """
        recovery = self.recovery
        if recovery is None and self._writes_plain_connect(sid):
            self._send_connect_answer(connection.eio_sid, namespace, sid)
        else:
            answer = {"sid": sid}
            if recovery is not None:
                answer["pid"] = recovery.admitted(
                    sid, namespace, recovered, self.manager, connection.environ
                )
            self._send_packet(
                connection.eio_sid, self.packet_class(_CONNECT, answer, namespace=namespace)
            )
        self.manager.connect(sid, namespace)
        connection.sids[namespace] = sid
        if recovered is not None and recovery is not None:
            recovery.replay(self, connection.eio_sid, recovered)

    _plain_connect: bool | None = None  # whether packet_class writes CONNECT as JSON text

    def _writes_plain_connect(self, sid: str) -> bool:
        """Whether the CONNECT answer for ``sid`` is ``0{"sid":"<sid>"}`` (after the namespace).

        Found once by encoding one with :attr:`packet_class`: true for
        python-socketio's JSON packets (with the standard ``json`` module or
        orjson), false for a binary serializer (msgpack) or a ``json`` module
        that writes JSON differently.
        """
        plain = self._plain_connect
        if plain is None:
            probe = self.packet_class(_CONNECT, {"sid": "s"}, namespace="/n").encode()
            plain = self._plain_connect = probe == '0/n,{"sid":"s"}'
        return plain and _PLAIN_SID.issuperset(sid)

    def _send_connect_answer(self, eio_sid: str, namespace: str, sid: str) -> None:
        """Send the CONNECT answer ``{"sid": sid}`` without building and encoding a packet.

        The same text :attr:`packet_class` encodes (:meth:`_writes_plain_connect`
        says when); python-socketio's generic encoding builds a JSON encoder and
        looks for binary data in the answer on every connect. A CONNECT is
        never held (:class:`Hold`) nor replayed (no recovery here).
        """
        prefix = "0" if namespace == "/" else "0" + namespace + ","
        self.eio.send(eio_sid, prefix + '{"sid":"' + sid + '"}')

    def _dispatch_disconnect(
        self, connection: Connection, namespace: str, reason: str, by_client: bool
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
        lost = None
        try:
            self.dispatcher(connection.environ, event, None)
        finally:
            if self.recovery is not None:
                lost = self.recovery.lost(
                    sid,
                    namespace,
                    reason,
                    self.manager.get_rooms(sid, namespace),
                    connection.environ,
                )
            self.manager.disconnect(sid, namespace, ignore_queue=True)
        if lost is not None and self.recovery is not None:
            self.recovery.keep(lost)

    def _close_transport(self, connection: Connection) -> None:
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
        eio_sid = connection.eio_sid
        for namespace in list(connection.sids):
            disconnect = self.packet_class(_DISCONNECT, namespace=namespace)
            self._send_packet(eio_sid, disconnect)
        self._handle_eio_disconnect(eio_sid, self.reason.SERVER_DISCONNECT)
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.upgraded:
            self.eio.disconnect(eio_sid)  # the websocket's writer sends what is queued first
        else:
            gevent.spawn(self._close_when_drained, eio_sid, socket)

    def _close_when_drained(self, eio_sid: str, socket: Any) -> None:
        """Close a long-polling session once its client has polled what was queued.

        Closed at once, the session would answer the client's next poll with
        400 and the acknowledgement and DISCONNECT packets waiting for it
        would be lost; node's server also flushes before closing. The client
        is no longer read (its connection is closed on the bus), and the wait
        is bounded by ``ping_interval + ping_timeout``.
        """
        socket.queue.join(timeout=self.eio.ping_interval + self.eio.ping_timeout)
        self.eio.disconnect(eio_sid)

    def _forget(self, connection: Connection) -> None:
        """The transport is gone and everything it queued is done: let go of it."""
        self._replays.pop(connection.eio_sid, None)
        if self._connections.pop(connection.eio_sid, None) is not None:
            address = connection.remote_addr
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    # -- sending, held while a connect handler runs ----------------------------

    def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        """Send a Socket.IO packet, unless it waits for a connect's verdict
        (or a recovered client was already sent it)."""
        hold = self._holds.get(eio_sid) if self._holds else None
        if hold is not None and hold.keeps_packet(pkt):
            return
        if self._replays and self._replayed(eio_sid, pkt, False):
            return
        super()._send_packet(eio_sid, pkt)

    def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        """Send an encoded Socket.IO packet (python-socketio's broadcasts), unless it waits
        (or a recovered client was already sent it)."""
        hold = self._holds.get(eio_sid) if self._holds else None
        if hold is not None and hold.keeps_encoded(eio_pkt, self.packet_class):
            return
        if self._replays and self._replayed(eio_sid, eio_pkt, True):
            return
        super()._send_eio_packet(eio_sid, eio_pkt)

    def _replayed(self, eio_sid: str, pkt: Any, encoded: bool) -> bool:
        """Whether a recovered client was already sent ``pkt`` from the log."""
        replays = self._replays
        replay = replays.get(eio_sid)
        if replay is None:
            return False
        if replay.done():
            del replays[eio_sid]
            return False
        return replay.drops(pkt, encoded, self.packet_class)
