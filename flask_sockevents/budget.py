"""Every packet costs: the Engine.IO side of a connection's budget, on both transports.

python-engineio's reader handles some packets itself (a pong reschedules the
ping, an upgrade packet is answered with a noop) and reads on for as long as
its socket has data: a greenlet only yields when it would block, so a client
streaming cheap packets held every other client of the process, and the
noops it never read piled up without bound. A long-polling POST was decoded
into packets in one uninterrupted loop. :class:`BudgetedSocket`, installed on
every session by :meth:`BudgetedSocket.adopt`, makes each packet a client
sends, of any kind, on either transport, go through :meth:`~BudgetedSocket.receive`
(or :meth:`~BudgetedSocket.receive_message`, a text MESSAGE read from a
websocket without a packet object), which:

1. yields to the other greenlets before a :data:`PACKETS_PER_TURN` + 1st
   packet in one turn (since the greenlet last yielded or waited), so the
   reader's turn is bounded however fast a client sends, and a reader that
   waits for its client between messages does not yield for nothing;
2. stops reading while more than ``max_queued_events`` packets wait to be
   sent to the client, until they are all sent (or the session ends): a
   client that does not read its answers stops being read (TCP
   back-pressure), as one whose handlers lag behind does; a CLOSE is never
   held back;
3. ignores what a client has no reason to send (a ping, an upgrade packet
   outside an upgrade, a noop), as node's server does, instead of answering
   an upgrade packet with a noop or failing the rest of a POST on a ping.

A long-polling POST carries at most ``max_packets_per_post`` packets: one with
more is refused with HTTP 400 (and its session closed) before any packet is
decoded; the others are decoded one packet at a time, each going through
:meth:`~BudgetedSocket.receive`.

Reaches into python-engineio's socket, as ``engineio.socket.Socket`` 4.x
defines it: its ``queue`` (a gevent ``JoinableQueue`` its writer takes from),
``closed``, ``server.max_http_buffer_size`` and ``server.sleep``, and its
private ``_websocket_handler`` (wrapped, to see the websocket its writer
closes when a send fails). :class:`BudgetedEngineIOServer` creates every
session as a :class:`BudgetedSocket`, on top of the Engine.IO behaviour of
:mod:`flask_sockevents.engine`.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from typing import Any, Protocol

import gevent
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

from .engine import EngineIOServer, EngineIOSocket

__all__ = [
    "HAND_OFF_AFTER",
    "PACKETS_PER_TURN",
    "BudgetedEngineIOServer",
    "BudgetedSocket",
    "TooManyPackets",
]

#: Packets a reader takes from one client (and a worker dispatches) before the others run.
PACKETS_PER_TURN = 8

#: Seconds a handler dispatched on its websocket's reader may block (wait for
#: I/O, a lock, its client's answer) before the reading goes on in another
#: greenlet (:meth:`BudgetedSocket.hand_off_reading`).
HAND_OFF_AFTER = 0.02

#: Seconds between two checks that a session waiting for its client to read is still open.
_RECHECK = 0.5

_SEPARATOR = "\x1e"
_HANDLED = frozenset((eio_packet.PONG, eio_packet.MESSAGE, eio_packet.CLOSE))
TOO_MANY_PACKETS = "too many packets in a long-polling POST"


class Limits(Protocol):
    """What a budgeted socket takes from its Socket.IO server."""

    max_queued_events: int
    max_packets_per_post: int
    protocol_errors: Counter[str]


class TooManyPackets(eio_exceptions.EngineIOError):
    """A long-polling POST carried more than ``max_packets_per_post`` packets.

    An ``EngineIOError``: python-engineio answers HTTP 400 and closes the session.
    """


class BudgetedSocket(EngineIOSocket):
    """An Engine.IO session charging every packet its client sends to its budget.

    Its limits are those of :attr:`BudgetedEngineIOServer.limits`.
    """

    def __init__(self, server: BudgetedEngineIOServer, sid: str) -> None:
        super().__init__(server, sid)
        self.limits: Limits = server.limits
        self.packets_read = 0
        # This turn's packets: a turn ends when the greenlet yields, or waits
        # (a poll of the loop: libev counts them; without a count, every
        # PACKETS_PER_TURN packets).
        loop = gevent.get_hub().loop
        self._loop: Any = loop if isinstance(getattr(loop, "iteration", None), int) else None
        self._turn_iteration = -1
        self._turn_packets = 0
        self.websocket: Any = None  # the session's websocket while it serves over one
        self.reader: Any = None  # the greenlet reading that websocket
        self.dispatching = False  # the reader is dispatching an event itself (see .worker)
        self.handed_off = False  # reading moved to another greenlet (hand_off_reading)
        self.hand_off_timer: Any = None  # fires while a handler on the reader blocks

    def receive(self, pkt: Any) -> None:
        """Take one packet from the client: charge it, then handle it as python-engineio does.

        A CLOSE is never held back: it ends the session, whatever waits to be sent.
        """
        kind = pkt.packet_type
        self._charge(kind != eio_packet.CLOSE)
        if kind in _HANDLED:
            super().receive(pkt)

    def receive_message(self, data: str) -> None:
        """Take a text MESSAGE read without a packet object: charge it, then handle it."""
        self._charge(True)
        super().receive_message(data)

    def _charge(self, held_back: bool) -> None:
        """Count a packet, yield every :data:`PACKETS_PER_TURN`, wait while the client lags.

        :param held_back: whether the packet waits while more than
            ``max_queued_events`` packets wait to be sent (all but a CLOSE).
        """
        self.packets_read += 1
        loop = self._loop
        if loop is not None and loop.iteration != self._turn_iteration:
            # The loop polled since this session's last packet: its greenlet
            # waited (for the client, mostly), and every other one has run.
            self._turn_iteration = loop.iteration
            self._turn_packets = 0
        self._turn_packets += 1
        if self._turn_packets > PACKETS_PER_TURN:
            self.server.sleep(0)
            self._turn_packets = 1
            if loop is not None:
                self._turn_iteration = loop.iteration
        if held_back and self.queue.qsize() > self.limits.max_queued_events:
            self._wait_for_the_client()

    def _wait_for_the_client(self) -> None:
        """Wait until every packet queued for the client is sent, or the session ends."""
        while self.queue.qsize() > 0 and not self.closed:
            websocket = self.websocket
            if websocket is not None and websocket.closed:
                return  # its writer failed: the next read ends the session
            self.queue.join(timeout=_RECHECK)

    def _websocket_handler(self, ws: Any) -> Any:
        """Serve the session over ``ws``, remembered so that a wait can see its writer fail.

        (python-engineio's private reader loop, wrapped: its writer closes the
        websocket when a send fails, and then nobody takes the queue any more.)
        """
        self.websocket = ws
        self.reader = gevent.getcurrent()
        try:
            return super()._websocket_handler(ws)
        finally:
            self.websocket = self.reader = None

    def hand_off_reading(self) -> Any:
        """Go on reading the websocket in a new greenlet while the reader dispatches an event.

        Once per session, while the reader is ``dispatching`` (a handler
        waits for its client's answer, or blocks for longer than
        :data:`HAND_OFF_AFTER`; the pong of a ping sent meanwhile is read too):
        the new greenlet reads and receives the client's next messages, as
        python-engineio's loop would, until the websocket ends. The reader
        joins it once its dispatch is done (see :mod:`.worker`) and then
        finds the websocket closed. Returns the new greenlet, or ``None``.
        """
        ws = self.websocket
        if ws is None or not self.dispatching or self.handed_off:
            return None
        self.handed_off = True
        self.reader = gevent.spawn(self._read_on, ws)
        return self.reader

    def _read_on(self, ws: Any) -> None:
        try:
            self._read_websocket(ws)
        finally:
            # The reading is over: the writer sends what is queued and closes
            # the websocket, which ends the first reader's loop too.
            self.queue.put(None)
            # The session ends now, not once the first reader's dispatch is
            # over: a handler still running (a connect handler about to
            # accept) sees its transport closed, and the client's disconnect
            # is queued after what it dispatches.
            server = self.server
            self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
            if server.sockets.get(self.sid) is self:
                del server.sockets[self.sid]

    def handle_post_request(self, environ: dict[str, Any]) -> None:
        """Take a long-polling POST: refuse it if it is too long, else receive each packet.

        :raises ContentTooLongError: the body is over ``max_message_size``.
        :raises TooManyPackets: the body has more than ``max_packets_per_post`` packets.
        """
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.server.max_http_buffer_size:
            raise eio_exceptions.ContentTooLongError()
        body = environ["wsgi.input"].read(length).decode("utf-8")
        if body.startswith("d="):  # a JSONP POST, as python-engineio's Payload reads it
            body = urllib.parse.parse_qs(body).get("d", [""])[0]
        if not body:
            return
        if body.count(_SEPARATOR) >= self.limits.max_packets_per_post:
            self.limits.protocol_errors[TOO_MANY_PACKETS] += 1
            raise TooManyPackets(TOO_MANY_PACKETS)
        for encoded in body.split(_SEPARATOR):
            self.receive(eio_packet.Packet(encoded_packet=encoded))


class BudgetedEngineIOServer(EngineIOServer):
    """The Engine.IO server whose sessions are :class:`BudgetedSocket` instances.

    :attr:`limits` is the Socket.IO server that owns it (set right after it
    is created, before any session).
    """

    socket_class = BudgetedSocket
    limits: Limits
