"""An in-process transport: an Engine.IO session of the server with no socket under it.

:class:`TestTransport` is what :class:`~flask_sockevents.testing.SocketIOTestClient`
runs on. It is one of the server's sessions, so nothing of the server is
patched and network clients of the same server are served as usual:

1. :meth:`TestTransport.open` registers the session and hands the server
   its handshake environ, as python-engineio does for a new session;
2. :meth:`TestTransport.feed` hands Engine.IO messages to the server's reader,
   then waits until the connection's queue is dispatched;
3. what the server sends arrives encoded in :meth:`TestTransport.send`, is
   decoded as a client would decode it (attachments included) and handed on;
4. :meth:`TestTransport.close`, called when the server closes the session,
   tells the server the transport is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engineio import packet as eio_packet
from socketio import packet

if TYPE_CHECKING:
    from .server import Server

__all__ = ["TestTransport"]


class TestTransport:
    """An Engine.IO session of the server that lives in-process instead of on a socket.

    The server sees an ordinary session (it is one of ``server.eio.sockets``):
    what it sends arrives here encoded, is decoded as a client would decode
    it and handed to ``receive``; what :meth:`feed` gives it goes through
    the reader like a network message, and :meth:`feed` returns once the
    connection's queue is dispatched.

    :param server: the :class:`~flask_sockevents.server.Server`.
    :param eio_sid: the session id.
    :param receive: called with each Socket.IO packet the server sends.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self, server: Server, eio_sid: str, receive: Callable[[packet.Packet], None]
    ) -> None:
        self.server = server
        self.sid = eio_sid
        self.receive = receive
        self.closed = False
        self.closing = False
        self.upgraded = False
        self._partial: Any = None
        server.eio.sockets[eio_sid] = self

    def open(self, environ: dict[str, Any]) -> None:
        """Open the session with the handshake ``environ`` (once; later calls do nothing)."""
        if self.sid not in self.server._connections:
            self.server._handle_eio_connect(self.sid, environ)

    def feed(self, messages: list[Any]) -> None:
        """Hand Engine.IO messages to the server and wait until they are dispatched."""
        for message in messages:
            self.server._handle_eio_message(self.sid, message)
        self.server.wait_dispatched(self.sid)

    # -- the Engine.IO socket's side, as the server calls it ------------------------

    def send(self, eio_pkt: Any) -> None:
        """Take one Engine.IO packet from the server (a Socket.IO packet or attachment)."""
        if eio_pkt.packet_type != eio_packet.MESSAGE:
            return
        partial = self._partial
        if partial is not None:
            if partial.add_attachment(eio_pkt.data):
                self._partial = None
                self.receive(partial)
            return
        pkt = self.server.packet_class(encoded_packet=eio_pkt.data)
        if pkt.attachment_count:
            self._partial = pkt
        else:
            self.receive(pkt)

    def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Close the session, as the server does when it disconnects a client."""
        if self.closed:
            return
        self.closed = True
        self.server.eio.sockets.pop(self.sid, None)
        self.server._handle_eio_disconnect(self.sid, reason or self.server.reason.SERVER_DISCONNECT)

    def check_ping_timeout(self) -> bool:
        """In-process sessions do not time out."""
        return True
