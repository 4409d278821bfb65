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

from ._support import AppFactory, BusLog, Clients, Serve, open_raw_websocket


@pytest.fixture(params=[["websocket"], ["polling"]], ids=["websocket", "polling"])
def transports(request: pytest.FixtureRequest) -> list[str]:
    """The transport the clients of a test use: each test runs over both."""
    return list(request.param)


@pytest.fixture
def make_app() -> AppFactory:
    """Build ``(app, sockevents)``: a fresh Flask app with SockEvents and ``options``.

    The server pings four times a second (``ping_interval=0.25``) unless told otherwise,
    so a long-polling request never stays open for long: python-engineio's
    client sometimes ends its write loop before sending CLOSE, and then waits
    for its pending GET to return before its ``disconnect()`` does.
    """

    def build(**options: Any) -> tuple[Flask, SockEvents]:
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "integration"
        options.setdefault("ping_interval", 0.25)
        return app, SockEvents(app, **options)

    return build


@pytest.fixture
def bus_log() -> BusLog:
    """A listener to attach with ``sockevents.listen("*", namespace="*")(bus_log)``."""
    return BusLog()


@pytest.fixture
def raw_websockets(
    serve: Serve,
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
def clients(serve: Serve, transports: list[str]) -> Iterator[Clients]:
    """Real clients over the test's transport, disconnected before the servers stop."""
    made = Clients(transports)
    yield made
    made.close_all()
