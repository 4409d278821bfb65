"""What connection state recovery keeps, and the contract of the stores that keep it.

A client whose transport is lost for a recoverable reason may come back
within ``max_disconnection_duration`` with its private session id (``pid``)
and the offset of the last packet it received. Two things make that possible:

- the **packet log**: every broadcast or room EVENT without an ack is logged
  once, before it is sent, and the offset the log gives it travels as the
  packet's last argument (:class:`LoggedPacket`);
- the **sessions**: what the server knows of a client (:class:`SessionState`),
  kept under its ``pid`` once its transport is lost; a store shared by
  several processes also keeps the state of connected clients, so that a
  process that dies does not take its clients' sessions with it.

A :class:`RecoveryStore` keeps both: in memory for one process, in Redis
Streams when several processes share a message queue. Both are bounded by
count and bytes as well as by age.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["LoggedPacket", "RecoveryStore", "SessionState"]


@dataclass(frozen=True, slots=True)
class LoggedPacket:
    """One broadcast or room EVENT, as the packet log keeps it.

    :param offset: the packet's place in its namespace's log, sent to
        clients as the EVENT's last argument; opaque to clients, ordered in
        the log.
    :param namespace: the namespace the EVENT was emitted on.
    :param rooms: the rooms it was emitted to; empty for everyone in the
        namespace.
    :param except_rooms: rooms (including single sids) left out of it.
    :param data: the EVENT's data as sent: the event name, its arguments,
        then ``offset``.
    """

    offset: str
    namespace: str
    rooms: frozenset[str]
    except_rooms: frozenset[str]
    data: list[Any]

    def reaches(self, rooms: frozenset[str]) -> bool:
        """Whether a client in ``rooms`` (its own sid included) received this packet."""
        if self.except_rooms & rooms:
            return False
        return not self.rooms or bool(self.rooms & rooms)


@dataclass(frozen=True, slots=True)
class SessionState:
    """A client's session in one namespace.

    :param pid: the private session id the client was given at CONNECT.
    :param sid: its public session id in ``namespace``.
    :param namespace: the namespace.
    :param rooms: the rooms it was in, its own sid's room included.
    :param saved_session: the managed session (``flask.session`` of its
        handlers), restored as it was.
    :param lost_at: when the transport was lost (:func:`time.time`);
        ``None`` while the client is connected.
    """

    pid: str
    sid: str
    namespace: str
    rooms: frozenset[str]
    saved_session: dict[str, Any]
    lost_at: float | None = None


@runtime_checkable
class RecoveryStore(Protocol):
    """Keeps the packet log and the lost sessions, bounded by age, count and bytes."""

    def log(
        self,
        namespace: str,
        rooms: frozenset[str],
        except_rooms: frozenset[str],
        data: list[Any],
    ) -> str:
        """Log one EVENT about to be broadcast; return the offset to append to ``data``.

        ``data`` is the event name followed by its arguments, without the
        offset; the log keeps ``data + [offset]``.
        """
        ...

    def track(self, session: SessionState) -> None:
        """Note the state of a connected client (``lost_at`` is ``None``).

        Called at connect and whenever its rooms or managed session change.
        A store shared by processes keeps it, so that the session can be
        restored through another process if this one dies; the in-memory
        store has nothing to do.
        """
        ...

    def keep(self, session: SessionState) -> None:
        """Keep ``session`` (its transport lost: ``lost_at`` is set) until it is
        restored or ``max_disconnection_duration`` passes."""
        ...

    def forget(self, pid: str) -> None:
        """Drop ``pid``'s session: it ended for a reason that is not recoverable."""
        ...

    def restore(
        self, pid: str, offset: str, namespace: str
    ) -> tuple[SessionState, list[LoggedPacket]] | None:
        """Take the session ``pid`` had in ``namespace`` and the packets it missed.

        The packets are those logged after ``offset`` that reached the
        session's rooms, in log order. A session is restored at most once:
        it is removed from the store. ``None`` when the session expired or
        is unknown, or when ``offset`` is no longer (or never was) in the
        log: the client then connects as a new session.
        """
        ...
