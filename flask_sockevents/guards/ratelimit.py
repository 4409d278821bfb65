"""Token-bucket rate limits on events and bytes, per transport and per address.

Plug it in with one line::

    from flask_sockevents.guards import RateLimiter

    RateLimiter(sockevents, events_per_second=20, burst=40, disconnect_after=50)

An event (or a connect) over the limit is rejected with ``"rate limited"``
(the client gets no ack, or a connect error, and the listeners see a rejected
event); a client that keeps going past ``disconnect_after`` rejections within
``window`` seconds has its transport closed.

The buckets are keyed by the client's transport (its Engine.IO session,
:attr:`Event.transport`) and by its address, never by the namespace sid: a
client cannot earn a fresh budget by reconnecting a namespace or by opening
more of them, since every namespace on one transport draws on the same bucket
and every transport from one address on the address's bucket.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from flask_sockevents.event import Event, EventKind
from flask_sockevents.exceptions import Reject

__all__ = ["RateLimiter"]

Per = Literal["transport", "address", "both", "connection"]
_PER = ("transport", "address", "both", "connection")

#: A bucket key: ``("transport", eio_sid)`` or ``("addr", address)``.
Key = tuple[str, Any]


class _Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float) -> float:
        """Add the tokens earned since the last refill; return the tokens available."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens

    def is_full(self, now: float) -> bool:
        """Whether the bucket has refilled, i.e. is indistinguishable from a new one."""
        return self.refill(now) >= self.capacity


