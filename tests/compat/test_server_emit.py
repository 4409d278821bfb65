"""Server-originated messages: ``socketio.emit`` and ``socketio.send`` outside a client context."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from flask import Flask, request

from flask_sockevents import SocketIO


@pytest.fixture
def socketio(app: Flask, extension: ModuleType) -> SocketIO:
    """``SocketIO(app)``, of Flask-SocketIO 5.7 and of flask_sockevents: each test runs on both."""
    return extension.SocketIO(app)


def _listeners(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("connect", namespace="/chat")
    def connect_chat() -> None:
        pass


def test_socketio_emit_outside_a_handler_broadcasts_to_the_global_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    _listeners(app, socketio)
    first = socketio.test_client(app)
    second = socketio.test_client(app)
    chat_only = socketio.test_client(app, namespace="/chat")

    def some_function() -> None:
        socketio.emit("some event", {"data": 42})

    some_function()

    expected = [{"name": "some event", "args": [{"data": 42}], "namespace": "/"}]
    assert first.get_received() == expected
    assert second.get_received() == expected
    assert chat_only.get_received("/chat") == []


def test_socketio_emit_from_an_http_view_reaches_clients_of_the_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    _listeners(app, socketio)

    @app.route("/ping")
    def ping() -> str:
        socketio.emit("ping event", {"data": 42}, namespace="/chat")
        return "pinged"

    chat = socketio.test_client(app, namespace="/chat")
    root = socketio.test_client(app)
    response = app.test_client().get("/ping")

    assert response.get_data(as_text=True) == "pinged"
    assert chat.get_received("/chat") == [
        {"name": "ping event", "args": [{"data": 42}], "namespace": "/chat"}
    ]
    assert root.get_received() == []


def test_socketio_emit_with_to_reaches_a_room_or_a_single_client(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> str:
        extension.join_room(room)
        return request.sid

    member = socketio.test_client(app)
    loner = socketio.test_client(app)
    member.emit("join", "lobby")
    loner_sid = loner.emit("join", "attic", callback=True)

    socketio.emit("room news", "for the lobby", to="lobby")
    socketio.emit("direct", "for the loner", to=loner_sid)

    assert member.get_received() == [
        {"name": "room news", "args": ["for the lobby"], "namespace": "/"}
    ]
    assert loner.get_received() == [{"name": "direct", "args": ["for the loner"], "namespace": "/"}]


def test_socketio_emit_with_skip_sid_skips_that_client(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    skipped = socketio.test_client(app)
    other = socketio.test_client(app)
    socketio.emit("news", "not for all", skip_sid=skipped.emit("whoami", callback=True))

    assert skipped.get_received() == []
    assert other.get_received() == [{"name": "news", "args": ["not for all"], "namespace": "/"}]


def test_socketio_emit_with_a_tuple_sends_multiple_arguments(
    app: Flask, socketio: SocketIO
) -> None:
    client = socketio.test_client(app)
    socketio.emit("pair", ("left", "right"))

    assert client.get_received() == [{"name": "pair", "args": ["left", "right"], "namespace": "/"}]


def test_socketio_send_outside_a_handler_sends_text_and_json_messages(
    app: Flask, socketio: SocketIO
) -> None:
    client = socketio.test_client(app)
    socketio.send("plain text")
    socketio.send({"a": "b"}, json=True)

    assert client.get_received() == [
        {"name": "message", "args": "plain text", "namespace": "/"},
        {"name": "json", "args": {"a": "b"}, "namespace": "/"},
    ]


def test_socketio_emit_inside_a_handler_is_context_free_and_broadcasts(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(data: Any) -> None:
        socketio.emit("everyone", data)

    sender = socketio.test_client(app)
    peer = socketio.test_client(app)
    sender.emit("my event", "hi")

    expected = [{"name": "everyone", "args": ["hi"], "namespace": "/"}]
    assert sender.get_received() == expected
    assert peer.get_received() == expected


def test_background_task_can_emit_to_clients(app: Flask, socketio: SocketIO) -> None:
    client = socketio.test_client(app)

    def background_task(count: int) -> None:
        for n in range(count):
            socketio.emit("tick", n)
            socketio.sleep(0)

    socketio.start_background_task(background_task, 3).join()

    assert [p["args"] for p in client.get_received()] == [[0], [1], [2]]
