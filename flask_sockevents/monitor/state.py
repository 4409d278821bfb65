"""What the monitor page shows, aggregated from the bus into bounded memory.

:class:`MonitorState` is a plain listener ``state(event)``: it keeps counters,
per-second buckets and the latest events, and answers :meth:`MonitorState.snapshot`
with a JSON-ready dict. Whatever clients send, its memory stays bounded:

- the latest events, rejections and failures are deques with a ``maxlen``;
- per-second buckets cover a fixed window (60 s by default);
- event names are chart keys only when some route declares them
  (``is_declared(name, namespace)``); any other name is counted as
  :data:`UNDECLARED`, and past ``max_series`` distinct keys as :data:`OTHER`;
- rejection and failure reasons are capped the same way (``max_reasons``);
- names, namespaces and reasons shown in rows are cut to a fixed length;
- a failure shows its exception's class name, and its text only with
  ``error_text``; arguments are shown (redacted, cut short) only with ``payloads``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from flask_sockevents.bounded import BoundedCounter, BoundedLabels
from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.listeners.audit import redacted

__all__ = ["OTHER", "UNDECLARED", "MonitorState"]

UNDECLARED = "<undeclared>"
"""Chart key for an event name that no route declares."""

OTHER = "<other>"
"""Key once a bounded set of keys (chart names, reasons) is full."""

_LIFECYCLE = (EventKind.CONNECT, EventKind.DISCONNECT)
_NAME_LENGTH = 64
_REASON_LENGTH = 160
_PAYLOAD_LENGTH = 200
_PAYLOAD_BYTES = 4096  # bodies larger than this are shown by their size only


def _cut(text: str | None, length: int) -> str | None:
    if text is None or len(text) <= length:
        return text
    return text[: length - 1] + "…"


def _payload(event: Event) -> str:
    """The event's arguments as short JSON, redacted; only their size when they are large."""
    if event.size > _PAYLOAD_BYTES:
        return f"[{event.size} bytes]"
    args = redacted(event.args, max_bytes=_PAYLOAD_BYTES)
    if args is None:
        return "[too large]"
    return _cut(json.dumps(args, ensure_ascii=False), _PAYLOAD_LENGTH) or ""