class _Limit:
    """A rate and a burst, and the buckets that enforce them, one per key."""

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError(f"a rate limit needs a positive rate and burst, not {rate}/{burst}")
        self.rate = rate
        self.burst = burst
        self.buckets: dict[Any, _Bucket] = {}

    def bucket(self, key: Any, now: float) -> _Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(self.rate, self.burst, now)
        return bucket

    def sweep(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes nothing."""
        for key in [key for key, bucket in self.buckets.items() if bucket.is_full(now)]:
            del self.buckets[key]


def _optional_limit(rate: float | None, burst: float | None) -> _Limit | None:
    return _Limit(rate, burst or 2 * rate) if rate is not None else None


class RateLimiter:
    """A guard limiting how many events, connects and bytes a client may send per second.

    Each limit is a token bucket: a client may send ``burst`` events at once,
    then ``events_per_second`` on average. A connect to a namespace costs one
    event, like any event. With ``bytes_per_second``, the bytes of the packets
    (:attr:`Event.size`) are limited the same way. An event is let through
    only if every bucket it falls in has room, and only then does it take its
    tokens, so rejected events cost nothing.

    Buckets are keyed by the transport (:attr:`Event.transport`, the
    Engine.IO session shared by all the namespaces a client opens on it; the
    namespace sid when it is unknown) and by the address
    (:attr:`Event.remote_addr`). Disconnecting from a namespace forgets
    nothing: the transport's bucket still holds when the client connects
    again. Any bucket that has refilled is dropped, so memory follows the
    clients that are sending right now, not every client ever seen.

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param events_per_second: the average event rate allowed per transport.
    :param burst: how many events a transport may send at once.
    :param bytes_per_second: the average byte rate allowed (per transport, and
        per address), or ``None`` for no byte limit.
    :param bytes_burst: how many bytes may arrive at once; twice
        ``bytes_per_second`` by default. A single packet larger than this is
        always rejected.
    :param per: ``"both"`` (the default: a bucket per transport and one per
        address), ``"transport"`` (per transport only; ``"connection"`` is
        the same) or ``"address"`` (per address only; transports whose
        address is unknown get their own). Behind a reverse proxy, make sure
        ``remote_addr`` is the client's address (werkzeug's ``ProxyFix``)
        before limiting by address, or every client shares the proxy's bucket.
    :param address_events_per_second: the average event rate allowed per
        address, all its transports together; ``events_per_second`` by
        default, so opening more transports does not multiply a client's
        budget. Raise it when many users share an address (a NAT).
    :param address_burst: how many events an address may send at once;
        ``burst`` by default.
    :param connects_per_second: in addition, the average rate at which one
        address may connect to namespaces, or ``None`` for no separate
        connect limit.
    :param connect_burst: how many connects an address may make at once;
        twice ``connects_per_second`` by default.
    :param disconnect_after: close a client's transport (its whole Engine.IO
        session, every namespace on it) once it has been rejected this many
        times within ``window`` seconds; ``None`` never disconnects.
    :param window: the window of ``disconnect_after``, in seconds.
    :param reason: the rejection reason the client is told.
    :param clock: the monotonic clock, in seconds (injectable for tests).
    :param sweep_interval: how often, in seconds, refilled buckets are dropped.
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        events_per_second: float = 20.0,
        burst: float = 40,
        bytes_per_second: float | None = None,
        bytes_burst: float | None = None,
        per: Per = "both",
        address_events_per_second: float | None = None,
        address_burst: float | None = None,
        connects_per_second: float | None = None,
        connect_burst: float | None = None,
        disconnect_after: int | None = None,
        window: float = 10.0,
        reason: str = "rate limited",
        clock: Callable[[], float] = time.monotonic,
        sweep_interval: float = 30.0,
    ) -> None:
        if per not in _PER:
            raise ValueError(
                f"per must be 'transport', 'address', 'both' or 'connection', not {per!r}"
            )
        if burst < 1 or (address_burst is not None and address_burst < 1):
            raise ValueError(f"a burst must be at least 1 event, not {burst}")
        if disconnect_after is not None and disconnect_after < 1:
            raise ValueError(f"disconnect_after must be at least 1, not {disconnect_after}")
        self.per = "transport" if per == "connection" else per
        self.reason = reason
        self.disconnect_after = disconnect_after
        self.window = window
        self.clock = clock
        self.sweep_interval = sweep_interval
        self._events = _Limit(events_per_second, burst)
        self._address_events = _Limit(
            address_events_per_second or events_per_second, address_burst or burst
        )
        self._bytes = _optional_limit(bytes_per_second, bytes_burst)
        self._connects = _optional_limit(connects_per_second, connect_burst)
        self._rejections: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + sweep_interval
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, event: str = "*", namespace: str = "*") -> None:
        """Guard ``event`` in ``namespace`` (patterns) on ``sockevents``.

        Connects to the namespaces matching ``namespace`` are guarded too.
        """
        sockevents.guard(event, namespace)(self)
        if event != "*":
            sockevents.guard("connect", namespace)(self)

    def __call__(self, event: Event) -> None:
        """Let ``event`` through, or raise :class:`Reject` when it is over a limit.

        Disconnects and server-to-server events (no client sent them)
        always pass and cost nothing.

        :raises Reject: ``Reject(reason)`` over a limit, with
            ``disconnect=True`` once ``disconnect_after`` is reached.
        """
        if event.kind is EventKind.DISCONNECT or event.kind is EventKind.SERVER:
            return
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            charges = self._charges(event)
            if event.kind is EventKind.CONNECT and self._connects is not None:
                charges.append((self._connects, self._address_key(event), 1))
            if self._take(charges, now):
                return
            disconnect = self._escalate(self._transport_key(event), now)
        raise Reject(self.reason, disconnect=disconnect)

    @property
    def tracked(self) -> int:
        """How many buckets and rejection histories are held (for monitoring memory)."""
        with self._lock:
            held = sum(len(limit.buckets) for limit in self._limits())
            return held + len(self._rejections)

    def _limits(self) -> list[_Limit]:
        limits = [self._events, self._address_events, self._bytes, self._connects]
        return [limit for limit in limits if limit is not None]

    def _charges(self, event: Event) -> list[tuple[_Limit, Key, float]]:
        charges: list[tuple[_Limit, Key, float]] = []
        by_transport = self.per in ("transport", "both") or event.remote_addr is None
        by_address = self.per in ("address", "both") and event.remote_addr is not None
        if by_transport:
            key = self._transport_key(event)
            charges.append((self._events, key, 1))
            if self._bytes is not None:
                charges.append((self._bytes, key, event.size))
        if by_address:
            key = self._address_key(event)
            charges.append((self._address_events, key, 1))
            if self._bytes is not None:
                charges.append((self._bytes, key, event.size))
        return charges

    @staticmethod
    def _transport_key(event: Event) -> Key:
        return ("transport", event.transport or event.sid)

    @classmethod
    def _address_key(cls, event: Event) -> Key:
        if event.remote_addr is None:
            return cls._transport_key(event)
        return ("addr", event.remote_addr)

    @staticmethod
    def _take(charges: list[tuple[_Limit, Key, float]], now: float) -> bool:
        buckets = [(limit.bucket(key, now), cost) for limit, key, cost in charges]
        if any(bucket.refill(now) < cost for bucket, cost in buckets):
            return False
        for bucket, cost in buckets:
            bucket.tokens -= cost
        return True

    def _escalate(self, key: Key, now: float) -> bool:
        """Record a rejection of the transport ``key``; True when it calls for a disconnect."""
        if self.disconnect_after is None or key[1] is None:
            return False
        history = self._rejections.get(key)
        if history is None:
            history = self._rejections[key] = deque(maxlen=self.disconnect_after)
        history.append(now)
        return len(history) == self.disconnect_after and now - history[0] <= self.window

    def _sweep(self, now: float) -> None:
        for limit in self._limits():
            limit.sweep(now)
        stale = [
            key for key, history in self._rejections.items() if now - history[-1] > self.window
        ]
        for key in stale:
            del self._rejections[key]
        self._next_sweep = now + self.sweep_interval
