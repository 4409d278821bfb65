"""Error handlers: "Getting Started", section "Error Handling"."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from flask import Flask, request

from flask_sockevents import ConnectionRefusedError, SocketIO


@pytest.fixture
def socketio(app: Flask, extension: ModuleType) -> SocketIO:
    """``SocketIO(app)``, of Flask-SocketIO 5.7 and of flask_sockevents: each test runs on both."""
    return extension.SocketIO(app)


def test_on_error_handles_the_default_namespace_and_its_return_value_is_the_ack(
    app: Flask, socketio: SocketIO
) -> None:
    errors: list[BaseException] = []

    @socketio.on("my error event")
    def on_my_event(data: Any) -> None:
        raise ValueError("bad data: " + str(data))

    @socketio.on_error()
    def error_handler(e: BaseException) -> str:
        errors.append(e)
        return "error"

    client = socketio.test_client(app)

    assert client.emit("my error event", 1, callback=True) == "error"
    assert [type(e) for e in errors] == [ValueError]
    assert str(errors[0]) == "bad data: 1"
    assert client.is_connected()


def test_on_error_with_a_namespace_handles_only_that_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("fail", namespace="/chat")
    def fail_chat() -> None:
        raise RuntimeError("chat failure")

    @socketio.on("fail")
    def fail_root() -> None:
        raise RuntimeError("root failure")

    @socketio.on_error("/chat")
    def error_handler_chat(e: BaseException) -> str:
        return "chat handler saw " + str(e)

    @socketio.on_error()
    def error_handler(e: BaseException) -> str:
        return "root handler saw " + str(e)

    client = socketio.test_client(app)
    client.connect(namespace="/chat")

    assert client.emit("fail", callback=True) == "root handler saw root failure"
    assert client.emit("fail", namespace="/chat", callback=True) == "chat handler saw chat failure"


def test_on_error_default_handles_namespaces_without_an_explicit_error_handler(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("fail", namespace="/chat")
    def fail_chat() -> None:
        raise RuntimeError("chat failure")

    @socketio.on("fail", namespace="/game")
    def fail_game() -> None:
        raise RuntimeError("game failure")

    @socketio.on_error("/chat")
    def error_handler_chat(e: BaseException) -> str:
        return "chat"

    @socketio.on_error_default
    def default_error_handler(e: BaseException) -> str:
        return "default"

    client = socketio.test_client(app, namespace="/chat")
    client.connect(namespace="/game")

    assert client.emit("fail", namespace="/chat", callback=True) == "chat"
    assert client.emit("fail", namespace="/game", callback=True) == "default"


def test_on_error_default_also_handles_the_default_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("fail")
    def fail() -> None:
        raise KeyError("missing")

    @socketio.on_error_default
    def default_error_handler(e: BaseException) -> str:
        return type(e).__name__

    client = socketio.test_client(app)

    assert client.emit("fail", callback=True) == "KeyError"


def test_request_event_is_available_in_the_error_handler(app: Flask, socketio: SocketIO) -> None:
    seen: list[Any] = []

    @socketio.on("my error event")
    def on_my_event(data: Any) -> None:
        raise RuntimeError()

    @socketio.on_error_default
    def default_error_handler(e: BaseException) -> None:
        seen.append((request.event["message"], request.event["args"], request.namespace))

    client = socketio.test_client(app)
    client.emit("my error event", {"x": 1})

    assert seen == [("my error event", ({"x": 1},), "/")]


def test_request_sid_is_available_in_the_error_handler(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    @socketio.on("fail")
    def fail() -> None:
        raise RuntimeError()

    @socketio.on_error()
    def error_handler(e: BaseException) -> str:
        return request.sid

    client = socketio.test_client(app)

    assert client.emit("fail", callback=True) == client.emit("whoami", callback=True)


def test_error_handler_returning_nothing_acks_without_arguments(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("fail")
    def fail() -> None:
        raise RuntimeError()

    @socketio.on_error()
    def error_handler(e: BaseException) -> None:
        pass

    client = socketio.test_client(app)

    assert client.emit("fail", callback=True) == []


def test_connection_refused_error_bypasses_the_error_handlers(
    app: Flask, socketio: SocketIO
) -> None:
    handled: list[BaseException] = []

    @socketio.on("connect")
    def connect() -> None:
        raise ConnectionRefusedError("unauthorized!")

    @socketio.on_error_default
    def default_error_handler(e: BaseException) -> None:
        handled.append(e)

    client = socketio.test_client(app)

    assert not client.is_connected()
    assert handled == []


def test_error_handler_decorators_return_the_function(socketio: SocketIO) -> None:
    def handler(e: BaseException) -> None:
        pass

    assert socketio.on_error()(handler) is handler
    assert socketio.on_error("/chat")(handler) is handler
    assert socketio.on_error_default(handler) is handler
