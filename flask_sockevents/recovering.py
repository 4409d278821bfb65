"""The server's part of connection state recovery, as node's server (4.6+) does it.

:class:`ConnectionRecovery` is what :class:`~flask_sockevents.server.Server`
calls at each step of a client's life when ``connection_state_recovery`` is on:

1. **emit** (:meth:`~ConnectionRecovery.logged_args`): an EVENT without an
   ack is logged once in the store, before it is sent, and the offset the
   store gives it is appended as its last argument; python-socketio then
   encodes it once for all its recipients. This holds for broadcasts, rooms
   and single sids alike (node gives ``io.to(id).emit`` an offset too), so a
   reply a client missed during the gap comes back with the rest;
2. **connect** (:meth:`~ConnectionRecovery.restore`): a CONNECT whose auth
   carries the ``pid`` and ``offset`` the JavaScript client sends when it
   comes back takes the session from the store, if it is still there and
   the offset still in the log; the server then reserves the same sid,
   re-enters its rooms and restores its managed session before the connect
   is published (with ``recovered=True``), all without yielding to another
   greenlet once the store has answered, and holds what is emitted to the
   client until its CONNECT is sent;
3. **admit** (:meth:`~ConnectionRecovery.admitted`): the CONNECT answer is
   ``{"sid": sid, "pid": pid}``, ``pid`` private and random (the restored
   one for a recovered session), then the missed packets are sent, in log
   order (:meth:`~ConnectionRecovery.replay`), then what was held. An emit
   logged before the store answered may be sent after the rooms were
   re-entered (a store that yields while logging, a message queue carrying
   the emit from another process): for :data:`REPLAY_WINDOW` seconds the
   server drops what it would send the client a second time
   (:class:`Replayed`), so that every missed packet arrives exactly once;
4. **disconnect** (:meth:`~ConnectionRecovery.lost`): a namespace lost for
   a recoverable reason (transport close or error, ping timeout, server
   shutdown) is kept with its sid, rooms and managed session; any other
   reason (the client or the app disconnected) forgets it.

A store that keeps the sessions of connected clients too (one shared by
processes) is told of each connect, room change, and event after which the
managed session changed (``track``); the in-memory store says it does not
need to be (``tracks_connected_sessions = False``), and then none of this
runs.

Store failures (a Redis outage) are logged and never break dispatch: an emit
is then sent without an offset, and a connect is a new session.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

from engineio.base_server import BaseServer as EngineIOServer
from socketio import packet as sio_packet

from .context import ManagedSession
from .recovery import RecoveryOptions
from .recovery_store import LoggedPacket, RecoveryStore, SessionState

__all__ = ["RECOVERABLE_REASONS", "REPLAY_WINDOW", "ConnectionRecovery", "Recovered", "Replayed"]

logger = logging.getLogger("flask_sockevents")

_reason = EngineIOServer.reason
#: The disconnect reasons after which a session is kept (node's list, in
#: python-engineio's words); a server shutdown is one too (see
#: :attr:`ConnectionRecovery.shutting_down`).
RECOVERABLE_REASONS = frozenset(
    {_reason.TRANSPORT_CLOSE, _reason.TRANSPORT_ERROR, _reason.PING_TIMEOUT}
)
#: Flask-SocketIO's key for the managed session in the connection's environ.
_SESSION_KEY = "saved_session"
_EVENTS = (sio_packet.EVENT, sio_packet.BINARY_EVENT)
#: Seconds after a recovery during which a replayed packet sent again is dropped.
REPLAY_WINDOW = 10.0


class Recovered:
    """A session taken from the store for a client coming back, and what it missed."""

    __slots__ = ("packets", "session")

    def __init__(self, session: SessionState, packets: list[LoggedPacket]) -> None:
        self.session = session
        self.packets = packets


class Replayed:
    """The packets a recovered client was sent from the log, dropped if they come again.

    One per transport, for every namespace it recovered in. Each packet is
    dropped once at most (an emit reaches a client once), and the filter
    ends :data:`REPLAY_WINDOW` seconds after the last recovery it was given,
    or once every packet was dropped.
    """

    __slots__ = ("attachments_left", "dropping", "offsets", "until")

    def __init__(self) -> None:
        self.offsets: set[tuple[str, str]] = set()  # (namespace, offset)
        self.until = 0.0
        self.attachments_left = 0  # binary attachments of the last encoded packet to come
        self.dropping = False  # whether they are dropped, as their packet was

    def add(self, namespace: str, packets: list[LoggedPacket]) -> None:
        """Drop ``packets`` of ``namespace`` too, for :data:`REPLAY_WINDOW` seconds."""
        self.offsets.update((namespace, packet.offset) for packet in packets)
        self.until = time.monotonic() + REPLAY_WINDOW

    def done(self) -> bool:
        """Whether the filter has nothing left to drop."""
        return not self.offsets or time.monotonic() > self.until

    def drops(self, pkt: Any, encoded: bool, packet_class: Any) -> bool:
        """Whether ``pkt`` (a Socket.IO packet, or an encoded Engine.IO one) was replayed."""
        if encoded and self.attachments_left:
            self.attachments_left -= 1
            return self.dropping
        if encoded:
            try:
                pkt = packet_class(encoded_packet=pkt.data)
            except Exception:  # not a packet this server encoded
                return False
            self.attachments_left = pkt.attachment_count
        data = pkt.data
        key = (
            (pkt.namespace or "/", data[-1])
            if pkt.packet_type in _EVENTS
            and pkt.id is None
            and isinstance(data, list)
            and len(data) > 1
            and isinstance(data[-1], str)
            else None
        )
        self.dropping = key in self.offsets
        if self.dropping:
            self.offsets.discard(key)
        return self.dropping


def _rooms(target: Any) -> frozenset[str]:
    """python-socketio's ``to``/``room``/``skip_sid`` value as a set of rooms."""
    if target is None:
        return frozenset()
    if isinstance(target, (list, tuple, set, frozenset)):
        return frozenset(room for room in target if room is not None)
    return frozenset((target,))


