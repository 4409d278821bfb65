"""Ways to register a handler: ``on``, ``event``, ``on_event``, and namespaces."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from flask_sockevents import SocketIO


@pytest.fixture
def socketio(app: Flask, extension: ModuleType) -> SocketIO:
    """``SocketIO(app)``, of Flask-SocketIO 5.7 and of flask_sockevents: each test runs on both."""
    return extension.SocketIO(app)


def test_on_with_namespace_handles_events_of_that_namespace_only(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("my event", namespace="/test")
    def handle_my_custom_namespace_event(json: dict[str, Any]) -> str:
        return "test namespace"

    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> str:
        return "default namespace"

    client = socketio.test_client(app)
    client.connect(namespace="/test")

    assert client.emit("my event", {}, callback=True) == "default namespace"
    assert client.emit("my event", {}, namespace="/test", callback=True) == "test namespace"


def test_event_decorator_takes_the_event_name_from_the_function(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.event
    def my_custom_event(arg1: str, arg2: str, arg3: str) -> str:
        return arg1 + arg2 + arg3

    client = socketio.test_client(app)

    assert client.emit("my_custom_event", "a", "b", "c", callback=True) == "abc"


def test_event_decorator_accepts_a_namespace(app: Flask, socketio: SocketIO) -> None:
    @socketio.event(namespace="/test")
    def my_event(data: str) -> str:
        return "test got " + data

    client = socketio.test_client(app, namespace="/test")

    assert client.emit("my_event", "x", namespace="/test", callback=True) == "test got x"


def test_event_decorator_named_connect_is_the_connect_handler(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.event(namespace="/test")
    def connect() -> None:
        extension.emit("welcome", "to /test")

    client = socketio.test_client(app, namespace="/test")

    assert client.get_received("/test") == [
        {"name": "welcome", "args": ["to /test"], "namespace": "/test"}
    ]


def test_on_event_registers_a_handler_without_a_decorator(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    def my_function_handler(data: dict[str, Any]) -> None:
        extension.emit("my response", data)

    socketio.on_event("my event", my_function_handler, namespace="/test")
    client = socketio.test_client(app, namespace="/test")
    client.emit("my event", {"a": "b"}, namespace="/test")

    assert client.get_received("/test") == [
        {"name": "my response", "args": [{"a": "b"}], "namespace": "/test"}
    ]


def test_on_event_defaults_to_the_global_namespace(app: Flask, socketio: SocketIO) -> None:
    def my_function_handler(data: str) -> str:
        return data * 2

    socketio.on_event("my event", my_function_handler)
    client = socketio.test_client(app)

    assert client.emit("my event", "ab", callback=True) == "abab"


def test_one_function_can_handle_several_events(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("other custom event")
    @socketio.on("and another custom event")
    def get_request_event(data: str) -> str:
        return "handled " + data

    client = socketio.test_client(app)

    assert client.emit("other custom event", "one", callback=True) == "handled one"
    assert client.emit("and another custom event", "two", callback=True) == "handled two"


def test_decorators_return_the_function_unchanged(socketio: SocketIO) -> None:
    def handler(data: str) -> str:
        return data

    assert socketio.on("my event")(handler) is handler
    assert socketio.event(handler) is handler


def test_handlers_registered_before_init_app_are_active(app: Flask) -> None:
    socketio = SocketIO()

    @socketio.on("my event")
    def handle_my_custom_event(data: str) -> str:
        return "late " + data

    socketio.init_app(app)
    client = socketio.test_client(app)

    assert client.emit("my event", "init", callback=True) == "late init"


def test_events_without_a_handler_are_ignored(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("known")
    def known() -> str:
        return "ok"

    client = socketio.test_client(app)
    client.emit("unknown event", {"a": 1})

    assert client.is_connected()
    assert client.get_received() == []
    assert client.emit("known", callback=True) == "ok"
