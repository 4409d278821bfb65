"""Token-bucket rate limits on events and bytes, per connection and per address.

Plug it in with one line::

    from flask_sockevents.guards import RateLimiter

    RateLimiter(sockevents, events_per_second=20, burst=40, disconnect_after=50)

An event over the limit is rejected with ``"rate limited"`` (the client gets
no ack and the listeners see a rejected event); a client that keeps going
past ``disconnect_after`` rejections within ``window`` seconds is
disconnected.
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

Per = Literal["connection", "address", "both"]


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


class RateLimiter:
    """A guard limiting how many events and bytes a client may send per second.

    Each limit is a token bucket: a client may send ``burst`` events at once,
    then ``events_per_second`` on average. With ``bytes_per_second``, the
    bytes of the packets (:attr:`Event.size`) are limited the same way. An
    event is let through only if every bucket it falls in has room, and only
    then does it take its tokens, so rejected events cost nothing.

    Connects are not counted as events (optionally, ``connects_per_second``
    limits how often one address may connect); disconnects are never rejected
    and forget the connection's buckets, and any bucket that has refilled is
    dropped, so memory follows the clients that are sending right now, not
    every client ever seen.

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param events_per_second: the average event rate allowed.
    :param burst: how many events may arrive at once.
    :param bytes_per_second: the average byte rate allowed, or ``None`` for
        no byte limit.
    :param bytes_burst: how many bytes may arrive at once; twice
        ``bytes_per_second`` by default. A single packet larger than this is
        always rejected.
    :param per: ``"connection"`` (a bucket per sid), ``"address"`` (one
        bucket shared by all connections from the same
        :attr:`Event.remote_addr`; connections whose address is unknown get
        their own), or ``"both"``. Behind a reverse proxy, make sure
        ``remote_addr`` is the client's address before limiting by address.
    :param connects_per_second: the average rate at which one address may
        connect, or ``None`` for no connect limit.
    :param connect_burst: how many connects an address may make at once;
        twice ``connects_per_second`` by default.
    :param disconnect_after: disconnect a connection once it has been
        rejected this many times within ``window`` seconds; ``None`` never
        disconnects.
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
        per: Per = "connection",
        connects_per_second: float | None = None,
        connect_burst: float | None = None,
        disconnect_after: int | None = None,
        window: float = 10.0,
        reason: str = "rate limited",
        clock: Callable[[], float] = time.monotonic,
        sweep_interval: float = 30.0,
    ) -> None:
        if per not in ("connection", "address", "both"):
            raise ValueError(f"per must be 'connection', 'address' or 'both', not {per!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 event, not {burst}")
        if disconnect_after is not None and disconnect_after < 1:
            raise ValueError(f"disconnect_after must be at least 1, not {disconnect_after}")
        self.per = per
        self.reason = reason
        self.disconnect_after = disconnect_after
        self.window = window
        self.clock = clock
        self.sweep_interval = sweep_interval
        self._events = _Limit(events_per_second, burst)
        self._bytes = (
            _Limit(bytes_per_second, bytes_burst or 2 * bytes_per_second)
            if bytes_per_second is not None
            else None
        )
        self._connects = (
            _Limit(connects_per_second, connect_burst or 2 * connects_per_second)
            if connects_per_second is not None
            else None
        )
        self._rejections: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + sweep_interval
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, event: str = "*", namespace: str = "*") -> None:
        """Guard ``event`` in ``namespace`` (patterns) on ``sockevents``.

        Also listens to ``disconnect`` in ``namespace`` (guards do not see
        disconnects), to forget each connection as it goes.
        """
        sockevents.guard(event, namespace)(self)
        sockevents.listen("disconnect", namespace)(self.forget)

    def forget(self, event: Event) -> None:
        """Drop the buckets and rejection history of a disconnected client."""
        if event.kind is EventKind.DISCONNECT:
            with self._lock:
                self._forget(event.sid)

    def __call__(self, event: Event) -> None:
        """Let ``event`` through, or raise :class:`Reject` when it is over a limit.

        :raises Reject: ``Reject(reason)`` over a limit, with
            ``disconnect=True`` once ``disconnect_after`` is reached.
        """
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            if event.kind is EventKind.DISCONNECT:
                self._forget(event.sid)
                return
            if event.kind is EventKind.CONNECT:
                allowed = self._connects is None or self._take(
                    [(self._connects, self._address_key(event), 1)], now
                )
            else:
                allowed = self._take(self._charges(event), now)
            if allowed:
                return
            disconnect = self._escalate(event.sid, now)
        raise Reject(self.reason, disconnect=disconnect)

    @property
    def tracked(self) -> int:
        """How many buckets and rejection histories are held (for monitoring memory)."""
        with self._lock:
            limits = [self._events, self._bytes, self._connects]
            held = sum(len(limit.buckets) for limit in limits if limit is not None)
            return held + len(self._rejections)

    def _charges(self, event: Event) -> list[tuple[_Limit, Any, float]]:
        keys = []
        if self.per in ("connection", "both") or event.remote_addr is None:
            keys.append(("sid", event.sid))
        if self.per in ("address", "both") and event.remote_addr is not None:
            keys.append(self._address_key(event))
        charges: list[tuple[_Limit, Any, float]] = [(self._events, key, 1) for key in keys]
        if self._bytes is not None:
            charges.extend((self._bytes, key, event.size) for key in keys)
        return charges

    @staticmethod
    def _address_key(event: Event) -> tuple[str, str | None]:
        if event.remote_addr is None:
            return ("sid", event.sid)
        return ("addr", event.remote_addr)

    @staticmethod
    def _take(charges: list[tuple[_Limit, Any, float]], now: float) -> bool:
        buckets = [(limit.bucket(key, now), cost) for limit, key, cost in charges]
        if any(bucket.refill(now) < cost for bucket, cost in buckets):
            return False
        for bucket, cost in buckets:
            bucket.tokens -= cost
        return True

    def _escalate(self, sid: str | None, now: float) -> bool:
        """Record a rejection of ``sid``; True when it calls for a disconnect."""
        if self.disconnect_after is None or sid is None:
            return False
        history = self._rejections.get(sid)
        if history is None:
            history = self._rejections[sid] = deque(maxlen=self.disconnect_after)
        history.append(now)
        return len(history) == self.disconnect_after and now - history[0] <= self.window

    def _forget(self, sid: str | None) -> None:
        key = ("sid", sid)
        for limit in (self._events, self._bytes, self._connects):
            if limit is not None:
                limit.buckets.pop(key, None)
        self._rejections.pop(sid or "", None)

    def _sweep(self, now: float) -> None:
        for limit in (self._events, self._bytes, self._connects):
            if limit is not None:
                limit.sweep(now)
        stale = [
            sid for sid, history in self._rejections.items() if now - history[-1] > self.window
        ]
        for sid in stale:
            del self._rejections[sid]
        self._next_sweep = now + self.sweep_interval
