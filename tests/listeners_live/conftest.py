"""Fixtures for the live listener tests: real apps under gevent, real clients over websocket.

Each test builds its Flask app, plugs in the listeners and guards it tests,
serves it with ``serve`` (a :class:`~flask_sockevents.testing.LiveServer` on
127.0.0.1 and an ephemeral port) and talks to it with python-socketio's
client from ``clients``. Clients are disconnected before servers stop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
from flask import Flask

from flask_sockevents.testing import LiveServer

from ._support import TIMEOUT


class Clients:
    """Makes python-socketio clients (websocket transport) and disconnects them at the end."""

    def __init__(self) -> None:
        self.made: list[socketio.Client] = []

    def new(self) -> socketio.Client:
        """A client that is not connected yet (to register handlers first)."""
        client = socketio.Client(reconnection=False)
        self.made.append(client)
        return client

    def connect(
        self, url: str, client: socketio.Client | None = None, **options: Any
    ) -> socketio.Client:
        """Connect ``client`` (or a new one) to ``url``; ``options`` go to ``Client.connect``."""
        client = client or self.new()
        options.setdefault("transports", ["websocket"])
        options.setdefault("wait_timeout", TIMEOUT)
        client.connect(url, **options)
        return client

    def close_all(self) -> None:
        """Disconnect every client."""
        for client in self.made:
            client.shutdown()


@pytest.fixture
def clients(serve: Callable[[Flask], LiveServer]) -> Iterator[Clients]:
    """Real clients, disconnected before the servers of ``serve`` stop."""
    made = Clients()
    yield made
    made.close_all()
