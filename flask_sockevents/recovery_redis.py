"""Connection state recovery across processes: the packet log and sessions in Redis.

:class:`RedisStreamRecoveryStore` keeps what :mod:`.recovery_store` describes
in one Redis (or Valkey) server that every process of the app shares, as
node's ``@socket.io/redis-streams-adapter`` does: a client may lose its
transport to one process and come back through another.

**The packet log** is one Redis Stream per namespace. ``XADD`` gives each
logged EVENT its entry id (``<milliseconds>-<sequence>``), which is the offset
the client receives; restoring reads the entries after the client's offset
with ``XRANGE`` in chunks of ``read_count``, to the end of the stream as the
last chunk finds it (so that nothing logged while it reads is lost between
the log and the queue). A stream per namespace, rather
than node's single stream with the namespace as a field, keeps the bounds per
namespace (as the in-memory store does) and lets a restore read only its own
namespace's packets. Each log call runs one Lua script that appends the entry
and then trims the oldest entries, exactly, while the stream holds more than
``max_packets`` entries, more than ``max_bytes`` of encoded packets (the
script keeps the running total in a meta hash) or entries older than
``max_disconnection_duration``; the newest entry is always kept, so the
offset just returned is valid.

As in the in-memory store, a client's offset need not still be in the log:
a packet that left it for its age was logged before any session still in
the window was lost, so no recoverable client missed it. The meta hash notes
the newest entry pushed out by the count or byte cap instead; a client whose
offset is older than that may have missed it and comes back as a new
session, as does one whose offset was never given (newer than the oldest
entry yet not in the log, or in the future). Trimming is exact (``XTRIM MINID <first kept
id>``) rather than node's approximate ``MAXLEN ~``, so that the byte counter
knows which entries went; Redis frees a trimmed entry's memory with the rest
of its stream node, so the log may hold up to one node (4 KB or 100 entries
by default) of trimmed entries. A namespace that logs nothing for the window
loses its stream and meta hash entirely (both expire). Each log call is one
round trip to Redis: about 2,000 a second from one Python thread on a
loopback Redis.

**Sessions** are one hash per private session id, written in one of two
states:

- *lost* (:meth:`~RedisStreamRecoveryStore.keep`): expires with the
  remaining window; taken by the first process that restores it;
- *tracked* (:meth:`~RedisStreamRecoveryStore.track`): the state of a
  connected client, with the id of the store (process) that owns it. A
  restore accepts it only once its owner is gone: the owner's Redis
  connection is closed (a process killed with ``kill -9`` loses its
  connections at once; checked with ``CLIENT LIST ID``) or its liveness key
  expired (a process that hangs, or a host that vanished). The window then
  counts from the owner's last heartbeat.

Each store renews its liveness keys and the TTLs of its tracked sessions
from one background thread (a greenlet under gevent's monkey patching),
which also writes tracked states: repeated ``track()`` calls for a pid
within ``track_interval`` coalesce into one write, and writes go in
pipelined batches.

Restoring is atomic (one Lua script checks the session, its owner and the
offset, and deletes the session), so a session is restored at most once
whichever processes race for it. The scripts name keys they derive from the
session record, so the store needs a single Redis server (or a Sentinel
master), not Redis Cluster.

Keys, for ``key_prefix`` ``P`` (sizes measured on Redis 7):

============================== ======= =======================================
key                            type    content and bound
============================== ======= =======================================
``P:log:<namespace>``          stream  the packet log: ≤ ``max_packets``
                                       entries, ≤ ``max_bytes`` of packets
                                       (plus the newest), none older than the
                                       window; each entry costs its encoded
                                       packet plus about 30 bytes
``P:log:<namespace>:meta``     hash    the bytes the stream's entries hold,
                                       the newest id pushed out by a cap
``P:session:<pid>``            hash    one session; lost ones expire with the
                                       window, tracked ones ``1.5 * window +
                                       liveness_timeout`` after their owner's
                                       last renewal
``P:lost``                     zset    the lost sessions' pids by time of
                                       loss: ≤ ``max_sessions``, the first
                                       lost leaving first
``P:process:<owner>:alive``    string  the owner's Redis client id; expires
                                       ``liveness_timeout`` after its last
                                       heartbeat
``P:process:<owner>:seen``     string  the owner's last heartbeat
                                       (:func:`time.time`); expires the
                                       window after it
============================== ======= =======================================

A lost session takes about 370 bytes (its hash and its place in
``P:lost``) plus its pid, sid, rooms and managed session: 413 bytes
measured for each of 10,000 sessions with 10-character ids, two rooms and a
one-entry managed session. A tracked session takes 253 bytes measured the
same way (it has no place in ``P:lost``); the process that tracks it also
holds its pid in memory, to renew it.

Packets and sessions are encoded with msgpack, so ``bytes`` arguments come
back as ``bytes`` and strings as strings; tuples come back as lists, as
through JSON. A value msgpack cannot encode (a ``datetime``, an object, an
integer beyond 64 bits) raises :class:`TypeError` naming it.

The Lua scripts the store runs are in :mod:`.recovery_redis_scripts`. (This
module is longer than most: a fifth of it is this documentation of the keys
and bounds, and the store's three duties, the log, the sessions and the
liveness of its process, share its locks.)
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlparse

import msgpack

from . import recovery_redis_scripts as scripts
from .recovery_store import LoggedPacket, SessionState

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PACKETS",
    "DEFAULT_MAX_SESSIONS",
    "SESSION_OVERHEAD_BYTES",
    "RedisStreamRecoveryStore",
    "redis_from_url",
]

logger = logging.getLogger("flask_sockevents.recovery_redis")

DEFAULT_MAX_PACKETS = 10_000
"""Packets the log of one namespace keeps at most (node's ``maxLen`` default)."""

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""Bytes of encoded packets the log of one namespace keeps at most."""

DEFAULT_MAX_SESSIONS = 100_000
"""Lost sessions kept at once, by all the processes sharing the store."""

SESSION_OVERHEAD_BYTES = 370
"""Redis memory a lost session takes besides its pid and its encoded sid, rooms and session."""

_OFFSET = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")  # stream ids are two 64-bit numbers
_BATCH = 500  # commands per pipelined batch of session writes or renewals


def redis_from_url(url: str, options: dict[str, Any] | None = None) -> Any:
    """A Redis (or Valkey) client for ``url``, as python-socketio's ``RedisManager`` makes it.

    :param url: ``redis://``, ``rediss://`` (TLS), ``unix://`` (a socket
        path), ``valkey://``/``valkeys://``, or a ``redis+sentinel://``
        URL (``redis+sentinel://[:password@]host:port,host:port/db/service``).
    :param options: keyword arguments for ``Redis.from_url()`` (or
        ``Sentinel()``).
    :raises ValueError: for another scheme.
    """
    options = dict(options or {})
    scheme = urlparse(url).scheme.lower()
    if scheme.split("+", 1)[0] in ("valkey", "valkeys"):
        import valkey as module
    elif scheme.split("+", 1)[0] in ("redis", "rediss", "unix"):
        import redis as module
    else:
        raise ValueError(
            f"unsupported Redis URL scheme {scheme!r}: use redis://, rediss:// or unix://"
        )
    if scheme.endswith("+sentinel"):
        from socketio.redis_manager import parse_redis_sentinel_url

        sentinels, service, connection = parse_redis_sentinel_url(url)
        sentinel = module.sentinel.Sentinel(sentinels, **{**options, **connection})
        return sentinel.master_for(service or "mymaster")
    return module.Redis.from_url(url, **options)


def _encode(value: Any, what: str) -> bytes:
    try:
        return msgpack.packb(value, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(
            f"{what} cannot be kept in Redis for connection state recovery ({exc}): "
            "use str, bytes, int (64 bits), float, bool, None, lists and dicts"
        ) from exc


def _decode(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False, strict_map_key=False)


def _id(offset: str | bytes) -> tuple[int, int]:
    if isinstance(offset, bytes):
        offset = offset.decode()
    milliseconds, sequence = offset.split("-")
    return int(milliseconds), int(sequence)


class RedisStreamRecoveryStore:
    """The packet log and sessions of connection state recovery, shared through Redis.

    Implements :class:`~flask_sockevents.recovery_store.RecoveryStore`; see
    the module documentation for the keys and their bounds. Every process
    of the app makes one, with the same ``url``, ``key_prefix`` and bounds::

        store = RedisStreamRecoveryStore("redis://localhost:6379/0", max_disconnection_duration=120)

    :param url: the Redis server (see :func:`redis_from_url`).
    :param max_disconnection_duration: seconds a lost session may be
        restored, and packets are kept.
    :param max_packets: packets kept per namespace.
    :param max_bytes: bytes of encoded packets kept per namespace (the
        newest packet is kept whatever its size).
    :param max_sessions: lost sessions kept at once, by all the processes
        together; the one lost first leaves first.
    :param key_prefix: the prefix of every key.
    :param channel: the message queue's channel, if any: keys then start
        with ``<key_prefix>:<channel>``, so that apps sharing a Redis server
        on different channels keep apart.
    :param redis_options: keyword arguments for ``Redis.from_url()``
        (``decode_responses`` is always ``False``).
    :param heartbeat_interval: seconds between renewals of this process's
        liveness key.
    :param liveness_timeout: seconds without a heartbeat after which this
        process counts as dead; between ``heartbeat_interval`` and the window.
    :param track_interval: seconds between writes of tracked states;
        ``track()`` calls for a pid within it coalesce into one write.
    :param read_count: entries per ``XRANGE`` when restoring.
    :param detect_closed_connections: also count an owner as dead when its
        Redis connection is closed (``CLIENT LIST ID``, an ``@admin``
        command: the Redis user needs ``+client|list``; refused, the store
        logs it once and relies on liveness keys only).
    :raises ValueError: for bounds that do not fit together.
    """

    #: Whether :meth:`track` needs calling: it keeps connected sessions in Redis.
    tracks_connected_sessions = True

    def __init__(
        self,
        url: str,
        *,
        max_disconnection_duration: float = 120,
        max_packets: int = DEFAULT_MAX_PACKETS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        key_prefix: str = "sockevents:recovery",
        channel: str | None = None,
        redis_options: dict[str, Any] | None = None,
        heartbeat_interval: float = 1.0,
        liveness_timeout: float = 5.0,
        track_interval: float = 0.1,
        read_count: int = 100,
        detect_closed_connections: bool = True,
    ) -> None:
        if not 0 < heartbeat_interval < liveness_timeout < max_disconnection_duration:
            raise ValueError(
                "need 0 < heartbeat_interval < liveness_timeout < max_disconnection_duration, got "
                f"{heartbeat_interval}, {liveness_timeout} and {max_disconnection_duration}"
            )
        if min(max_packets, max_bytes, max_sessions, read_count) < 1 or track_interval <= 0:
            raise ValueError(
                "max_packets, max_bytes, max_sessions, read_count and track_interval "
                "must be positive"
            )
        self.max_disconnection_duration = max_disconnection_duration
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self.max_sessions = max_sessions
        #: The prefix of every key: ``key_prefix``, then ``channel`` if given.
        self.key_prefix = key_prefix if channel is None else f"{key_prefix}:{channel}"
        self.heartbeat_interval = heartbeat_interval
        self.liveness_timeout = liveness_timeout
        self.track_interval = track_interval
        self.read_count = read_count
        self.detect_closed_connections = detect_closed_connections
        #: This store's id: the owner of the sessions it tracks.
        self.owner = uuid.uuid4().hex
        self._window_ms = int(max_disconnection_duration * 1000)
        self._lost_key = f"{self.key_prefix}:lost"
        # Tracked sessions are renewed every half window; their TTL outlasts
        # the owner's seen key whenever the owner dies between two renewals.
        self._renew_interval = max_disconnection_duration / 2
        self._tracked_ttl_ms = int((1.5 * max_disconnection_duration + liveness_timeout) * 1000)
        self._redis = redis_from_url(url, {**(redis_options or {}), "decode_responses": False})
        # The liveness key names this connection; kept open for the store's life.
        self._heartbeat_client = self._redis.client()
        self._log = self._redis.register_script(scripts.LOG)
        self._take = self._redis.register_script(scripts.TAKE)
        self._keep = self._redis.register_script(scripts.KEEP)
        self._pending: dict[str, dict[str, bytes | str]] = {}
        self._tracked: set[str] = set()
        self._pending_lock = threading.Lock()  # guards _pending and _tracked, never held on I/O
        # Held while writing sessions: a tracked state written late never
        # overwrites the keep() or forget() that followed it.
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._beat()
        self._worker = threading.Thread(
            target=self._work, name="sockevents-recovery-redis", daemon=True
        )
        self._worker.start()

    # -- keys ------------------------------------------------------------------

    def _stream_key(self, namespace: str) -> str:
        return f"{self.key_prefix}:log:{namespace}"

    def _session_key(self, pid: str) -> str:
        return f"{self.key_prefix}:session:{pid}"

    def _process_key(self, owner: str, kind: str) -> str:
        return f"{self.key_prefix}:process:{owner}:{kind}"

    # -- the packet log ----------------------------------------------------------

    def log(
        self,
        namespace: str,
        rooms: frozenset[str],
        except_rooms: frozenset[str],
        data: list[Any],
    ) -> str:
        """Append one EVENT to ``namespace``'s stream; return its entry id, the offset.

        :raises TypeError: when ``data`` holds a value msgpack cannot encode.
        """
        payload = _encode([sorted(rooms), sorted(except_rooms), data], "this packet")
        stream = self._stream_key(namespace)
        keys = [stream, f"{stream}:meta"]
        entry_id = self._log(
            keys=keys, args=[payload, self.max_packets, self.max_bytes, self._window_ms]
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def _packets_after(
        self, namespace: str, offset: str, rooms: frozenset[str]
    ) -> list[LoggedPacket] | None:
        """The packets after ``offset`` that reached ``rooms``, up to the end of the log as
        the last read found it, or ``None`` when the count or byte cap pushed one of them
        out of the log meanwhile.

        The reads run on past the end the log had when the session was taken: each
        read yields to other greenlets, and one of them may handle an emit logged
        meanwhile (by another process, through the queue) and drop it, the client
        not yet back in its rooms. The server re-enters the rooms right after the
        last read, without yielding, so what is logged later reaches the client
        through the queue (and what came both ways is sent once, see
        :class:`~flask_sockevents.recovering.Replayed`).
        """
        stream = self._stream_key(namespace)
        packets: list[LoggedPacket] = []
        cursor = offset
        while True:
            pipe = self._redis.pipeline(transaction=True)
            pipe.xrange(stream, f"({cursor}", "+", count=self.read_count)
            pipe.hget(f"{stream}:meta", "capped")
            entries, capped = pipe.execute()
            if capped is not None and _id(capped) > _id(cursor):
                return None
            for entry_id, fields in entries:
                cursor = entry_id.decode()
                packet_rooms, packet_except, data = _decode(fields[b"p"])
                packet = LoggedPacket(
                    offset=cursor,
                    namespace=namespace,
                    rooms=frozenset(packet_rooms),
                    except_rooms=frozenset(packet_except),
                    data=[*data, cursor],
                )
                if packet.reaches(rooms):
                    packets.append(packet)
            if len(entries) < self.read_count:  # the end of the log
                return packets

    # -- sessions ----------------------------------------------------------------

    def _fields(self, session: SessionState) -> dict[str, bytes | str]:
        state = _encode(
            [session.sid, sorted(session.rooms), session.saved_session],
            f"the session of {session.sid}",
        )
        lost_at = "" if session.lost_at is None else repr(session.lost_at)
        return {"s": state, "n": session.namespace, "l": lost_at, "o": self.owner}

    def track(self, session: SessionState) -> None:
        """Note the state of a connected client; written within ``track_interval``.

        :raises TypeError: when its managed session holds a value msgpack
            cannot encode.
        """
        fields = self._fields(session)
        with self._pending_lock:
            self._pending[session.pid] = fields
            self._tracked.add(session.pid)

    def _untrack(self, pid: str) -> None:
        with self._pending_lock:
            self._pending.pop(pid, None)
            self._tracked.discard(pid)

    def keep(self, session: SessionState) -> None:
        """Keep ``session`` (its transport lost) for what remains of the window.

        :raises TypeError: when its managed session holds a value msgpack
            cannot encode.
        """
        assert session.lost_at is not None, "keep() takes a lost session (lost_at set)"
        fields = self._fields(session)
        remaining_ms = int((session.lost_at + self.max_disconnection_duration - time.time()) * 1000)
        with self._write_lock:
            self._untrack(session.pid)
            if remaining_ms <= 0:
                self._forget(session.pid)
                return
            self._keep(
                keys=[self._session_key(session.pid), self._lost_key],
                args=[
                    fields["s"],
                    fields["n"],
                    fields["l"],
                    fields["o"],
                    remaining_ms,
                    session.pid,
                    self.max_sessions,
                    repr(time.time() - self.max_disconnection_duration),
                    self._session_key(""),
                ],
            )

    def forget(self, pid: str) -> None:
        """Drop ``pid``'s session, lost or tracked."""
        with self._write_lock:
            self._untrack(pid)
            self._forget(pid)

    def _forget(self, pid: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._session_key(pid))
        pipe.zrem(self._lost_key, pid)
        pipe.execute()

    def restore(
        self, pid: str, offset: str, namespace: str
    ) -> tuple[SessionState, list[LoggedPacket]] | None:
        """Take ``pid``'s session in ``namespace`` and the packets it missed, once.

        A tracked session is taken only when its owner is gone (see the
        module documentation); ``offset`` is good if it is in the log, or
        left it for its age with no newer packet pushed out by a cap (see
        the module documentation). The session is deleted even when
        ``offset`` is not good (the client then starts a new session).
        ``None`` when there is nothing to restore.

        :raises redis.exceptions.RedisError: when Redis fails (the client
            may then connect as a new session).
        """
        if not _OFFSET.fullmatch(offset):
            return None
        key = self._session_key(pid)
        lost_at, owner = self._redis.hmget(key, "l", "o")
        if owner is None:
            return None
        owner = owner.decode()
        alive_key = self._process_key(owner, "alive")
        owner_closed = False
        if lost_at == b"":
            client_id = self._redis.get(alive_key)
            if client_id is not None:
                owner_closed = self._connection_closed(client_id)
                if not owner_closed:
                    return None
        stream = self._stream_key(namespace)
        taken = self._take(
            keys=[
                key,
                stream,
                f"{stream}:meta",
                alive_key,
                self._process_key(owner, "seen"),
                self._lost_key,
            ],
            args=[namespace, offset, owner, "1" if owner_closed else "0", pid],
        )
        if taken is None:
            return None
        state, lost_at, _ = taken  # the log's last entry when taken: read on past it
        sid, rooms, saved_session = _decode(state)
        session = SessionState(
            pid=pid,
            sid=sid,
            namespace=namespace,
            rooms=frozenset(rooms),
            saved_session=saved_session,
            lost_at=float(lost_at),
        )
        packets = self._packets_after(namespace, offset, session.rooms)
        if packets is None:
            return None
        return session, packets

    def _connection_closed(self, client_id: bytes) -> bool:
        """Whether the Redis connection ``client_id`` names is closed (its process is gone)."""
        if not self.detect_closed_connections:
            return False
        try:
            return not self._redis.client_list(client_id=[client_id.decode()])
        except Exception as exc:  # e.g. NOPERM: the ACL refuses CLIENT LIST
            logger.warning(
                "cannot check whether a process's Redis connection is closed (%s); "
                "relying on liveness keys only",
                exc,
            )
            self.detect_closed_connections = False
            return False

    # -- the background thread -------------------------------------------------

    def flush(self) -> None:
        """Write the tracked states noted since the last write, now.

        What could not be written (Redis unreachable) is written at the next
        flush, unless a newer state, ``keep()`` or ``forget()`` came meanwhile.

        :raises redis.exceptions.RedisError: when Redis fails.
        """
        with self._write_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            items = list(pending.items())
            written = 0
            try:
                for start in range(0, len(items), _BATCH):
                    pipe = self._redis.pipeline(transaction=False)
                    for pid, fields in items[start : start + _BATCH]:
                        key = self._session_key(pid)
                        pipe.hset(key, mapping=fields)
                        pipe.pexpire(key, self._tracked_ttl_ms)
                    pipe.execute()
                    written = start + _BATCH
            finally:
                with self._pending_lock:
                    for pid, fields in items[written:]:
                        if pid in self._tracked:
                            self._pending.setdefault(pid, fields)

    def _beat(self) -> None:
        client_id = self._heartbeat_client.client_id()
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(
            self._process_key(self.owner, "alive"), client_id, px=int(self.liveness_timeout * 1000)
        )
        pipe.set(self._process_key(self.owner, "seen"), repr(time.time()), px=self._window_ms)
        pipe.execute()

    def _renew(self) -> None:
        """Renew the TTLs of the sessions this process tracks (not of those it kept)."""
        with self._write_lock:
            with self._pending_lock:
                pids = list(self._tracked)
            for start in range(0, len(pids), _BATCH):
                pipe = self._redis.pipeline(transaction=False)
                for pid in pids[start : start + _BATCH]:
                    pipe.pexpire(self._session_key(pid), self._tracked_ttl_ms)
                pipe.execute()

    def _work(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval
        next_renewal = time.monotonic() + self._renew_interval
        failing = False
        while not self._stopping.wait(min(self.track_interval, self.heartbeat_interval)):
            try:
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + self.heartbeat_interval
                    self._beat()
                self.flush()
                if now >= next_renewal:
                    next_renewal = now + self._renew_interval
                    self._renew()
            except Exception as exc:
                # Once per outage at ERROR: the thread retries every tick.
                logger.log(
                    logging.DEBUG if failing else logging.ERROR,
                    "connection state recovery: writing to Redis failed (%s); retrying",
                    exc,
                    exc_info=not failing,
                )
                failing = True
            else:
                if failing:
                    logger.warning("connection state recovery: writing to Redis works again")
                failing = False

    def close(self) -> None:
        """Write what is pending, mark this process gone, stop the thread, close connections.

        Sessions it still tracks become restorable through other processes
        at once, for one window.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._worker.join()
        try:
            self.flush()
            pipe = self._redis.pipeline(transaction=True)
            pipe.set(self._process_key(self.owner, "seen"), repr(time.time()), px=self._window_ms)
            pipe.delete(self._process_key(self.owner, "alive"))
            pipe.execute()
        finally:
            self._heartbeat_client.close()
            self._redis.close()
            self._redis.connection_pool.disconnect()
