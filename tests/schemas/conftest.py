"""Fixtures for the schema tests: apps under gevent, python-socketio clients over websocket."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import socketio
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.testing import LiveServer

TIMEOUT = 5.0


@pytest.fixture
def app_and_sockevents() -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "schemas"
    return app, SockEvents(app, ping_interval=0.25)


@pytest.fixture
def app(app_and_sockevents: tuple[Flask, SockEvents]) -> Flask:
    return app_and_sockevents[0]


@pytest.fixture
def sockevents(app_and_sockevents: tuple[Flask, SockEvents]) -> SockEvents:
    return app_and_sockevents[1]


@pytest.fixture
def connect(app: Flask) -> Iterator[Callable[..., socketio.Client]]:
    """Serve ``app`` (once) and connect a python-socketio client to it over websocket."""
    servers: list[LiveServer] = []
    made: list[socketio.Client] = []

    def connect_client(client: socketio.Client | None = None, **options: object) -> socketio.Client:
        if not servers:
            servers.append(LiveServer(app).start())
        client = client or socketio.Client(reconnection=False)
        made.append(client)
        client.connect(servers[0].url, transports=["websocket"], wait_timeout=TIMEOUT, **options)
        return client

    yield connect_client
    for client in made:
        client.shutdown()
    for server in servers:
        server.stop()
