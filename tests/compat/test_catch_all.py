"""Catch-all handlers: an event name or a namespace of ``'*'``.

Flask-SocketIO inherits these from python-socketio ("Catch-All Event Handlers"
and "Catch-All Namespaces" in its server documentation), minus the ``sid``
argument: the namespace of a catch-all namespace handler is ``request.namespace``.
"""

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


def test_catch_all_event_handler_receives_the_event_name_first(
    app: Flask, socketio: SocketIO
) -> None:
    caught: list[tuple[str, Any]] = []

    @socketio.on("*")
    def catch_all(event: str, data: Any) -> None:
        caught.append((event, data))

    client = socketio.test_client(app)
    client.emit("first", 1)
    client.emit("second", {"a": "b"})

    assert caught == [("first", 1), ("second", {"a": "b"})]


def test_catch_all_event_handler_return_value_is_the_ack(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("*")
    def catch_all(event: str, *args: Any) -> list[Any]:
        return [event, *args]

    client = socketio.test_client(app)

    assert client.emit("anything", 1, 2, callback=True) == ["anything", 1, 2]


def test_catch_all_event_handler_can_reply_to_the_sender(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("*")
    def catch_all(event: str, data: Any) -> None:
        extension.emit("caught", event)

    client = socketio.test_client(app)
    client.emit("surprise", None)

    assert client.get_received() == [{"name": "caught", "args": ["surprise"], "namespace": "/"}]


def test_specific_handler_takes_precedence_over_the_catch_all(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("*")
    def catch_all(event: str, data: Any) -> str:
        return "catch-all"

    @socketio.on("known")
    def known(data: Any) -> str:
        return "specific"

    client = socketio.test_client(app)

    assert client.emit("known", 1, callback=True) == "specific"
    assert client.emit("unknown", 1, callback=True) == "catch-all"


def test_catch_all_event_handler_is_not_invoked_for_connect_and_disconnect(
    app: Flask, socketio: SocketIO
) -> None:
    caught: list[str] = []

    @socketio.on("*")
    def catch_all(event: str, *args: Any) -> None:
        caught.append(event)

    client = socketio.test_client(app)
    client.emit("ordinary", 1)
    client.disconnect()

    assert client.is_connected() is False
    assert caught == ["ordinary"]


def test_catch_all_event_handler_is_scoped_to_its_namespace(app: Flask, socketio: SocketIO) -> None:
    caught: list[tuple[str, str]] = []

    @socketio.on("*", namespace="/chat")
    def catch_all_chat(event: str, data: Any) -> None:
        caught.append((request.namespace, event))

    @socketio.on("connect")
    def connect_root() -> None:
        pass

    client = socketio.test_client(app, namespace="/chat")
    client.connect()
    client.emit("in chat", 1, namespace="/chat")
    client.emit("in root", 2)

    assert caught == [("/chat", "in chat")]


def test_catch_all_namespace_handler_runs_for_namespaces_without_their_own_handler(
    app: Flask,
) -> None:
    socketio = SocketIO(app, namespaces="*")
    caught: list[tuple[str, Any]] = []

    @socketio.on("my_event", namespace="*")
    def my_event_any_namespace(data: Any) -> None:
        caught.append((request.namespace, data))

    @socketio.on("my_event", namespace="/own")
    def my_event_own(data: Any) -> None:
        caught.append(("own handler", data))

    client = socketio.test_client(app, namespace="/rooms/42")
    client.connect(namespace="/own")
    client.emit("my_event", "a", namespace="/rooms/42")
    client.emit("my_event", "b", namespace="/own")

    assert caught == [("/rooms/42", "a"), ("own handler", "b")]


def test_catch_all_namespace_handler_return_value_is_the_ack(app: Flask) -> None:
    socketio = SocketIO(app, namespaces="*")

    @socketio.on("where", namespace="*")
    def where() -> str:
        return request.namespace

    client = socketio.test_client(app, namespace="/dynamic")

    assert client.emit("where", namespace="/dynamic", callback=True) == "/dynamic"


def test_connect_and_disconnect_handlers_on_the_catch_all_namespace(app: Flask) -> None:
    socketio = SocketIO(app, namespaces="*")
    lifecycle: list[tuple[str, str, Any]] = []

    @socketio.on("connect", namespace="*")
    def connect_any(auth: Any) -> None:
        lifecycle.append(("connect", request.namespace, auth))

    @socketio.on("disconnect", namespace="*")
    def disconnect_any(reason: str) -> None:
        lifecycle.append(("disconnect", request.namespace, reason))

    client = socketio.test_client(app, namespace="/rooms/7", auth={"key": "k"})
    client.disconnect(namespace="/rooms/7")

    assert lifecycle == [
        ("connect", "/rooms/7", {"key": "k"}),
        ("disconnect", "/rooms/7", SocketIO.reason.CLIENT_DISCONNECT),
    ]
