"""The in-memory store of connection state recovery: one process's packet log and lost sessions.

:class:`MemoryRecoveryStore` keeps the
:class:`~flask_sockevents.recovery_store.RecoveryStore` contract. What it
keeps, and its bounds (see :mod:`flask_sockevents.recovery` for the figures):

- per namespace, a log of the EVENTs sent without an ack, oldest first. A
  packet leaves it when it is older than ``max_disconnection_duration``,
  when ``max_packets`` newer ones are logged, or when the newer ones weigh
  ``max_bytes`` (:func:`packet_size`);
- the sessions whose transport was lost, in order of loss, until they are
  restored, forgotten, older than ``max_disconnection_duration``, or pushed
  out by ``max_sessions`` newer ones.

Why a packet that leaves for its age is never one a recoverable client
missed: it was logged more than ``max_disconnection_duration`` ago, so before
any session still in the window was lost, while that client was connected.
A packet pushed out by the count or byte cap may be one, so a client whose
offset is older than the newest packet pushed out that way gets ``None`` (a
new session); nothing else it missed can have left the log.

Nothing runs in the background: each call first drops the sessions that
expired, oldest first; every minute at most (or every
``max_disconnection_duration`` if shorter) a call also sweeps every
namespace's log and drops the logs left empty.
"""

from __future__ import annotations

import bisect
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .recovery_store import LoggedPacket, SessionState

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DISCONNECTION_DURATION",
    "DEFAULT_MAX_PACKETS",
    "DEFAULT_MAX_SESSIONS",
    "MemoryRecoveryStore",
    "packet_size",
]

#: Seconds a lost session may wait for its client (node's default: 2 minutes).
DEFAULT_MAX_DISCONNECTION_DURATION = 120.0
#: Packets kept per namespace.
DEFAULT_MAX_PACKETS = 10_000
#: Bytes of packet data kept per namespace.
DEFAULT_MAX_BYTES = 5_000_000
#: Lost sessions kept per process.
DEFAULT_MAX_SESSIONS = 100_000


