"""A test client and a live server of one app, at the same time (the plugin's two fixtures)."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from flask import Flask

from flask_sockevents import SockEvents, emit
from flask_sockevents.testing import LiveServer, wait_for


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    sockevents = SockEvents(app)

    @sockevents.on("echo")
    def echo(value: Any) -> Any:
        return value

    @sockevents.on("shout")
    def shout(text: str) -> None:
        emit("heard", text, broadcast=True)

    return app


def _network_client(url: str, heard: list[Any]) -> socketio.Client:
    client = socketio.Client()
    client.on("heard", heard.append)
    client.connect(url, transports=["websocket"])
    return client


def test_each_client_gets_its_own_answers_and_a_broadcast_reaches_both(
    socketio_client: Any, sockevents_live_server: LiveServer
) -> None:
    heard_over_the_wire: list[Any] = []
    network = _network_client(sockevents_live_server.url, heard_over_the_wire)
    try:
        assert socketio_client.emit("echo", "in-process", callback=True) == "in-process"
        assert network.call("echo", "over the wire", timeout=5) == "over the wire"

        network.emit("shout", "from the network")
        socketio_client.emit("shout", "from the test client")

        wait_for(lambda: len(heard_over_the_wire) == 2, message=str(heard_over_the_wire))
        received: list[Any] = []
        wait_for(lambda: received.extend(socketio_client.get_received()) or len(received) == 2)
    finally:
        network.disconnect()

    assert sorted(heard_over_the_wire) == ["from the network", "from the test client"]
    assert sorted(item["args"][0] for item in received) == [
        "from the network",
        "from the test client",
    ]
    assert {item["name"] for item in received} == {"heard"}


def test_a_test_client_made_while_the_server_is_live_leaves_network_clients_answered(
    app: Flask, sockevents_live_server: LiveServer
) -> None:
    network = _network_client(sockevents_live_server.url, [])
    try:
        test_client = app.extensions["sockevents"].test_client(app)
        assert test_client.emit("echo", 1, callback=True) == 1
        assert network.call("echo", 2, timeout=5) == 2
        assert test_client.emit("echo", 3, callback=True) == 3
    finally:
        network.disconnect()
