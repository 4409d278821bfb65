"""OpenTelemetry tracing: a span per connect, event, disconnect and server emit.

Plug it in with one line::

    from flask_sockevents.listeners import Tracing

    Tracing(sockevents)            # spans go to the global TracerProvider

Needs ``opentelemetry-api`` (``pip install flask-sockevents[otel]``); spans
are exported by whatever SDK the app configures (none: no-op, nearly free).

How a span is made, following OpenTelemetry's messaging conventions:

- **Incoming** connects, events and disconnects get a span of kind ``SERVER``,
  started before the first subscriber runs and ended after the last one
  (through :attr:`Bus.around <flask_sockevents.Bus.around>`), so it is the
  current span while guards, the handler and listeners run: a database call
  the handler makes, or an emit, is its child. Its start is the moment the
  packet was received, so the time it waited in its connection's queue is in it.
- **Its parent** is the W3C trace context the client sent with the handshake:
  ``traceparent`` (and ``tracestate``) in the connect's ``auth`` (what a
  browser can send: ``io({auth: {traceparent}})``), else the handshake's
  HTTP headers, else its query string. A connect's ``auth`` is kept for the
  later events of that namespace, until its disconnect.
- **Server emits** get a span of kind ``PRODUCER``, the child of whatever was
  current when the server emitted.
- **The name is a route**, never what a client chose, so the set of names
  stays bounded: ``"<namespace> <event>"`` of the handler's route as declared
  (``"/ chat"``, ``"/rooms/* message"``, ``"/ *"`` for a catch-all); a connect
  or disconnect without a handler is ``"connect"`` or ``"disconnect"``, any
  other event without one ``"<unrouted>"``. An emit is named after its
  ``sockevents.emits(...)`` declaration, or ``"<undeclared emit>"``.
- **Attributes**: ``messaging.system`` (``"socket.io"``),
  ``messaging.operation.type`` (``process`` or ``send``),
  ``messaging.operation.name`` (the kind), ``messaging.destination.name`` (the
  namespace), ``messaging.client.id`` (the sid), ``messaging.message.body.size``,
  ``client.address``, and ``sockevents.namespace``, ``sockevents.event``,
  ``sockevents.outcome``, ``sockevents.reason`` (texts cut to 256 characters).
- **Status** from the outcome: handled and unhandled leave it unset; rejected
  and failed set ``ERROR`` with the reason and ``error.type`` (``"rejected"``
  or the exception's class); a handler's exception is recorded on the span.
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from flask import has_request_context, request

from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.listeners._attach import connect_emitted, router_of

__all__ = ["UNDECLARED_EMIT", "UNROUTED", "Tracing"]

UNROUTED = "<unrouted>"
"""The span name of a client event that no handler route matches."""

UNDECLARED_EMIT = "<undeclared emit>"
"""The span name of a server emit that no ``emits()`` declaration matches."""

_MAX_TEXT = 256
_MAX_CARRIER_VALUE = 512
_MAX_NAMESPACES_KEPT = 64
_W3C_FIELDS = ("traceparent", "tracestate", "baggage")
_ENVIRON_KEY = "flask_sockevents.trace_parents"
_HANDSHAKE = ""  # the key of the handshake's own context among the kept ones
_log = logging.getLogger(__name__)


class Tracing:
    """A bus listener that traces every connect, event, disconnect and server emit.

    :param sockevents: the extension (or a bare :class:`~flask_sockevents.Bus`);
        when given, :meth:`init_app` is called.
    :param tracer_provider: the OpenTelemetry ``TracerProvider`` to use; the
        global one (``opentelemetry.trace.set_tracer_provider``) by default.
    :param emits: also trace the server's emits.
    :raises ImportError: when ``opentelemetry-api`` is not installed.
    """

    def __init__(
        self, sockevents: Any = None, tracer_provider: Any = None, *, emits: bool = True
    ) -> None:
        try:
            from opentelemetry import context, propagate, trace
        except ImportError as exc:
            raise ImportError(
                "flask_sockevents.listeners.Tracing needs opentelemetry-api: "
                "pip install flask-sockevents[otel]"
            ) from exc
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._trace = trace
        self._context = context
        self._propagate = propagate
        self._server = SpanKind.SERVER
        self._producer = SpanKind.PRODUCER
        self._error = StatusCode.ERROR
        self._status = Status
        #: The OpenTelemetry tracer the spans come from.
        self.tracer = trace.get_tracer(
            "flask_sockevents", _package_version(), tracer_provider=tracer_provider
        )
        self.emits = emits
        self.router: Any = None
        self._detach: list[Any] = []
        # The span of the event being published, per greenlet: read by the
        # listener half, which sees the finished event.
        self._active: contextvars.ContextVar[Any] = contextvars.ContextVar(
            "flask_sockevents_tracing_span", default=None
        )
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any) -> None:
        """Trace the events of ``sockevents`` (a ``SockEvents`` or a ``Bus``)."""
        self.router = router_of(sockevents)
        bus = getattr(sockevents, "bus", sockevents)
        bus.around.append(self.span_for)
        sockevents.listen("*", namespace="*")(self)
        if self.emits:
            self._detach.append(connect_emitted(sockevents, self.trace_emit))

    def close(self) -> None:
        """Stop tracing server emits (the spans of incoming events go on)."""
        for detach in self._detach:
            detach()
        self._detach.clear()

    # -- naming -------------------------------------------------------------

    def span_name(self, event: Event) -> str:
        """The span name of an incoming ``event``: its handler's route (see the module doc)."""
        router = self.router
        handler = None if router is None else router.resolve(event.namespace, event.name).handler
        if handler is not None:
            return handler.route.name  # the route signal's name: "<namespace> <event>"
        if event.kind is EventKind.CONNECT or event.kind is EventKind.DISCONNECT:
            return event.kind.value
        return UNROUTED

    def emit_span_name(self, event: Event) -> str:
        """The span name of a server emit: its declaration's route, or :data:`UNDECLARED_EMIT`."""
        router = self.router
        declared = None if router is None else router.declared_emit(event.namespace, event.name)
        if declared is None:
            return UNDECLARED_EMIT
        return f"{declared.route.namespace} {declared.route.event}"

    # -- the span around an incoming event -------------------------------------

    def span_for(self, event: Event) -> _Scope:
        """The context manager ``Bus.publish`` enters around ``event``: a ``Bus.around`` hook."""
        return _Scope(self, event)

    def __call__(self, event: Event) -> None:
        """The listener half: put the finished ``event``'s outcome on its span. Never raises."""
        try:
            self._finish(event)
        except Exception:
            _log.exception("Tracing could not finish the span of %r", event)

    def _finish(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.CONNECT and event.accepted:
            self._keep_auth_parent(event)
        elif kind is EventKind.DISCONNECT:
            _forget_parent(event.namespace)
        span = self._active.get()
        if span is None or not span.is_recording():
            return
        outcome = event.outcome
        if outcome is not None:
            span.set_attribute("sockevents.outcome", outcome.value)
        if event.reason:
            span.set_attribute("sockevents.reason", event.reason[:_MAX_TEXT])
        if outcome is Outcome.FAILED:
            error = event.error
            if error is not None:
                span.record_exception(error)
                span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(self._status(self._error, event.reason))
        elif outcome is Outcome.REJECTED:
            span.set_attribute("error.type", "rejected")
            span.set_status(self._status(self._error, event.reason))

    def _parent(self, event: Event) -> Any:
        """The client's trace context for ``event``, or ``None`` (see the module doc)."""
        environ = _environ()
        if environ is None:
            return None
        kept: dict[str, Any] = environ.setdefault(_ENVIRON_KEY, {})
        namespace = event.namespace
        if event.kind is EventKind.CONNECT:
            carrier = _auth_carrier(event)
            if "traceparent" in carrier:
                return self._propagate.extract(carrier)
        elif namespace in kept:
            return kept[namespace]
        if _HANDSHAKE not in kept:
            carrier = _handshake_carrier(environ)
            kept[_HANDSHAKE] = (
                self._propagate.extract(carrier) if "traceparent" in carrier else None
            )
        return kept[_HANDSHAKE]

    def _keep_auth_parent(self, event: Event) -> None:
        """Keep the trace context of an accepted connect's ``auth`` for its namespace's events."""
        carrier = _auth_carrier(event)
        environ = _environ()
        if "traceparent" not in carrier or environ is None:
            return
        kept: dict[str, Any] = environ.setdefault(_ENVIRON_KEY, {})
        if event.namespace in kept or len(kept) < _MAX_NAMESPACES_KEPT:
            kept[event.namespace] = self._propagate.extract(carrier)

    def _attributes(self, event: Event, operation: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messaging.system": "socket.io",
            "messaging.operation.type": operation,
            "messaging.operation.name": event.kind.value,
            "messaging.destination.name": event.namespace[:_MAX_TEXT],
            "messaging.message.body.size": event.size,
            "sockevents.namespace": event.namespace[:_MAX_TEXT],
            "sockevents.event": event.name[:_MAX_TEXT],
        }
        if event.sid is not None:
            attributes["messaging.client.id"] = event.sid
        if event.remote_addr is not None:
            attributes["client.address"] = event.remote_addr
        return attributes

    # -- server emits ---------------------------------------------------------

    def trace_emit(self, event: Event) -> None:
        """A ``PRODUCER`` span for one server emit, child of the current span. Never raises."""
        try:
            span = self.tracer.start_span(
                self.emit_span_name(event),
                kind=self._producer,
                attributes=self._attributes(event, "send"),
            )
            span.end()
        except Exception:
            _log.exception("Tracing could not trace the emit %r", event)


class _Scope:
    """The span of one incoming event, current from enter to exit."""

    __slots__ = ("active_token", "event", "span", "token", "tracing")

    def __init__(self, tracing: Tracing, event: Event) -> None:
        self.tracing = tracing
        self.event = event
        self.span: Any = None
        self.token: Any = None

    def __enter__(self) -> Any:
        try:
            return self._start()
        except Exception:  # tracing never stops an event
            _log.exception("Tracing could not start the span of %r", self.event)
            self.span = None
            return None

    def _start(self) -> Any:
        tracing = self.tracing
        event = self.event
        parent = tracing._parent(event)
        waited = time.monotonic() - event.received_at
        span = tracing.tracer.start_span(
            tracing.span_name(event),
            context=parent,
            kind=tracing._server,
            start_time=time.time_ns() - int(waited * 1e9),
        )
        self.span = span
        if not span.get_span_context().is_valid:
            # The no-op provider: nothing to record, but a client's trace is
            # still made current, so instrumented calls the handler makes carry it on.
            if parent is not None:
                self.token = tracing._context.attach(parent)
                self.active_token = tracing._active.set(None)
            return span
        if span.is_recording():
            span.set_attributes(tracing._attributes(event, "process"))
        self.token = tracing._context.attach(tracing._trace.set_span_in_context(span, parent))
        self.active_token = tracing._active.set(span)
        return span

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        tracing = self.tracing
        span = self.span
        if span is None:
            return
        try:
            if self.token is not None:
                tracing._active.reset(self.active_token)
                tracing._context.detach(self.token)
            if error is not None and span.is_recording():
                span.record_exception(error)
                span.set_status(tracing._status(tracing._error, type(error).__name__))
            span.end()
        except Exception:
            _log.exception("Tracing could not end the span of %r", self.event)


def _package_version() -> str | None:
    try:
        return importlib.metadata.version("flask-sockevents")
    except importlib.metadata.PackageNotFoundError:
        return None


def _environ() -> dict[str, Any] | None:
    """The handshake's WSGI environ of the connection being dispatched, if any."""
    return request.environ if has_request_context() else None


def _forget_parent(namespace: str) -> None:
    environ = _environ()
    if environ is not None:
        kept = environ.get(_ENVIRON_KEY)
        if kept is not None:
            kept.pop(namespace, None)


def _auth_carrier(event: Event) -> dict[str, str]:
    """The trace context in a connect's ``auth``, if it is a dict holding one."""
    auth = event.args[0] if event.args else None
    return _carrier(auth) if isinstance(auth, dict) else {}


def _carrier(fields: dict[Any, Any]) -> dict[str, str]:
    """The W3C trace-context fields of ``fields`` that are strings of a sane length."""
    return {
        key: value
        for key in _W3C_FIELDS
        if isinstance(value := fields.get(key), str) and len(value) <= _MAX_CARRIER_VALUE
    }


def _handshake_carrier(environ: dict[str, Any]) -> dict[str, str]:
    """The trace context of the handshake: its headers, else its query string."""
    headers = _carrier({key: environ.get(f"HTTP_{key.upper()}") for key in _W3C_FIELDS})
    if "traceparent" in headers:
        return headers
    query = environ.get("QUERY_STRING", "")
    if "traceparent" not in query:
        return {}
    values = parse_qs(query, max_num_fields=64)
    return _carrier({key: values[key][0] for key in _W3C_FIELDS if key in values})