class ConnectionRecovery:
    """The server's side of connection state recovery (see the module).

    :param options: the checked options.
    :param store: where the packet log and the sessions are kept.
    """

    def __init__(self, options: RecoveryOptions, store: RecoveryStore) -> None:
        self.options = options
        self.store = store
        #: Whether the store keeps connected clients' sessions (``track``).
        self.tracks = bool(getattr(store, "tracks_connected_sessions", True))
        #: Set by a graceful shutdown: the sessions it closes are kept.
        self.shutting_down = False
        self._pids: dict[str, str] = {}  # sid -> pid, for connected clients
        self._tracked_sessions: dict[str, dict[str, Any]] = {}  # sid -> managed session told

    # -- 1. emit -----------------------------------------------------------------

    def logged_args(
        self, event: str, data: Any, namespace: str, to: Any, skip_sid: Any
    ) -> tuple[Any, ...] | Any:
        """Log an EVENT about to be sent; return ``data`` with its offset as last argument.

        ``data`` is python-socketio's (one argument, a tuple of them, or
        ``None``); so is the answer, a tuple. When the store fails, ``data``
        is returned unchanged (the EVENT goes out without an offset).
        """
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        try:
            offset = self.store.log(namespace, _rooms(to), _rooms(skip_sid), [event, *args])
        except Exception:
            logger.exception("connection state recovery: logging %r failed", event)
            return data
        return (*args, offset)

    # -- 2. connect --------------------------------------------------------------

    def restore(self, auth: Any, namespace: str) -> Recovered | None:
        """The session a CONNECT's ``auth`` asks back, if the store still has it."""
        if not isinstance(auth, dict):
            return None
        pid = auth.get("pid")
        offset = auth.get("offset")
        if not isinstance(pid, str) or not isinstance(offset, str):
            return None
        try:
            restored = self.store.restore(pid, offset, namespace)
        except Exception:
            logger.exception("connection state recovery: restoring a session failed")
            return None
        if restored is None:
            return None
        session, packets = restored
        return Recovered(session, packets)

    def reenter(
        self, manager: Any, eio_sid: str, recovered: Recovered, environ: dict[str, Any]
    ) -> bool:
        """Reserve the recovered sid, re-enter its rooms and restore its managed session.

        Returns ``False`` (nothing done) when the sid is in use in the
        namespace: the client then connects as a new session.
        """
        session = recovered.session
        sid, namespace = session.sid, session.namespace
        # python-socketio's manager offers no way to connect under a chosen
        # sid: this is its pre_connect (see .dependencies) with the sid given.
        connected = manager.rooms.get(namespace, {}).get(None)
        if connected is not None and (sid in connected or eio_sid in connected.inverse):
            return False
        manager.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        manager.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
        manager.pending_connect.setdefault(namespace, []).append(sid)
        for room in session.rooms:
            if room != sid:
                manager.basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if session.saved_session:
            current = environ.get(_SESSION_KEY)
            if current is None:
                environ[_SESSION_KEY] = ManagedSession(session.saved_session)
            else:
                current.update(session.saved_session)
        return True

    # -- 3. admit ----------------------------------------------------------------

    def admitted(
        self,
        sid: str,
        namespace: str,
        recovered: Recovered | None,
        manager: Any,
        environ: dict[str, Any],
    ) -> str:
        """Note that ``sid`` is in ``namespace``; return the ``pid`` its CONNECT carries."""
        pid = secrets.token_urlsafe(15) if recovered is None else recovered.session.pid
        self._pids[sid] = pid
        if self.tracks:
            self.track(sid, namespace, manager, environ)
        return pid

    def replay(self, server: Any, eio_sid: str, recovered: Recovered) -> None:
        """Send the packets the client missed, in log order, then filter them out of
        what the server sends the client next (``server._replays``)."""
        namespace = recovered.session.namespace
        for packet in recovered.packets:
            server._send_packet(
                eio_sid,
                server.packet_class(sio_packet.EVENT, namespace=namespace, data=packet.data),
            )
        if recovered.packets:
            replays = server._replays
            replayed = replays.get(eio_sid)
            if replayed is None or replayed.done():
                replayed = replays[eio_sid] = Replayed()
            replayed.add(namespace, recovered.packets)

    def track(self, sid: str, namespace: str, manager: Any, environ: dict[str, Any]) -> None:
        """Tell the store the state of connected client ``sid`` (rooms, managed session)."""
        pid = self._pids.get(sid)
        if pid is None or not self.tracks:
            return
        saved = self._tracked_sessions[sid] = dict(environ.get(_SESSION_KEY) or {})
        session = SessionState(
            pid, sid, namespace, frozenset(manager.get_rooms(sid, namespace)), saved
        )
        try:
            self.store.track(session)
        except Exception:
            logger.exception("connection state recovery: tracking a session failed")

    def track_session(
        self, sid: str, namespace: str, manager: Any, environ: dict[str, Any]
    ) -> None:
        """After an event of ``sid``: tell the store if its managed session changed."""
        saved = environ.get(_SESSION_KEY)
        if saved is not None and self._tracked_sessions.get(sid, {}) != saved:
            self.track(sid, namespace, manager, environ)

    # -- 4. disconnect -----------------------------------------------------------

    def lost(
        self, sid: str, namespace: str, reason: str, rooms: Iterable[str], environ: dict[str, Any]
    ) -> SessionState | None:
        """What to keep of ``sid`` leaving for ``reason``: its session, or ``None``.

        Called before the manager lets go of the sid (its rooms are still
        known); the session is kept by :meth:`keep` once it has. A session
        that is not kept is forgotten by the store here.
        """
        pid = self._pids.pop(sid, None)
        self._tracked_sessions.pop(sid, None)
        if pid is None:
            return None
        recoverable = reason in RECOVERABLE_REASONS or (
            self.shutting_down and reason == _reason.SERVER_DISCONNECT
        )
        if not recoverable:
            self._call_store("forget", pid)
            return None
        return SessionState(
            pid,
            sid,
            namespace,
            frozenset(rooms),
            dict(environ.get(_SESSION_KEY) or {}),
            lost_at=time.time(),
        )

    def refused(self, sid: str) -> None:
        """A client admitted before its connect handler ran (``always_connect``) was
        refused by it: it has no session to keep."""
        pid = self._pids.pop(sid, None)
        self._tracked_sessions.pop(sid, None)
        if pid is not None:
            self._call_store("forget", pid)

    def keep(self, session: SessionState) -> None:
        """Keep a lost session until its client comes back or the window closes."""
        self._call_store("keep", session)

    def _call_store(self, method: str, argument: Any) -> None:
        try:
            getattr(self.store, method)(argument)
        except Exception:
            logger.exception("connection state recovery: %s failed", method)
