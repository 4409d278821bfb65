"""Connection state recovery: its options and the in-memory store of one process.

``SockEvents(app, connection_state_recovery=True)`` (or a dict of the
options below; config key ``SOCKEVENTS_CONNECTION_STATE_RECOVERY``) turns
it on. :func:`recovery_options` checks what the app gave, :func:`make_store`
picks the store (:class:`MemoryRecoveryStore` for one process; with a Redis
``message_queue``, the Redis Streams store of
:mod:`flask_sockevents.recovery_redis` through :func:`redis_recovery_store`),
and :mod:`.recovering` does the server's part.

The in-memory store keeps, per namespace, a log of the broadcast and room
EVENTs without an ack, in order, each under an offset of its own, and the
sessions whose transport was lost. Everything it keeps is bounded:

- a packet leaves the log when it is older than ``max_disconnection_duration``
  (no client still recoverable can have missed it), when the log holds
  ``max_packets`` newer ones, or when the newer ones weigh ``max_bytes``
  (the JSON size of their data, binary attachments by their length). A
  client whose offset left the log connects as a new session;
- a lost session leaves when ``max_disconnection_duration`` has passed since
  its transport was lost, or when ``max_sessions`` newer ones are kept.

Nothing runs in the background: expired packets and sessions are dropped on
the store's next call (each call drops what expired, oldest first, so the
work is bounded by what it frees).

Figures (CPython 3.11, 64-bit; ``tests/recovery/test_bounds.py`` checks the
session figure): a lost session with a few rooms and a small managed session
takes about 1 KB, so the 100,000 sessions of ``max_sessions`` take about
100 MB at most; a logged packet takes its data plus about 250 bytes, so a
namespace's log stays under ``max_bytes`` (5 MB) plus 2.5 MB of overhead at
``max_packets`` (10,000).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import util as importlib_util
from typing import Any

from .recovery_store import LoggedPacket, RecoveryStore, SessionState

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DISCONNECTION_DURATION",
    "DEFAULT_MAX_PACKETS",
    "DEFAULT_MAX_SESSIONS",
    "MemoryRecoveryStore",
    "RecoveryOptions",
    "make_store",
    "recovery_options",
    "redis_recovery_store",
]

logger = logging.getLogger("flask_sockevents")

#: Seconds a lost session may wait for its client (node's default: 2 minutes).
DEFAULT_MAX_DISCONNECTION_DURATION = 120.0
#: Packets kept per namespace.
DEFAULT_MAX_PACKETS = 10_000
#: Bytes of packet data kept per namespace.
DEFAULT_MAX_BYTES = 5_000_000
#: Lost sessions kept per process.
DEFAULT_MAX_SESSIONS = 100_000

_REDIS_SCHEMES = ("redis://", "rediss://", "valkey://", "valkeys://")


@dataclass(frozen=True)
class RecoveryOptions:
    """The options of connection state recovery, checked.

    :param max_disconnection_duration: seconds a client whose transport was
        lost may take to come back and recover its session (120).
    :param skip_guards: whether a recovered connect skips the guards, as
        node's ``skipMiddlewares`` skips the middlewares (``True``).
    :param max_packets: packets kept per namespace (10,000).
    :param max_bytes: bytes of packet data kept per namespace (5,000,000).
    :param max_sessions: lost sessions kept at once (100,000).
    :param store: the :class:`~flask_sockevents.recovery_store.RecoveryStore`
        to use; by default one is made by :func:`make_store`.
    """

    max_disconnection_duration: float = DEFAULT_MAX_DISCONNECTION_DURATION
    skip_guards: bool = True
    max_packets: int = DEFAULT_MAX_PACKETS
    max_bytes: int = DEFAULT_MAX_BYTES
    max_sessions: int = DEFAULT_MAX_SESSIONS
    store: RecoveryStore | None = None


_OPTION_NAMES = tuple(RecoveryOptions.__dataclass_fields__)


def recovery_options(value: Any) -> RecoveryOptions | None:
    """Check the ``connection_state_recovery`` option: ``None`` when recovery is off.

    :param value: ``None`` or ``False`` (off), ``True`` (on, with the
        defaults of :class:`RecoveryOptions`), or a dict of those options.
    :raises ValueError: for any other value, an unknown key, or a value of
        the wrong type or out of range, saying which.
    """
    if value is None or value is False:
        return None
    if value is True:
        return RecoveryOptions()
    if not isinstance(value, Mapping):
        raise ValueError(
            f"connection_state_recovery must be True, False or a dict of options "
            f"({', '.join(_OPTION_NAMES)}), not {value!r}"
        )
    unknown = sorted(set(value) - set(_OPTION_NAMES))
    if unknown:
        raise ValueError(
            f"connection_state_recovery: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"the options are {', '.join(_OPTION_NAMES)}"
        )
    options: dict[str, Any] = dict(value)
    duration = options.get("max_disconnection_duration", DEFAULT_MAX_DISCONNECTION_DURATION)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
        raise ValueError(
            f"connection_state_recovery: max_disconnection_duration must be a positive "
            f"number of seconds, not {duration!r}"
        )
    options["max_disconnection_duration"] = float(duration)
    for name in ("max_packets", "max_bytes", "max_sessions"):
        if name in options:
            count = options[name]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(
                    f"connection_state_recovery: {name} must be a positive integer, not {count!r}"
                )
    if "skip_guards" in options and not isinstance(options["skip_guards"], bool):
        raise ValueError(
            f"connection_state_recovery: skip_guards must be True or False, "
            f"not {options['skip_guards']!r}"
        )
    store = options.get("store")
    if store is not None and not isinstance(store, RecoveryStore):
        raise ValueError(
            f"connection_state_recovery: store must implement RecoveryStore (log, track, "
            f"keep, forget, restore), not {store!r}"
        )
    return RecoveryOptions(**options)


def make_store(
    options: RecoveryOptions, message_queue: Any = None, channel: str = "flask-socketio"
) -> RecoveryStore:
    """The store recovery uses: ``options.store`` if given, else one fit for ``message_queue``.

    With a Redis ``message_queue`` the sessions and the log must be shared by
    every process, so the store is :func:`redis_recovery_store`'s; otherwise
    a :class:`MemoryRecoveryStore`.
    """
    if options.store is not None:
        return options.store
    if isinstance(message_queue, str) and message_queue.startswith(_REDIS_SCHEMES):
        return redis_recovery_store(message_queue, options, channel)
    if message_queue:
        logger.warning(
            "connection state recovery keeps its sessions in this process's memory: "
            "a client coming back through another process starts a new session"
        )
    return MemoryRecoveryStore(
        max_disconnection_duration=options.max_disconnection_duration,
        max_packets=options.max_packets,
        max_bytes=options.max_bytes,
        max_sessions=options.max_sessions,
    )


def redis_recovery_store(url: str, options: RecoveryOptions, channel: str) -> RecoveryStore:
    """The Redis Streams store for the message queue at ``url``.

    Calls ``flask_sockevents.recovery_redis.RedisStreamRecoveryStore(url,
    channel=channel, max_disconnection_duration=..., max_packets=...,
    max_bytes=..., max_sessions=...)``, imported here so that the ``redis``
    package is only needed when it is used.

    :raises RuntimeError: when that module is not available.
    """
    if importlib_util.find_spec("flask_sockevents.recovery_redis") is None:
        raise RuntimeError(
            "connection state recovery with a Redis message_queue needs "
            "flask_sockevents.recovery_redis; pass connection_state_recovery="
            "{'store': MemoryRecoveryStore()} to keep sessions in this process only"
        )
    from . import recovery_redis  # type: ignore[attr-defined, unused-ignore]

    store: RecoveryStore = recovery_redis.RedisStreamRecoveryStore(
        url,
        channel=channel,
        max_disconnection_duration=options.max_disconnection_duration,
        max_packets=options.max_packets,
        max_bytes=options.max_bytes,
        max_sessions=options.max_sessions,
    )
    return store


# -- the in-memory store ---------------------------------------------------------


def _binary_size(sizes: list[int]) -> Callable[[Any], Any]:
    def measure(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            sizes.append(len(value))
            return 0
        return repr(value)  # not JSON: counted as its repr

    return measure


def packet_size(data: list[Any]) -> int:
    """The size a packet's ``data`` is counted for: its JSON, binary parts by length."""
    binary: list[int] = []
    try:
        text = json.dumps(data, separators=(",", ":"), default=_binary_size(binary))
    except (TypeError, ValueError):  # a custom serializer's type, a circular structure
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
    """One namespace's packets, oldest first, under consecutive sequence numbers."""

    __slots__ = ("bytes", "entries", "generation", "next_seq")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.entries: deque[_Entry] = deque()
        self.next_seq = 0
        self.bytes = 0

    def drop_oldest(self) -> None:
        self.bytes -= self.entries.popleft().size


