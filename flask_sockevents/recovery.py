"""Connection state recovery: its options, and the store it keeps its state in.

``SockEvents(app, connection_state_recovery=True)`` (or a dict of the
options below; config key ``SOCKEVENTS_CONNECTION_STATE_RECOVERY``) turns
it on. :func:`recovery_options` checks what the app gave, :func:`make_store`
picks the store (:class:`MemoryRecoveryStore` for one process; with a Redis
``message_queue``, the Redis Streams store of
:class:`~flask_sockevents.recovery_redis.RedisStreamRecoveryStore` through
:func:`redis_recovery_store`),
and :mod:`.recovering` does the server's part.

The in-memory store (:mod:`.recovery_memory`) keeps, per namespace, a log
of the EVENTs sent without an ack, each under an offset of its own, and the
sessions whose transport was lost. Everything it keeps is bounded: a packet
leaves the log when it is older than ``max_disconnection_duration``, when
the log holds ``max_packets`` newer ones, or when the newer ones weigh
``max_bytes`` (the JSON size of their data, binary attachments by their
length); a client that missed a packet pushed out by those caps connects as
a new session. A lost session leaves when ``max_disconnection_duration`` has
passed since its transport was lost, or when ``max_sessions`` newer ones are
kept. Nothing runs in the background (no greenlet, no timer per session):
the store drops what expired when it is next called.

Figures (CPython 3.11, 64-bit, measured with ``tracemalloc`` by
``tests/recovery/test_bounds.py``, which allows twice these): a lost session
with three rooms and a small managed session takes about 0.8 KB, so 10,000
sessions lost at once take about 8 MB and ``max_sessions`` (100,000) about
80 MB at most; a small logged packet (``["news", {"text": "hello", "n": 1}]``,
42 bytes of JSON) takes about 1 KB of Python objects, so a namespace's log
at ``max_packets`` (10,000) of such packets takes about 10 MB. ``max_bytes``
(5 MB) bounds the JSON size of the data kept; in memory, text takes about its
length (a log of large text packets at its byte cap: under twice
``max_bytes``), while numbers and small containers take several times
their JSON size, which ``max_packets`` bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .recovery_memory import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DISCONNECTION_DURATION,
    DEFAULT_MAX_PACKETS,
    DEFAULT_MAX_SESSIONS,
    MemoryRecoveryStore,
)
from .recovery_store import RecoveryStore

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


#: The message queue URL schemes python-socketio's Redis manager takes (``redis+sentinel``...).
_REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "unix")


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
    every process, so the store is :func:`redis_recovery_store`'s; without
    a queue, a :class:`MemoryRecoveryStore`.

    :raises ValueError: for another message queue (Kombu, Kafka, ZeroMQ):
        an emit is logged by the process that emits it, so processes with
        stores of their own would hand clients offsets their own process
        does not know; pass a ``store`` shared by the processes.
    """
    if options.store is not None:
        return options.store
    if message_queue:
        scheme = str(message_queue).split("://", 1)[0].lower().split("+", 1)[0]
        if scheme not in _REDIS_SCHEMES:
            raise ValueError(
                f"connection_state_recovery with message_queue={message_queue!r} needs a "
                f"store shared by every process: pass connection_state_recovery="
                f"{{'store': ...}} (a RecoveryStore), or use a Redis message_queue"
            )
        return redis_recovery_store(str(message_queue), options, channel)
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
    package is only needed when it is used. The store's liveness timeout
    (5 s) and heartbeat interval (1 s) are its defaults when the window is
    longer than 10 s; a shorter window scales them down to a half and a
    tenth of it, so that any positive ``max_disconnection_duration`` works
    with a Redis queue as it does in one process.

    :raises RuntimeError: when the ``redis`` or ``msgpack`` package is not
        installed (``pip install flask_sockevents[redis]``).
    """
    try:
        from . import recovery_redis
    except ImportError as missing:
        raise RuntimeError(
            "connection state recovery with a Redis message_queue keeps its sessions "
            f"in Redis and needs the redis extra ({missing}): "
            "pip install 'flask_sockevents[redis]'"
        ) from missing

    duration = options.max_disconnection_duration
    # The store's liveness timeout (5 s) and heartbeat (1 s) must fit in the
    # window: a shorter window scales them down to a half and a tenth of it.
    liveness_timeout = min(5.0, duration / 2)
    store: RecoveryStore = recovery_redis.RedisStreamRecoveryStore(
        url,
        channel=channel,
        max_disconnection_duration=duration,
        heartbeat_interval=min(1.0, liveness_timeout / 5),
        liveness_timeout=liveness_timeout,
        max_packets=options.max_packets,
        max_bytes=options.max_bytes,
        max_sessions=options.max_sessions,
    )
    return store
