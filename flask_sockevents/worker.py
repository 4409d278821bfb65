"""The per-connection queue: arrival order, back-pressure, and the worker that drains it.

Each connection's items (:mod:`.connection_state`) go through these steps:

1. :meth:`Worker._enqueue` appends the item and starts the connection's
   worker, one greenlet that exists only while the connection has items;
   an event or a CONNECT read from a websocket when nothing is queued is
   dispatched by the reader itself (no greenlet to start, no switch), which
   reads on once it is done: the order is the same, and a client whose
   handler runs is not read meanwhile, as when its queue is full. A handler that waits for its
   client's answer (:meth:`~.operations.Operations.call`) first hands the
   reading over to a new greenlet (:meth:`Worker._hand_off_reading`), as
   does a handler that blocks for longer than
   :data:`~.budget.HAND_OFF_AFTER` (a loop timer, started for each inline
   dispatch, fires only while the handler waits), and from then on that
   connection's items go to workers;
2. an item from the client (``bounded``) that fills the queue to
   ``max_queued_events`` makes the reader wait until the worker makes room,
   so a flooding client slows itself down (TCP back-pressure) without losing
   a packet it already sent; what the server queues itself never waits (a
   worker disconnecting its own client would wait for itself);
3. the worker takes the items in arrival order (:meth:`Worker._drain`),
   yielding every few so that handlers which never block cannot hold the
   other connections;
4. each item is processed (:meth:`Worker._process`): an event is dispatched
   and acknowledged, a connect admitted or refused and a disconnect published
   (:mod:`.admission`), a close forgets the connection; a failure is logged
   and the next item goes on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
import gevent.event
from socketio import packet as sio_packet

from .admission import Admission
from .budget import HAND_OFF_AFTER, PACKETS_PER_TURN, BudgetedSocket
from .connection_state import (
    CloseItem,
    Connection,
    ConnectItem,
    DisconnectItem,
    EventItem,
    QueueItem,
)
from .engine import EngineIOSocket
from .event import Event, Outcome
from .eventtext import ack_text, plain_packets
from .exceptions import Reject

__all__ = ["NOT_CONNECTED", "Worker"]

logger = logging.getLogger("flask_sockevents.server")

NOT_CONNECTED = "not connected to namespace"

_ACK = sio_packet.ACK
#: What a websocket's reader dispatches itself when nothing is queued before it.
_INLINE_ITEMS = (EventItem, ConnectItem)


class Worker(Admission):
    """The queue stage of :class:`~flask_sockevents.server.Server`."""

    max_queued_events: int
    #: reader greenlet -> its websocket session, while it dispatches inline
    _inline_readers: dict[Any, BudgetedSocket]

    def _enqueue(self, connection: Connection, item: QueueItem, bounded: bool = False) -> None:
        """Queue ``item`` for the connection's worker, starting one if there is none.

        An event or a CONNECT the websocket's reader brings to an empty queue
        is dispatched at once by the reader (:meth:`_dispatch_inline`). A
        handler that blocks hands the reading over
        (:data:`~.budget.HAND_OFF_AFTER`), so a transport closing meanwhile
        is seen then: the session is closed by the greenlet reading on
        (:meth:`~.budget.BudgetedSocket.hand_off_reading`), and a connect
        handler that then accepts gets its client in and out at once.

        :param bounded: the item comes from the client (through the reader):
            when the queue is full, wait until the worker makes room.
        """
        pending = connection.pending
        if connection.worker is None:
            if bounded and not pending and type(item) in _INLINE_ITEMS:
                socket = self.eio.sockets.get(connection.eio_sid)
                if (
                    isinstance(socket, BudgetedSocket)
                    and socket.reader is gevent.getcurrent()
                    and not socket.handed_off
                ):
                    self._dispatch_inline(connection, socket, item)
                    return
            pending.append(item)
            connection.worker = gevent.spawn(self._drain, connection)
            return
        pending.append(item)
        if bounded and len(pending) >= self.max_queued_events:
            if connection.space is None:
                connection.space = gevent.event.Event()
            connection.space.clear()
            connection.space.wait()

    def _dispatch_inline(
        self, connection: Connection, socket: BudgetedSocket, item: QueueItem
    ) -> None:
        """Dispatch ``item`` (and what arrives meanwhile) on the reader, as a worker would.

        If the reading was handed over meanwhile (:meth:`_hand_off_reading`,
        or a handler blocked past :data:`~.budget.HAND_OFF_AFTER`), the reader
        waits here for the greenlet that reads on, until the websocket ends.
        """
        reader = gevent.getcurrent()
        connection.pending.append(item)
        connection.worker = reader
        self._inline_readers[reader] = socket
        socket.dispatching = True
        timer = socket.hand_off_timer
        if timer is None:
            timer = socket.hand_off_timer = gevent.get_hub().loop.timer(HAND_OFF_AFTER)
        timer.start(socket.hand_off_reading)
        try:
            self._drain(connection)
        finally:
            timer.stop()
            socket.dispatching = False
            self._inline_readers.pop(reader, None)
        successor = socket.reader
        if socket.handed_off and successor is not None and successor is not reader:
            successor.join()

    def _hand_off_reading(self) -> None:
        """Let the client be read while the current handler waits (for an answer, say).

        A no-op unless the current greenlet is a websocket reader dispatching
        inline: then a new greenlet reads the websocket from now on.
        """
        socket = self._inline_readers.pop(gevent.getcurrent(), None)
        if socket is not None:
            socket.hand_off_reading()

    def _drain(self, connection: Connection) -> None:
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
            idle = connection.idle
            if idle is not None:
                connection.idle = None
                idle.set()

    def _process(self, connection: Connection, item: QueueItem) -> None:
        try:
            if isinstance(item, EventItem):
                self._dispatch_event(connection, item.event, item.rejection, item.ack_id)
            elif isinstance(item, ConnectItem):
                self._dispatch_connect(connection, item.event)
            elif isinstance(item, DisconnectItem):
                self._dispatch_disconnect(connection, item.namespace, item.reason, item.by_client)
            else:
                assert isinstance(item, CloseItem)
                self._forget(connection)
        except Exception:
            logger.exception("dispatch of %r failed", item)

    def _dispatch_event(
        self, connection: Connection, event: Event, rejection: str | None, ack_id: int | None
    ) -> None:
        finished = self.dispatcher(
            connection.environ, event, _not_connected(connection, event, rejection)
        )
        if ack_id is not None:
            if finished.replied:
                ack = finished.ack
                data = [] if ack is None else list(ack) if isinstance(ack, tuple) else [ack]
                self._send_ack(connection.eio_sid, event.namespace, ack_id, data)
            elif finished.outcome is Outcome.REJECTED:
                error = finished.ack or {"error": "rejected", "reason": finished.reason}
                self._send_ack(connection.eio_sid, event.namespace, ack_id, [error])
        if isinstance(finished.error, Reject) and finished.error.disconnect:
            self._close_transport(connection)

    def _send_ack(self, eio_sid: str, namespace: str, ack_id: int, data: list[Any]) -> None:
        """Send the ACK ``ack_id`` of an event, carrying ``data``.

        Its text is written directly (:func:`~.eventtext.ack_text`, the same
        characters as the packet's) when the server's packets are plain and
        nothing holds this client's packets (a connect's verdict, a recovered
        client's replay); otherwise as a packet, as python-socketio sends one.
        """
        text = None
        if (
            plain_packets(self.packet_class)
            and not (self._holds and eio_sid in self._holds)
            and not (self._replays and eio_sid in self._replays)
        ):
            text = ack_text(namespace, ack_id, data)
        if text is None:
            self._send_packet(
                eio_sid, self.packet_class(_ACK, namespace=namespace, id=ack_id, data=data)
            )
            return
        socket = self.eio.sockets.get(eio_sid)
        if isinstance(socket, EngineIOSocket) and not socket.closed:
            socket.send_message(text)
        else:  # python-engineio's send: an in-process transport, or a session gone
            self.eio.send(eio_sid, text)

    # -- waiting for the workers ------------------------------------------------

    def wait_dispatched(self, eio_sid: str, timeout: float | None = None) -> bool:
        """Wait until the connection ``eio_sid`` has nothing left to dispatch.

        Returns at once when called from that connection's own worker (a
        handler cannot wait for itself).

        :param timeout: seconds to wait at most (``None``: as long as it takes).
        :return: ``True`` when the queue is empty, ``False`` at the timeout.
        """
        connection = self._connections.get(eio_sid)
        deadline = None if timeout is None else time.monotonic() + timeout
        while connection is not None and connection.worker is not None:
            if connection.worker is gevent.getcurrent():
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            _until_idle(connection, remaining)
        return True

    def _join_workers(self, deadline: float) -> bool:
        """Wait until no connection has packets to dispatch, or until ``deadline``."""
        while True:
            busy = [c for c in self._connections.values() if c.worker is not None]
            if not busy:
                return True
            for connection in busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                _until_idle(connection, remaining)


def _until_idle(connection: Connection, timeout: float | None) -> None:
    """Wait until the connection's worker is done, or for ``timeout`` seconds."""
    if connection.worker is None:
        return
    if connection.idle is None:
        connection.idle = gevent.event.Event()
    connection.idle.wait(timeout=timeout)


def _not_connected(connection: Connection, event: Event, rejection: str | None) -> str | None:
    """The rejection of ``event``: ``"not connected to namespace"`` if so, else ``rejection``.

    The one place that decides. An event read before its namespace was
    admitted carries no sid: it is not connected, whatever else is wrong with
    it. One whose namespace left (or left and came back under another sid)
    before the worker reached it carries a stale sid: it is not connected,
    unless the reader already refused it for another reason.
    """
    if event.sid is None:
        return NOT_CONNECTED
    if rejection is None and connection.sids.get(event.namespace) != event.sid:
        return NOT_CONNECTED
    return rejection
