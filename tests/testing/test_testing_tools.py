"""The testing tools: in-process client, record_signals, live server, pytest plugin."""

from __future__ import annotations

import pytest
import socketio
from flask import Flask

from flask_sockevents import Event, Outcome, SockEvents, call
from flask_sockevents.testing import LiveServer, record_signals


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    sockevents = SockEvents(app)

    @sockevents.on("echo")
    def echo(value: object) -> object:
        return value

    @sockevents.on("ask")
    def ask(question: str) -> object:
        return call("question", question, timeout=2)

    @sockevents.on("boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return app


def test_socketio_client_fixture_is_connected_and_gets_acks(socketio_client) -> None:
    assert socketio_client.is_connected()
    assert socketio_client.emit("echo", {"n": 1}, callback=True) == {"n": 1}


def test_test_client_answers_a_server_call_from_a_handler(app: Flask) -> None:
    client = app.extensions["sockevents"].test_client(app)
    client.on("question", lambda text: text.upper())

    assert client.emit("ask", "why", callback=True) == "WHY"
    assert client.get_received() == [{"name": "question", "args": ["why"], "namespace": "/"}]


def test_signal_recorder_fixture_sees_each_signal_in_order(
    socketio_client, signal_recorder
) -> None:
    socketio_client.emit("echo", 1)
    with pytest.raises(RuntimeError, match="boom"):  # no error handler: the client raises it
        socketio_client.emit("boom")

    assert signal_recorder.names() == [
        "event_received",
        "event_handled",
        "event_received",
        "event_failed",
    ]
    [failed] = signal_recorder.events("event_failed")
    assert isinstance(failed, Event)
    assert failed.outcome is Outcome.FAILED
    assert isinstance(failed.error, RuntimeError)


def test_record_signals_filters_by_sender(app: Flask) -> None:
    other = Flask("other")
    client = app.extensions["sockevents"].test_client(app)
    with record_signals(other) as for_other, record_signals(app) as for_app:
        client.emit("echo", 1)

    assert len(for_other) == 0
    assert for_app.names() == ["event_received", "event_handled"]


def test_record_signals_stops_recording_when_the_block_ends(app: Flask) -> None:
    client = app.extensions["sockevents"].test_client(app)
    with record_signals() as record:
        client.emit("echo", 1)
    client.emit("echo", 2)

    assert len(record) == 2


def test_live_server_fixture_serves_real_clients(sockevents_live_server) -> None:
    client = socketio.Client()
    client.connect(sockevents_live_server.url, transports=["websocket"])
    try:
        assert client.call("echo", "over the wire", timeout=5) == "over the wire"
    finally:
        client.disconnect()


def test_live_server_refuses_connections_once_stopped(app: Flask) -> None:
    server = LiveServer(app).start()
    url = server.url
    server.stop()

    client = socketio.Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, transports=["websocket"], wait_timeout=2)
