"""The Socket.IO Admin UI's instrumentation, fed by the bus.

``server.instrument(auth=...)`` is python-socketio's: it registers the admin
namespace's handlers (``connect`` checks the credentials) and wraps the
server's internals to report what happens to the admin clients. Most of those
wrappers see our traffic unchanged: the client manager's ``emit``,
``basic_enter_room`` and ``basic_leave_room`` (rooms and emits), the Engine.IO
server's connect and disconnect handlers and its transports (raw connections,
packets and bytes). One does not: python-socketio reports connections,
disconnections and received events from ``Server._trigger_event``, which our
server never calls, since every packet is dispatched through the bus instead.

:class:`BusInstrumentedServer` reports them from a bus listener on every
event of every namespace, so the admin clients see:

1. ``socket_connected`` for each accepted connect (with the socket's rooms,
   those its connect handler joined included), never for a refused one;
2. ``event_received`` for each event of a connected client, whatever its
   outcome (a guard's veto included: the event was received);
3. ``socket_disconnected`` for each disconnect of a socket it reported.

The admin namespace's handlers are ordinary routes (see
:mod:`.socketio_api`), so the credentials are checked on every connect to it,
whatever the ``namespaces`` option says.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from socketio.admin import InstrumentedServer

from . import dependencies
from .event import Event, EventKind
from .router import Kind

__all__ = ["BusInstrumentedServer"]


class BusInstrumentedServer(InstrumentedServer):
    """python-socketio's Admin UI instrumentation, reporting the bus's events.

    Takes the arguments of :meth:`socketio.Server.instrument`; ``sio`` is a
    :class:`~flask_sockevents.server.Server`.
    """

    def instrument(self) -> None:
        """Instrument as python-socketio does, and listen to every event on the bus."""
        super().instrument()
        if self.mode == "development":
            self.sio.bus.listen("*", "*", self._report)

    def uninstrument(self) -> None:
        """Undo :meth:`instrument`."""
        if self.mode == "development":
            self.sio.bus.remove(self._report, Kind.LISTENER)
        super().uninstrument()

    def _report(self, event: Event) -> None:
        """Tell the admin clients about one finished event (see the module's list)."""
        sid = event.sid
        if sid is None:
            return
        now = time.time()
        timestamp = datetime.fromtimestamp(now, timezone.utc).isoformat()
        namespace = event.namespace
        sio = self.sio
        # ``_timestamps`` is the table python-socketio's instrumentation keeps
        # (set up by ``instrument``): the connection time shown for a socket.
        timestamps = dependencies.socketio_connect_times(sio.manager)
        if event.kind is EventKind.CONNECT:
            if not event.accepted:
                return
            eio_sid = sio.manager.eio_sid_from_sid(sid, namespace)
            socket = dependencies.open_socket(sio.eio, eio_sid)
            if socket is None:  # the transport closed while the connect was dispatched
                return
            timestamps[sid] = now
            sio.emit(
                "socket_connected",
                (self.serialize_socket(sid, namespace, eio_sid), timestamp),
                namespace=self.admin_namespace,
            )
            if not socket.upgraded:
                sio.start_background_task(self._check_for_upgrade, eio_sid, sid, namespace)
        elif event.kind is EventKind.DISCONNECT:
            if timestamps.pop(sid, None) is None:
                return
            reason = event.args[0] if event.args else None
            sio.emit(
                "socket_disconnected",
                (namespace, sid, reason, timestamp),
                namespace=self.admin_namespace,
            )
        elif event.kind is EventKind.EVENT:
            sio.emit(
                "event_received",
                (namespace, sid, (event.name, *event.args), timestamp),
                namespace=self.admin_namespace,
            )

    def __repr__(self) -> str:
        return f"<BusInstrumentedServer {self.admin_namespace}>"
