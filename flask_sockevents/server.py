"""The Socket.IO server: from Engine.IO messages to events on the bus.

:class:`Server` is python-socketio's ``Server`` with its packet handling
replaced, built from one module per stage, each following the previous:

1. :mod:`.reader`: the transport's greenlet decodes packets, enforces the
   protocol (the first packet must be CONNECT; a malformed packet closes the
   transport), builds the :class:`~flask_sockevents.Event` and queues it;
2. :mod:`.worker`: one greenlet per connection, alive while it has queued
   items, takes them in arrival order (bounded by ``max_queued_events``: a
   full queue stops the reader, so a flooding client slows itself down
   without losing a packet it sent) and dispatches each through the bus,
   sending the answer (ACK);
3. :mod:`.admission`: connects are admitted or refused (CONNECT,
   CONNECT_ERROR; at most ``max_namespaces`` per connection) and
   disconnects published once each;
4. :mod:`.operations`: what the application does to clients (``disconnect``,
   ``emit``, ``call``, graceful shutdown).

The stages share one per-connection state and typed queue items
(:mod:`.connection_state`). Every packet a client sends costs, whatever its
kind and transport (:mod:`.budget` charges the Engine.IO side). Connections
never wait on each other. Private attributes of python-engineio and
python-socketio that the stages reach are listed in :mod:`.dependencies`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import engineio

from .admission import Dispatcher
from .budget import BudgetedEngineIOServer
from .event import Event
from .operations import Operations, measured_packet_class
from .reader import ProtocolError  # noqa: F401  (importable from here, as before)
from .recovering import ConnectionRecovery

__all__ = ["Dispatcher", "Server"]


class Server(Operations):
    """python-socketio's server, dispatching every packet through the bus in order.

    Handlers registered with python-socketio's API (``on``, ``event``,
    ``register_namespace``) become routes on ``bus`` (see
    :mod:`.socketio_api`).

    :param dispatcher: publishes an event on the bus (see
        :data:`~flask_sockevents.admission.Dispatcher`).
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
    :param recovery: connection state recovery (:mod:`.recovering`), or
        ``None`` when it is off.
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
        recovery: ConnectionRecovery | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("async_mode", "gevent")
        if not str(kwargs["async_mode"]).startswith("gevent"):
            raise ValueError(
                f"flask_sockevents serves under gevent: async_mode must be 'gevent' or "
                f"'gevent_uwsgi', not {kwargs['async_mode']!r}"
            )
        super().__init__(**kwargs)
        self.packet_class: type[Any] = measured_packet_class(self.packet_class)
        self.eio.limits = self  # every session charges its packets to this server's limits
        self.dispatcher = dispatcher
        self.accepts_namespace = accepts_namespace
        self.connect_timeout = connect_timeout
        self.max_queued_events = max(1, max_queued_events)
        self.max_attachments = max_attachments
        self.max_connections_per_address = max_connections_per_address
        self.max_namespaces = max(1, max_namespaces)
        self.max_packets_per_post = max(1, max_packets_per_post)
        self._per_address = Counter()
        self.on_emit = on_emit
        self.recovery = recovery
        self.protocol_errors = Counter()
        self._connections = {}
        self._holds = {}
        self._replays = {}
        self._inline_readers = {}

    def _engineio_server_class(self) -> type[engineio.Server]:
        return BudgetedEngineIOServer

    # Room changes, told to a recovery store that keeps connected sessions.

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Put client ``sid`` in ``room`` (python-socketio's ``enter_room``)."""
        super().enter_room(sid, room, namespace=namespace)
        self._track(sid, namespace or "/")

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Take client ``sid`` out of ``room`` (python-socketio's ``leave_room``)."""
        super().leave_room(sid, room, namespace=namespace)
        self._track(sid, namespace or "/")

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Take every client out of ``room`` (python-socketio's ``close_room``)."""
        namespace = namespace or "/"
        recovery = self.recovery
        if recovery is None or not recovery.tracks:
            super().close_room(room, namespace=namespace)
            return
        members = [sid for sid, _ in self.manager.get_participants(namespace, room)]
        super().close_room(room, namespace=namespace)
        for sid in members:
            self._track(sid, namespace)

    def _track(self, sid: str, namespace: str) -> None:
        recovery = self.recovery
        if recovery is not None and recovery.tracks:
            eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
            connection = self._connections.get(eio_sid) if eio_sid else None
            environ = connection.environ if connection is not None else {}
            recovery.track(sid, namespace, self.manager, environ)
