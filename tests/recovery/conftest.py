"""Fixtures for the connection state recovery tests: live servers, stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from flask_sockevents.testing import LiveServer

#: ``serve(app) -> LiveServer``: ``app`` served on 127.0.0.1 until the test ends.
Serve = Callable[[Flask], LiveServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve an app on 127.0.0.1 and an ephemeral port until the test ends."""
    servers: list[LiveServer] = []

    def start(app: Flask) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