class MonitorState:
    """Aggregates finished bus events for the monitor page, in bounded memory.

    Call it with each finished :class:`~flask_sockevents.Event` (it is a
    listener); read it with :meth:`snapshot`.

    :param is_declared: ``is_declared(name, namespace)`` is true when a route
        declares the event name (``sockevents.bus.router.is_declared``); other
        names are charted as :data:`UNDECLARED`. ``None`` declares every name.
    :param exclude_namespace: a namespace whose traffic is ignored entirely
        (the monitor's own, so the page never watches itself).
    :param window: seconds of per-second buckets kept for the chart.
    :param max_events: latest events kept.
    :param max_problems: latest rejections and latest failures kept (each).
    :param max_series: distinct chart keys, including :data:`UNDECLARED`.
    :param max_reasons: distinct rejection reasons and failure reasons counted (each).
    :param error_text: show a failure's exception text after its class name.
    :param payloads: add each event's arguments to its row (``"args"``),
        redacted as :class:`~flask_sockevents.listeners.AuditLog` does and cut
        to 200 characters.
    :param clock: the wall clock, in seconds (``time.time``).
    """

    def __init__(
        self,
        is_declared: Callable[[str, str], bool] | None = None,
        *,
        exclude_namespace: str | None = None,
        window: int = 60,
        max_events: int = 200,
        max_problems: int = 50,
        max_series: int = 40,
        max_reasons: int = 50,
        error_text: bool = False,
        payloads: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.is_declared = is_declared
        self.error_text = error_text
        self.payloads = payloads
        self.exclude_namespace = exclude_namespace
        self.window = window
        self.max_series = max_series
        self.clock = clock
        self.started_at = clock()
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.rejections: deque[dict[str, Any]] = deque(maxlen=max_problems)
        self.failures: deque[dict[str, Any]] = deque(maxlen=max_problems)
        self.rejection_reasons = BoundedCounter(max_reasons, OTHER)
        self.failure_reasons = BoundedCounter(max_reasons, OTHER)
        self.outcomes: Counter[str] = Counter()
        self.clients: dict[str, int] = {}
        self.buckets: deque[tuple[int, Counter[str]]] = deque(maxlen=window)
        self._series_key = BoundedLabels(max_series, OTHER)
        self.total = 0
        self._seq = itertools.count(1)
        self.last_seq = 0
        self._lock = threading.Lock()

    # -- recording -----------------------------------------------------------

    def __call__(self, event: Event) -> None:
        """Record one finished event (ignored if it is in the excluded namespace)."""
        if event.namespace == self.exclude_namespace or event.outcome is None:
            return
        with self._lock:
            self._record(event)

    def _record(self, event: Event) -> None:
        outcome = event.outcome.value  # type: ignore[union-attr]
        self.total += 1
        self.outcomes[outcome] += 1
        self._count_client(event)
        self._bucket(self.clock())[self.series_key(event)] += 1
        seq = self.last_seq = next(self._seq)
        duration = event.duration
        row = {
            "seq": seq,
            "at": self.clock(),
            "kind": event.kind.value,
            "namespace": _cut(event.namespace, _NAME_LENGTH),
            "name": _cut(event.name, _NAME_LENGTH),
            "sid": event.sid[:8] if event.sid else None,
            "outcome": outcome,
            "reason": _cut(self._reason(event), _REASON_LENGTH),
            "duration_us": round(duration * 1e6) if duration is not None else None,
        }
        if self.payloads:
            row["args"] = _payload(event)
        self.events.append(row)
        if event.outcome is Outcome.REJECTED:
            self.rejections.append(row)
            self.rejection_reasons.add(row["reason"] or "")
        elif event.outcome is Outcome.FAILED:
            self.failures.append(row)
            self.failure_reasons.add(row["reason"] or "")

    def _reason(self, event: Event) -> str | None:
        error = event.error
        if event.outcome is not Outcome.FAILED or error is None:
            return event.reason
        name = type(error).__name__
        return f"{name}: {error}" if self.error_text else name

    def _count_client(self, event: Event) -> None:
        clients = self.clients
        namespace = event.namespace
        if event.kind is EventKind.CONNECT and event.accepted:
            clients[namespace] = clients.get(namespace, 0) + 1
        elif event.kind is EventKind.DISCONNECT and namespace in clients:
            left = clients[namespace] - 1
            if left > 0:
                clients[namespace] = left
            else:
                del clients[namespace]

    def _bucket(self, now: float) -> Counter[str]:
        second = int(now)
        buckets = self.buckets
        if buckets and buckets[-1][0] == second:
            return buckets[-1][1]
        if buckets and buckets[-1][0] > second:  # the clock stepped back: keep the last bucket
            return buckets[-1][1]
        counts: Counter[str] = Counter()
        buckets.append((second, counts))
        return counts

    def series_key(self, event: Event) -> str:
        """The chart key of ``event``: its name if declared, else :data:`UNDECLARED`.

        ``connect`` and ``disconnect`` keep their names. Past ``max_series``
        distinct keys, the key is :data:`OTHER`.
        """
        name = event.name
        if event.kind not in _LIFECYCLE and (
            self.is_declared is not None and not self.is_declared(name, event.namespace)
        ):
            name = UNDECLARED
        return self._series_key(name)

    # -- reading -------------------------------------------------------------

    def per_second(self, now: float | None = None) -> dict[str, Any]:
        """Events per second by chart key over the window ending at ``now``.

        :return: ``{"end": second, "window": n, "counts": {key: [n ints]}}``,
            oldest second first; keys with no event in the window are left out.
        """
        end = int(self.clock() if now is None else now)
        start = end - self.window + 1
        counts: dict[str, list[int]] = {}
        with self._lock:
            buckets = list(self.buckets)
        for second, bucket in buckets:
            if start <= second <= end:
                for key, count in bucket.items():
                    counts.setdefault(key, [0] * self.window)[second - start] += count
        return {"end": end, "window": self.window, "counts": counts}

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """Everything the page shows, as a JSON-ready dict.

        :param since: only rows (events, rejections, failures) with a ``seq``
            greater than this are included; 0 gives them all. Counters, clients
            and the chart are always complete.
        """
        series = self.per_second()
        with self._lock:
            return {
                "now": self.clock(),
                "started_at": self.started_at,
                "seq": self.last_seq,
                "total": self.total,
                "outcomes": dict(self.outcomes),
                "clients": dict(sorted(self.clients.items())),
                "series": series,
                "events": [row for row in self.events if row["seq"] > since],
                "rejections": {
                    "by_reason": _by_count(self.rejection_reasons),
                    "latest": [row for row in self.rejections if row["seq"] > since],
                },
                "failures": {
                    "by_reason": _by_count(self.failure_reasons),
                    "latest": [row for row in self.failures if row["seq"] > since],
                },
            }


def _by_count(counts: Counter[str]) -> list[list[Any]]:
    """``[[key, count], ...]``, the most common first."""
    return [[key, count] for key, count in counts.most_common()]
