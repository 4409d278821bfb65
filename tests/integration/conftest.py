"""Fixtures for the integration tests: real apps, served under gevent, driven by real clients.

Each test builds its own Flask app and :class:`~flask_sockevents.SockEvents`
with ``make_app``, registers what it needs, serves it with ``serve`` (a
:class:`~flask_sockevents.testing.LiveServer` on 127.0.0.1 and an ephemeral
port) and talks to it with python-socketio's threaded client from ``clients``,
over the transport of the ``transports`` parameter. Everything a test opens is
closed in teardown: clients first, then servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.testing import LiveServer

from ._support import TIMEOUT, BusLog, InOrderClient, open_raw_websocket

AppFactory = Callable[..., tuple[Flask, SockEvents]]


@pytest.fixture(params=[["websocket"], ["polling"]], ids=["websocket", "polling"])
def transports(request: pytest.FixtureRequest) -> list[str]:
    """The transport the clients of a test use: each test runs over both."""
    return list(request.param)


@pytest.fixture
def make_app() -> AppFactory:
    """Build ``(app, sockevents)``: a fresh Flask app with SockEvents and ``options``.

    The server pings every second (``ping_interval=1``) unless told otherwise,
    so a long-polling request never stays open for long: python-engineio's
    client sometimes ends its write loop before sending CLOSE, and then waits
    for its pending GET to return before its ``disconnect()`` does.
    """

    def build(**options: Any) -> tuple[Flask, SockEvents]:
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "integration"
        options.setdefault("ping_interval", 1)
        return app, SockEvents(app, **options)

    return build


@pytest.fixture
def bus_log() -> BusLog:
    """A listener to attach with ``sockevents.listen("*", namespace="*")(bus_log)``."""
    return BusLog()


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], LiveServer]]:
    """Serve an app on 127.0.0.1 and an ephemeral port until the test ends."""
    servers: list[LiveServer] = []

    def start(app: Flask) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


class Clients:
    """Makes python-socketio clients for a test and disconnects them all at its end.

    :param transports: the transports every client connects with.
    """

    def __init__(self, transports: list[str]) -> None:
        self.transports = transports
        self.made: list[InOrderClient] = []

    def new(self) -> InOrderClient:
        """A client that is not connected yet (to register handlers first)."""
        client = InOrderClient(reconnection=False)
        self.made.append(client)
        return client

    def connect(
        self, url: str, client: InOrderClient | None = None, **options: Any
    ) -> InOrderClient:
        """Connect ``client`` (or a new one) to ``url``; ``options`` go to ``Client.connect``."""
        client = client or self.new()
        options.setdefault("transports", self.transports)
        options.setdefault("wait_timeout", TIMEOUT)
        client.connect(url, **options)
        return client

    def close_all(self) -> None:
        """Disconnect every client."""
        for client in self.made:
            client.shutdown()


@pytest.fixture
def raw_websockets(
    serve: Callable[[Flask], LiveServer],
) -> Iterator[Callable[[str], websocket.WebSocket]]:
    """Open raw Engine.IO websockets (past the open packet), closed at the end of the test."""
    opened: list[websocket.WebSocket] = []

    def open_one(url: str) -> websocket.WebSocket:
        ws = open_raw_websocket(url)
        opened.append(ws)
        return ws

    yield open_one
    for ws in opened:
        ws.close(timeout=1)


@pytest.fixture
def clients(
    serve: Callable[[Flask], LiveServer], transports: list[str]
) -> Iterator[Clients]:
    """Real clients over the test's transport, disconnected before the servers stop."""
    made = Clients(transports)
    yield made
    made.close_all()