def _json_chunks() -> Callable[[Any], Any]:
    """The JSON encoder's C function, made once (``json.dumps`` makes one per call)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # not CPython's accelerated json
        encode = json.JSONEncoder(separators=(",", ":")).encode
        return lambda data: (encode(data),)

    def refuse(value: Any) -> Any:
        raise TypeError(type(value).__name__)

    encoder = make(
        {}, refuse, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    return lambda data: encoder(data, 0)


_chunks = _json_chunks()


def packet_size(data: list[Any]) -> int:
    """The size a packet's ``data`` counts for: its JSON, binary parts by their length."""
    try:
        return sum(map(len, _chunks(data)))  # the common case, at C speed
    except (TypeError, ValueError, RecursionError):
        pass
    binary: list[int] = []

    def measure(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            binary.append(len(value))
            return 0
        return repr(value)  # not JSON: counted as its repr

    try:
        text = json.dumps(data, separators=(",", ":"), default=measure)
    except (TypeError, ValueError):  # a circular structure, a key JSON cannot take
        return len(repr(data))
    return len(text) + sum(binary)


class _Entry:
    __slots__ = ("logged_at", "packet", "seq", "size")

    def __init__(self, seq: int, packet: LoggedPacket, size: int, logged_at: float) -> None:
        self.seq = seq
        self.packet = packet
        self.size = size
        self.logged_at = logged_at


class _Log:
    """One namespace's packets, oldest first."""

    __slots__ = ("bytes", "capped_seq", "entries")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.bytes = 0
        self.capped_seq = -1  # the newest packet pushed out by the count or byte cap

    def drop_oldest(self) -> _Entry:
        entry = self.entries.popleft()
        self.bytes -= entry.size
        return entry


class MemoryRecoveryStore:
    """The packet log and lost sessions of one process, in memory, bounded (see the module).

    :param max_disconnection_duration: seconds a lost session is kept, and
        the age past which a packet leaves the log.
    :param max_packets: packets kept per namespace.
    :param max_bytes: bytes of packet data kept per namespace (see
        :func:`packet_size`); one packet larger than this is logged alone.
    :param max_sessions: lost sessions kept at once; the oldest leaves first.
    :param clock: the clock (:func:`time.time`, which ``SessionState.lost_at``
        is read on); injectable for tests.

    An offset is ``"<store>-<sequence>"``: a random token of this store, so
    that an offset given by another process or an earlier run never matches,
    and the packet's sequence number (hexadecimal), counted across
    namespaces. Not thread-safe: it is used from the server's hub.
    """

    #: Whether :meth:`track` needs calling (it does nothing here).
    tracks_connected_sessions = False

    def __init__(
        self,
        max_disconnection_duration: float = DEFAULT_MAX_DISCONNECTION_DURATION,
        max_packets: int = DEFAULT_MAX_PACKETS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_disconnection_duration = max_disconnection_duration
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self.max_sessions = max_sessions
        self.clock = clock
        self._token = secrets.token_hex(4)
        self._next_seq = 0
        self._logs: dict[str, _Log] = {}
        self._sessions: dict[str, SessionState] = {}  # pid -> session, oldest lost first
        self._sweep_every = min(60.0, max_disconnection_duration)
        self._next_sweep = clock() + self._sweep_every

    # -- the packet log ---------------------------------------------------------

    def log(
        self,
        namespace: str,
        rooms: frozenset[str],
        except_rooms: frozenset[str],
        data: list[Any],
    ) -> str:
        """Log one EVENT about to be broadcast; return its offset (see the class)."""
        now = self._now()
        log = self._logs.get(namespace)
        if log is None:
            log = self._logs[namespace] = _Log()
        seq = self._next_seq
        self._next_seq = seq + 1
        offset = f"{self._token}-{seq:x}"
        packet = LoggedPacket(offset, namespace, rooms, except_rooms, [*data, offset])
        size = packet_size(packet.data)
        entries = log.entries
        entries.append(_Entry(seq, packet, size, now))
        log.bytes += size
        while len(entries) > self.max_packets or (log.bytes > self.max_bytes and len(entries) > 1):
            log.capped_seq = log.drop_oldest().seq
        self._drop_aged(log, now)
        return offset

    def _drop_aged(self, log: _Log, now: float) -> None:
        oldest = now - self.max_disconnection_duration
        entries = log.entries
        while entries and entries[0].logged_at < oldest:
            log.drop_oldest()

    def packet_count(self, namespace: str) -> int:
        """Packets kept in ``namespace``'s log."""
        log = self._logs.get(namespace)
        return 0 if log is None else len(log.entries)

    def packet_bytes(self, namespace: str) -> int:
        """Bytes of packet data kept in ``namespace``'s log (see :func:`packet_size`)."""
        log = self._logs.get(namespace)
        return 0 if log is None else log.bytes

    # -- sessions ---------------------------------------------------------------

    def track(self, session: SessionState) -> None:
        """Nothing to do: one process's sessions die with it."""

    def keep(self, session: SessionState) -> None:
        """Keep ``session`` until it is restored or ``max_disconnection_duration`` passes."""
        self._now()
        sessions = self._sessions
        sessions.pop(session.pid, None)  # keep the dict in order of loss
        sessions[session.pid] = session
        while len(sessions) > self.max_sessions:
            del sessions[next(iter(sessions))]

    def forget(self, pid: str) -> None:
        """Drop ``pid``'s session, if it is kept."""
        self._sessions.pop(pid, None)

    def restore(
        self, pid: str, offset: str, namespace: str
    ) -> tuple[SessionState, list[LoggedPacket]] | None:
        """Take ``pid``'s session in ``namespace`` and the packets it missed after ``offset``.

        The session is removed whatever the answer: a client that cannot
        recover it connects as a new session and gets a new ``pid``.
        """
        now = self._now()
        session = self._sessions.pop(pid, None)
        if session is None or session.namespace != namespace:
            return None
        seq = self._sequence(offset)
        if seq is None:
            return None
        log = self._logs.get(namespace)
        if log is None:  # every packet of the namespace left for its age: none was missed
            return session, []
        if seq < log.capped_seq:  # a packet after ``offset`` was pushed out of the log
            return None
        self._drop_aged(log, now)
        entries = log.entries
        start = bisect.bisect_right(entries, seq, key=_sequence_of)
        rooms = session.rooms
        missed = [
            entry.packet
            for index in range(start, len(entries))
            if (entry := entries[index]).packet.reaches(rooms)
        ]
        return session, missed

    def _sequence(self, offset: str) -> int | None:
        """The sequence number of an offset this store gave, else ``None``."""
        token, _, seq = offset.partition("-")
        if token != self._token:
            return None
        try:
            number = int(seq, 16)
        except ValueError:
            return None
        return number if 0 <= number < self._next_seq else None

    def session_count(self) -> int:
        """Lost sessions kept (expired ones are dropped on the store's next call)."""
        return len(self._sessions)

    def _now(self) -> float:
        """The time, once expired sessions (and, now and then, packets) are dropped."""
        now = self.clock()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            self._drop_aged_logs(now)
        self._drop_expired_sessions(now)
        return now

    def purge(self) -> None:
        """Drop the expired sessions and packets now, and the logs left empty."""
        now = self.clock()
        self._drop_expired_sessions(now)
        self._drop_aged_logs(now)

    def _drop_aged_logs(self, now: float) -> None:
        for namespace, log in list(self._logs.items()):
            self._drop_aged(log, now)
            if not log.entries:
                del self._logs[namespace]

    def _drop_expired_sessions(self, now: float) -> None:
        sessions = self._sessions
        oldest = now - self.max_disconnection_duration
        while sessions:
            pid = next(iter(sessions))
            lost_at = sessions[pid].lost_at
            if lost_at is not None and lost_at >= oldest:
                return
            del sessions[pid]
            if not sessions:  # a dict never shrinks: let go of the table of a mass loss
                self._sessions = {}


def _sequence_of(entry: _Entry) -> int:
    return entry.seq