class MemoryRecoveryStore:
    """The packet log and lost sessions of one process, in memory, bounded.

    :param max_disconnection_duration: seconds a lost session is kept, and
        the age past which a packet leaves the log.
    :param max_packets: packets kept per namespace.
    :param max_bytes: bytes of packet data kept per namespace (see
        :func:`packet_size`); one packet larger than this is logged alone.
    :param max_sessions: lost sessions kept at once; the oldest leaves first.
    :param clock: the clock (:func:`time.time`, which ``SessionState.lost_at``
        is read on); injectable for tests.

    An offset is ``"<generation>-<sequence>"`` in hexadecimal: the sequence
    number of the packet in its namespace's log, and the log's generation,
    so that an offset from a log dropped when it emptied never matches a
    packet of a later one. Not thread-safe: used from the server's hub.
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
        self._logs: dict[str, _Log] = {}
        self._generations = 0
        self._sessions: dict[str, SessionState] = {}  # pid -> session, oldest lost first

    # -- the packet log ---------------------------------------------------------

    def log(
        self,
        namespace: str,
        rooms: frozenset[str],
        except_rooms: frozenset[str],
        data: list[Any],
    ) -> str:
        """Log one EVENT about to be broadcast; return its offset (see the class)."""
        now = self.clock()
        self._purge_sessions(now)
        log = self._logs.get(namespace)
        if log is None:
            self._generations += 1
            log = self._logs[namespace] = _Log(self._generations)
        seq = log.next_seq
        log.next_seq = seq + 1
        offset = f"{log.generation:x}-{seq:x}"
        packet = LoggedPacket(offset, namespace, rooms, except_rooms, [*data, offset])
        size = packet_size(packet.data)
        entries = log.entries
        entries.append(_Entry(seq, packet, size, now))
        log.bytes += size
        while len(entries) > self.max_packets or (log.bytes > self.max_bytes and len(entries) > 1):
            log.drop_oldest()
        self._purge_log(log, now)
        return offset

    def _purge_log(self, log: _Log, now: float) -> None:
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
        now = self.clock()
        sessions = self._sessions
        sessions.pop(session.pid, None)  # keep the dict in order of loss
        sessions[session.pid] = session
        self._purge_sessions(now)
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
        now = self.clock()
        self._purge_sessions(now)
        session = self._sessions.pop(pid, None)
        if session is None or session.namespace != namespace:
            return None
        log = self._logs.get(namespace)
        if log is None:
            return None
        self._purge_log(log, now)
        seq = self._sequence(log, offset)
        if seq is None:
            return None
        entries = log.entries
        first = entries[0].seq if entries else log.next_seq
        # Every packet after ``offset`` must still be in the log: the packet at
        # ``offset`` itself may have just left it (it was the oldest).
        if not first - 1 <= seq < log.next_seq:
            return None
        rooms = session.rooms
        missed = [
            entry.packet
            for index in range(seq - first + 1, len(entries))
            if (entry := entries[index]).packet.reaches(rooms)
        ]
        return session, missed

    @staticmethod
    def _sequence(log: _Log, offset: str) -> int | None:
        generation, _, seq = offset.partition("-")
        try:
            if int(generation, 16) != log.generation:
                return None
            return int(seq, 16)
        except ValueError:
            return None

    def session_count(self) -> int:
        """Lost sessions kept (expired ones are dropped on the store's next call)."""
        return len(self._sessions)

    def purge(self) -> None:
        """Drop the expired sessions and packets now, and the logs left empty."""
        now = self.clock()
        self._purge_sessions(now)
        for namespace, log in list(self._logs.items()):
            self._purge_log(log, now)
            if not log.entries:
                del self._logs[namespace]

    def _purge_sessions(self, now: float) -> None:
        sessions = self._sessions
        oldest = now - self.max_disconnection_duration
        while sessions:
            pid = next(iter(sessions))
            lost_at = sessions[pid].lost_at
            if lost_at is not None and lost_at >= oldest:
                return
            del sessions[pid]
