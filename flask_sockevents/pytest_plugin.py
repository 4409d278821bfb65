"""pytest fixtures for apps built on flask_sockevents (registered as the ``sockevents`` plugin).

Define an ``app`` fixture returning your Flask app (with ``SockEvents``
attached); then use:

- ``socketio_client``: an in-process :class:`~flask_sockevents.testing.SocketIOTestClient`;
- ``signal_recorder``: a :class:`~flask_sockevents.testing.SignalRecord` of every bus signal;
- ``sockevents_live_server``: the app served under gevent on an ephemeral
  loopback port (``.url``), for real clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import LiveServer, SignalRecord, SocketIOTestClient, record_signals


def _extension(app: Any) -> Any:
    try:
        return app.extensions["sockevents"]
    except KeyError:
        raise pytest.UsageError("the `app` fixture's app has no SockEvents extension") from None


@pytest.fixture
def socketio_client(app: Any) -> Iterator[SocketIOTestClient]:
    """An in-process Socket.IO client connected to ``app``."""
    client = _extension(app).test_client(app)
    yield client
    if client.is_connected():
        client.disconnect()


@pytest.fixture
def signal_recorder() -> Iterator[SignalRecord]:
    """Every bus signal sent during the test, in order."""
    with record_signals() as record:
        yield record


@pytest.fixture
def sockevents_live_server(app: Any) -> Iterator[LiveServer]:
    """``app`` served under gevent on 127.0.0.1 and an ephemeral port."""
    with LiveServer(app) as server:
        yield server
