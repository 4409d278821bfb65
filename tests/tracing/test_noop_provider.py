"""With no SDK (OpenTelemetry's no-op provider) nothing is recorded, but the client's trace
context is still current in the handler, so instrumented calls it makes carry it on."""

from __future__ import annotations

from flask import Flask
from opentelemetry import trace

from flask_sockevents import SockEvents
from flask_sockevents.listeners import Tracing

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
TRACEPARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"


def current_trace_id() -> int:
    return trace.get_current_span().get_span_context().trace_id


def test_the_clients_trace_context_is_current_in_the_handler() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Tracing(sockevents, tracer_provider=trace.NoOpTracerProvider())
    sockevents.on("chat")(lambda text: current_trace_id())
    client = sockevents.test_client(app, headers={"traceparent": TRACEPARENT})
    assert client.emit("chat", "hi", callback=True) == TRACE_ID
    assert current_trace_id() == 0  # and nothing leaks out of the event


def test_without_a_client_trace_nothing_is_current_in_the_handler() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Tracing(sockevents, tracer_provider=trace.NoOpTracerProvider())
    sockevents.on("chat")(lambda text: current_trace_id())
    client = sockevents.test_client(app)
    assert client.emit("chat", "hi", callback=True) == 0
