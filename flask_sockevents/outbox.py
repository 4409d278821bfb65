"""Writing to a websocket: at once when the socket can take the bytes, queued only when not.

python-engineio gives every websocket session a writer greenlet that waits on
the session's queue for ever: each packet sent is put on the queue, the writer
wakes, takes it, builds its frame and writes it. For a broadcast to a
thousand clients that is a thousand queue puts, greenlet switches, timeouts
and frames, and an idle session holds its writer all its life.

:class:`~flask_sockevents.engine.EngineIOSocket` writes instead:

- **without a writer greenlet**, when no greenlet is writing: the frame is
  queued and, at the end of the sending greenlet's turn (a loop callback), the
  frames queued meanwhile are handed together, in one send, to the
  non-blocking socket, which takes them whole in the common case (a client
  pipelining ten events gets its ten answers in one write);
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
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent.socket
from gevent.event import Event
from gevent.queue import Empty

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


class Outbox:
    """A session's queue of what waits to be written, calling ``on_put`` after each put.

    python-engineio puts on the queue from several places (a packet, the
    ``None`` that ends the writer, the CLOSE of a timed-out session): the
    callback starts the writer greenlet whenever something is queued.

    It offers what python-engineio and this package use of gevent's
    ``JoinableQueue`` (``put``, ``get`` with ``block`` and ``timeout``,
    ``qsize``, ``empty``, ``task_done``, ``join``), and holds nothing while
    empty and unwatched: its deque and the events a getter or a joiner waits
    on are made when needed, and the deque dropped whenever it empties (an
    idle session holds one small object, not a queue of three deques).
    """

    __slots__ = ("_done", "_items", "_ready", "_unfinished", "on_put")

    def __init__(self, on_put: Callable[[], None]) -> None:
        self.on_put = on_put
        self._items: deque[Any] | None = None
        self._ready: Event | None = None  # set when an item arrives, for a waiting get
        self._done: Event | None = None  # set when every item is done, for a join
        self._unfinished = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Queue ``item`` (never blocks), then let the session make sure a writer takes it."""
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        if self._ready is not None:
            self._ready.set()
        self.on_put()

    def put_front(self, item: Any) -> None:
        """Queue ``item`` ahead of every other (what was taken and not written), quietly.

        ``on_put`` is not called: whoever puts an item back decides who writes it.
        A get waiting meanwhile takes it, as it would an item put.
        """
        if self._items is None:
            self._items = deque()
        self._items.appendleft(item)
        self._unfinished += 1
        if self._ready is not None:
            self._ready.set()

    def qsize(self) -> int:
        """Items waiting."""
        return len(self._items) if self._items is not None else 0

    def empty(self) -> bool:
        """Whether no item waits."""
        return not self._items

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Take the oldest item, waiting up to ``timeout`` seconds for one if ``block``.

        :raises gevent.queue.Empty: none came (at once, when not ``block``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            items = self._items
            if items:
                item = items.popleft()
                if not items:
                    self._items = None
                return item
            if not block:
                raise Empty
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Empty
            if self._ready is None:
                self._ready = Event()
            self._ready.clear()
            self._ready.wait(remaining)

    def get_nowait(self) -> Any:
        """Take the oldest item without waiting (:class:`gevent.queue.Empty` if none)."""
        return self.get(block=False)

    def task_done(self) -> None:
        """Say that an item taken is dealt with (written, or dropped)."""
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._unfinished = 0
            if self._done is not None:
                self._done.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put is done; return whether it happened within ``timeout``."""
        if self._unfinished <= 0:
            return True
        if self._done is None:
            self._done = Event()
        self._done.clear()
        return bool(self._done.wait(timeout))


def direct_socket(ws: Any) -> Any:
    """The gevent socket under python-engineio's websocket wrapper ``ws``, or ``None``.

    ``ws`` wraps gevent-websocket's ``WebSocket`` (``ws._sock``), whose handler
    holds the connection's gevent socket. Only a plain TCP socket is written
    directly: a TLS socket (``gevent.ssl.SSLSocket``) must encrypt what it
    sends, so its websocket keeps python-engineio's writer greenlet.
    """
    websocket = getattr(ws, "_sock", None)
    gevent_socket = getattr(getattr(websocket, "handler", None), "socket", None)
    if type(gevent_socket) is not gevent.socket.socket:
        return None
    if getattr(gevent_socket, "_sock", None) is None:
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
