"""Prometheus metrics for the event bus, served from the Flask app.

Plug it in with one line::

    from flask_sockevents.listeners import Metrics

    metrics = Metrics(sockevents)   # GET /metrics now answers in Prometheus' text format

Needs ``prometheus_client`` (``pip install flask-sockevents[metrics]``).

Every label value is bounded, so a client cannot grow the metric set by
sending made-up event names, namespaces or packets that get rejected for
ever-new reasons.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask_sockevents.bounded import BoundedLabels
from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.listeners._attach import app_of, connect_emitted, router_of

__all__ = ["DURATION_BUCKETS", "OTHER", "UNDECLARED", "Metrics"]

UNDECLARED = "<undeclared>"
"""Label value for an event name or namespace that no route declares."""

OTHER = "<other>"
"""Label value once a label has reached its cap of distinct values."""

DURATION_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Histogram buckets (seconds) for handler durations: handlers are often sub-millisecond."""

_LIFECYCLE = (EventKind.CONNECT, EventKind.DISCONNECT)
_log = logging.getLogger(__name__)


class Metrics:
    """A listener that keeps Prometheus metrics of the bus and serves them over HTTP.

    Metrics (all in :attr:`registry`):

    ``sockevents_events_total{namespace,event,outcome}``
        every connect, event and disconnect, by outcome;
    ``sockevents_handler_duration_seconds{namespace,event}``
        time in guards, handler and error handlers;
    ``sockevents_connected_clients{namespace}``
        connections accepted and not yet disconnected;
    ``sockevents_received_bytes_total{namespace}``, ``sockevents_emitted_bytes_total{namespace}``
        packet bytes from clients and emitted by the server;
    ``sockevents_rejections_total{namespace,reason}``
        rejected connects and events, by reason.

    Label values stay bounded: an event name no route declares is counted as
    ``"<undeclared>"`` (``connect`` and ``disconnect`` always keep their name),
    and so is a namespace no route accepts and no client was let into.
    Namespaces keep their name up to ``max_namespaces`` distinct values (a
    pattern route such as ``/rooms/*`` accepts many); rejection reasons are
    cut to 64 characters and capped at ``max_reasons`` distinct values. Past
    a cap, the label is ``"<other>"``.

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param registry: the :class:`prometheus_client.CollectorRegistry` to
        register in; a new one by default, so several apps (or tests) in one
        process never clash. Pass ``prometheus_client.REGISTRY`` to share the
        process-wide one.
    :param path: the URL rule of the metrics view, or ``None`` for no view.
    :param app: the Flask app to add the view to, when the extension has none
        (created without an app, for an app factory).
    :param check: called (in the request context) before serving the view;
        when it returns false the view answers 403.
    :param max_namespaces: distinct namespace label values kept.
    :param max_reasons: distinct rejection reason label values kept.
    :param buckets: histogram buckets in seconds.
    :raises ImportError: when ``prometheus_client`` is not installed.
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        registry: Any = None,
        path: str | None = "/metrics",
        app: Any = None,
        check: Callable[[], bool] | None = None,
        max_namespaces: int = 100,
        max_reasons: int = 50,
        buckets: Iterable[float] = DURATION_BUCKETS,
    ) -> None:
        try:
            import prometheus_client
        except ImportError as exc:
            raise ImportError(
                "flask_sockevents.listeners.Metrics needs prometheus_client: "
                "pip install flask-sockevents[metrics]"
            ) from exc
        self._prometheus = prometheus_client
        self.registry = registry if registry is not None else prometheus_client.CollectorRegistry()
        self.path = path
        self.app = app
        self.check = check
        self.router: Any = None
        self._namespace_label = BoundedLabels(max_namespaces, OTHER, length=256)
        self._reason_label = BoundedLabels(max_reasons, OTHER, length=64)
        self._connected: dict[tuple[str, str], str] = {}
        self._connected_lock = threading.Lock()
        self._entered: set[str] = set()
        self._detach: list[Callable[[], None]] = []

        p = prometheus_client
        self.events = p.Counter(
            "sockevents_events",
            "Connects, events and disconnects received, by outcome.",
            ("namespace", "event", "outcome"),
            registry=self.registry,
        )
        self.duration = p.Histogram(
            "sockevents_handler_duration_seconds",
            "Time spent in guards, handler and error handlers.",
            ("namespace", "event"),
            registry=self.registry,
            buckets=tuple(buckets),
        )
        self.connected = p.Gauge(
            "sockevents_connected_clients",
            "Clients connected to the namespace.",
            ("namespace",),
            registry=self.registry,
        )
        self.received_bytes = p.Counter(
            "sockevents_received_bytes",
            "Bytes of packets received from clients.",
            ("namespace",),
            registry=self.registry,
        )
        self.emitted_bytes = p.Counter(
            "sockevents_emitted_bytes",
            "Bytes of packets emitted by the server.",
            ("namespace",),
            registry=self.registry,
        )
        self.rejections = p.Counter(
            "sockevents_rejections",
            "Connects and events rejected, by reason.",
            ("namespace", "reason"),
            registry=self.registry,
        )
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, event: str = "*", namespace: str = "*") -> None:
        """Listen to ``event`` in ``namespace`` (patterns) on ``sockevents``.

        Also counts the extension's server emits, bounds labels with its
        router, and adds the metrics view to its app (or to ``app`` given to
        the constructor) unless ``path`` is ``None``.
        """
        self.router = router_of(sockevents)
        sockevents.listen(event, namespace)(self)
        self._detach.append(connect_emitted(sockevents, self.count_emitted))
        app = self.app if self.app is not None else app_of(sockevents)
        if app is not None and self.path is not None:
            self.register_view(app)

    def register_view(self, app: Any, path: str | None = None) -> None:
        """Serve the metrics at ``path`` (default: the constructor's) on ``app``."""
        rule = path or self.path
        if rule is None:
            raise ValueError("Metrics.register_view needs a path")
        app.add_url_rule(
            rule, endpoint=f"sockevents_metrics:{rule}", view_func=self.view, methods=["GET"]
        )

    def view(self) -> Any:
        """The Flask view answering with the registry in Prometheus' text format."""
        from flask import Response, abort

        if self.check is not None and not self.check():
            abort(403)
        return Response(
            self._prometheus.generate_latest(self.registry),
            mimetype=None,
            content_type=self._prometheus.CONTENT_TYPE_LATEST,
        )

    def close(self) -> None:
        """Stop counting server emits (the listener route itself stays)."""
        for detach in self._detach:
            detach()
        self._detach.clear()

    def __call__(self, event: Event) -> None:
        """Count one finished connect, event or disconnect. Never raises."""
        try:
            self._count(event)
        except Exception:
            _log.exception("Metrics could not count %r", event)

    def count_emitted(self, event: Event) -> None:
        """Count the bytes of one server emit. Never raises."""
        try:
            self.emitted_bytes.labels(self.namespace_label(event.namespace)).inc(event.size)
        except Exception:
            _log.exception("Metrics could not count %r", event)

    def namespace_label(self, namespace: str) -> str:
        """The bounded label value for ``namespace``.

        A namespace keeps its name when a route accepts it or a client was
        let into it (the extension may accept namespaces no route names);
        otherwise it is ``"<undeclared>"``.
        """
        if namespace in self._entered or self.router is None:
            return self._namespace_label(namespace)
        if self.router.accepts_namespace(namespace):
            return self._namespace_label(namespace)
        return UNDECLARED

    def event_label(self, event: Event) -> str:
        """The bounded label value for the name of ``event``."""
        if event.kind in _LIFECYCLE:
            return event.name
        router = self.router
        if router is None or router.is_declared(event.name, event.namespace):
            return event.name
        return UNDECLARED

    def reason_label(self, reason: str | None) -> str:
        """The bounded label value for a rejection ``reason``."""
        return self._reason_label(reason or "")

    def _count(self, event: Event) -> None:
        if event.kind is EventKind.EMIT:
            self.count_emitted(event)
            return
        if event.kind is EventKind.CONNECT and event.accepted:
            self._enter(event.namespace)
        namespace = self.namespace_label(event.namespace)
        name = self.event_label(event)
        outcome = event.outcome.value if event.outcome is not None else "received"
        self.events.labels(namespace, name, outcome).inc()
        self.received_bytes.labels(namespace).inc(event.size)
        if event.duration is not None:
            self.duration.labels(namespace, name).observe(event.duration)
        if event.outcome is Outcome.REJECTED:
            self.rejections.labels(namespace, self.reason_label(event.reason)).inc()
        if event.sid is not None:
            self._track_connection(event, namespace)

    def _enter(self, namespace: str) -> None:
        if namespace not in self._entered and len(self._entered) < self._namespace_label.limit:
            self._entered.add(namespace)

    def _track_connection(self, event: Event, namespace: str) -> None:
        key = (event.namespace, event.sid or "")
        if event.kind is EventKind.CONNECT and event.accepted:
            with self._connected_lock:
                if key in self._connected:
                    return
                self._connected[key] = namespace
            self.connected.labels(namespace).inc()
        elif event.kind is EventKind.DISCONNECT:
            with self._connected_lock:
                label = self._connected.pop(key, None)
            if label is not None:
                self.connected.labels(label).dec()
