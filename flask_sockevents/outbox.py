"""Writing to a websocket: at once when the socket can take the bytes, queued only when not.

python-engineio gives every websocket session a writer greenlet that waits on
the session's queue for ever: each packet sent is put on the queue, the writer
wakes, takes it, builds its frame and writes it. For a broadcast to a
thousand clients that is a thousand queue puts, greenlet switches, timeouts
and frames, and an idle session holds its writer all its life.

:class:`~flask_sockevents.engine.EngineIOSocket` writes instead:

- **directly**, from the greenlet that sends, when nothing is queued before
  the packet and no greenlet is writing: the frame is handed to the
  non-blocking socket, which takes it whole in the common case;
- **queued**, when something is queued already or the socket could not take
  the whole frame (the client reads slowly): what is left goes on the
  session's :class:`Outbox` queue and a writer greenlet, started then, writes
  the queue out in order and ends once it is empty.

Order per connection is kept (a packet is written directly only when nothing
is waiting before it) and so is back-pressure: the queue still holds what the
client has not taken, so :mod:`flask_sockevents.budget` stops reading a
client with more than ``max_queued_events`` packets waiting.

A frame is built once per packet and kept on it (:func:`packet_frame`):
python-socketio encodes a broadcast once and sends the same Engine.IO packet
to every recipient, so every recipient is written the same bytes, and a
client that does not read holds a reference to them in its queue, not a copy.

Reaches into gevent's socket (its private ``_sock``, the non-blocking OS
socket, and ``_write_event``, the watcher a greenlet blocked writing waits
on) and gevent-websocket's ``WebSocket.handler``: :func:`direct_socket` finds
them, or returns ``None`` (a server other than gevent's ``pywsgi``), and the
session then writes through its writer greenlet only.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from gevent.queue import JoinableQueue

__all__ = ["Outbox", "direct_socket", "packet_frame", "websocket_frame"]

_TEXT = 0x81  # FIN + text opcode
_BINARY = 0x82  # FIN + binary opcode


def websocket_frame(payload: str | bytes) -> bytes:
    """The unmasked, unfragmented server frame carrying ``payload`` (text if ``str``)."""
    if isinstance(payload, str):
        data, first = payload.encode("utf-8"), _TEXT
    else:
        data, first = bytes(payload), _BINARY
    size = len(data)
    if size < 126:
        return bytes((first, size)) + data
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + data
    return struct.pack("!BBQ", first, 127, size) + data


def packet_frame(pkt: Any) -> bytes:
    """The websocket frame of an Engine.IO packet, built once and kept on the packet.

    Every recipient of a broadcast is sent the same packet object, so the
    frame is built for the first and shared by the others.
    """
    frame: bytes | None = getattr(pkt, "websocket_frame", None)
    if frame is None:
        frame = pkt.websocket_frame = websocket_frame(pkt.encode())
    return frame


class Outbox(JoinableQueue):
    """A session's queue of what waits to be written, calling ``on_put`` after each put.

    python-engineio puts on the queue from several places (a packet, the
    ``None`` that ends the writer, the CLOSE of a timed-out session): the
    callback starts the writer greenlet whenever something is queued.
    """

    __slots__ = ("on_put",)

    def __init__(self, on_put: Callable[[], None]) -> None:
        super().__init__()
        self.on_put = on_put

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Queue ``item``, then let the session make sure a writer takes it."""
        super().put(item, block, timeout)
        self.on_put()


def direct_socket(ws: Any) -> Any:
    """The gevent socket under python-engineio's websocket wrapper ``ws``, or ``None``.

    ``ws`` wraps gevent-websocket's ``WebSocket`` (``ws._sock``), whose handler
    holds the connection's gevent socket.
    """
    websocket = getattr(ws, "_sock", None)
    gevent_socket = getattr(getattr(websocket, "handler", None), "socket", None)
    if gevent_socket is None or getattr(gevent_socket, "_sock", None) is None:
        return None
    if not hasattr(gevent_socket, "_write_event"):
        return None
    return gevent_socket


def write_now(gevent_socket: Any, frame: bytes) -> int:
    """Write what the socket takes of ``frame`` without waiting; return the bytes written.

    Nothing is written while another greenlet waits to write on the socket
    (a close frame, a pong to a websocket ping): its bytes go first.

    :raises OSError: the connection is broken.
    """
    if gevent_socket._write_event.active:  # someone is blocked writing: do not cut in
        return 0
    try:
        sent: int = gevent_socket._sock.send(frame)  # non-blocking: gevent set it so
    except BlockingIOError:
        return 0
    return sent
