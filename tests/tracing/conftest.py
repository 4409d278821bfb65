"""Fixtures for the tracing tests: OpenTelemetry's SDK with an in-memory exporter, a live app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import socketio
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flask_sockevents import SockEvents, testing
from flask_sockevents.listeners import Tracing
from flask_sockevents.testing import LiveServer

TIMEOUT = 5.0


class Spans:
    """The spans the app finished, exported in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def wait_for(self, name: str, count: int = 1) -> list[ReadableSpan]:
        """The spans called ``name``, once there are ``count`` of them."""
        return list(
            testing.wait_for(
                lambda: len(self.named(name)) >= count and self.named(name),
                timeout=TIMEOUT,
                message=f"{count} span(s) {name!r}; have {[s.name for s in self.all()]}",
            )
        )


@pytest.fixture
def spans() -> Spans:
    return Spans()


@pytest.fixture
def app_and_sockevents(spans: Spans) -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "tracing"
    sockevents = SockEvents(app, ping_interval=0.25)
    Tracing(sockevents, tracer_provider=spans.provider)
    return app, sockevents


@pytest.fixture
def app(app_and_sockevents: tuple[Flask, SockEvents]) -> Flask:
    return app_and_sockevents[0]


@pytest.fixture
def sockevents(app_and_sockevents: tuple[Flask, SockEvents]) -> SockEvents:
    return app_and_sockevents[1]


@pytest.fixture
def live(app: Flask) -> Iterator[Callable[[], LiveServer]]:
    """Serve ``app`` on first use, until the test ends."""
    servers: list[LiveServer] = []

    def start() -> LiveServer:
        if not servers:
            servers.append(LiveServer(app).start())
        return servers[0]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def connect(live: Callable[[], LiveServer]) -> Iterator[Callable[..., socketio.Client]]:
    """Connect a python-socketio client over websocket; ``url_suffix`` goes after the URL."""
    made: list[socketio.Client] = []

    def connect_client(url_suffix: str = "", **options: object) -> socketio.Client:
        client = socketio.Client(reconnection=False)
        made.append(client)
        client.connect(
            live().url + url_suffix, transports=["websocket"], wait_timeout=TIMEOUT, **options
        )
        return client

    yield connect_client
    for client in made:
        client.shutdown()
