"""What the server's stages share: one connection's state and the items of its queue.

The reader (:mod:`.reader`) turns a client's packets into items, the queue
(:mod:`.worker`) holds them in arrival order, and admission
(:mod:`.admission`) and the worker act on them. Each item is its own small
type, so a reader of the worker sees at a glance what each one carries:

- :class:`EventItem`: a client event, its rejection if the reader already
  knows one, and the ack id the client asked for;
- :class:`ConnectItem`: a client's CONNECT, as a connect event;
- :class:`DisconnectItem`: one namespace leaving, by the client or the server;
- :class:`CloseItem`: the transport is gone; everything queued before it is done.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import gevent
import gevent.event

from .event import Event

__all__ = [
    "CloseItem",
    "ConnectItem",
    "Connection",
    "DisconnectItem",
    "EventItem",
    "QueueItem",
]


class EventItem(NamedTuple):
    """A client event to dispatch, and to acknowledge when ``ack_id`` is not ``None``."""

    event: Event
    rejection: str | None
    ack_id: int | None


class ConnectItem(NamedTuple):
    """A client's CONNECT to ``event.namespace``."""

    event: Event


class DisconnectItem(NamedTuple):
    """``namespace`` leaves, for ``reason``; ``by_client`` when the client asked (or left)."""

    namespace: str
    reason: str
    by_client: bool


class CloseItem(NamedTuple):
    """The transport closed: forget the connection once everything before is dispatched."""


QueueItem = EventItem | ConnectItem | DisconnectItem | CloseItem


class Connection:
    """The state of one Engine.IO connection, kept until its last packet is dispatched."""

    __slots__ = (
        "binary",
        "binary_size",
        "closed",
        "connect_timer",
        "eio_sid",
        "environ",
        "greeted",
        "idle",
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
        self.pending: deque[QueueItem] = deque()
        self.worker: Any = None  # the greenlet dispatching its items, while it has some
        self.space: gevent.event.Event | None = None
        self.idle: gevent.event.Event | None = None  # set when the worker is done, if awaited
        self.connect_timer: Any = None  # the loop's timer until CONNECT (reader)
        self.binary: Any = None  # a binary packet waiting for its attachments
        self.binary_size = 0
        self.greeted = False  # a CONNECT packet arrived
        self.closed = False
