"""Receiving and sending messages: "Getting Started", sections "Receiving Messages",
"Sending Messages" and "Broadcasting"."""

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


def test_unnamed_message_event_receives_a_string_and_send_echoes_it(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("message")
    def handle_message(message: str) -> None:
        extension.send(message)

    client = socketio.test_client(app)
    client.send("hello")

    assert client.get_received() == [{"name": "message", "args": "hello", "namespace": "/"}]


def test_unnamed_json_event_receives_a_dict_and_send_json_echoes_it(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("json")
    def handle_json(json: dict[str, Any]) -> None:
        extension.send(json, json=True)

    client = socketio.test_client(app)
    client.send({"a": "b"}, json=True)

    assert client.get_received() == [{"name": "json", "args": {"a": "b"}, "namespace": "/"}]


def test_custom_named_event_receives_json_and_emit_replies_to_the_sender(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> None:
        extension.emit("my response", json)

    sender = socketio.test_client(app)
    bystander = socketio.test_client(app)
    sender.emit("my event", {"data": 42})

    assert sender.get_received() == [
        {"name": "my response", "args": [{"data": 42}], "namespace": "/"}
    ]
    assert bystander.get_received() == []


def test_custom_named_event_receives_multiple_arguments(app: Flask, socketio: SocketIO) -> None:
    received: list[tuple[Any, ...]] = []

    @socketio.on("my_event")
    def handle_my_custom_event(arg1: str, arg2: int, arg3: list[int]) -> None:
        received.append((arg1, arg2, arg3))

    client = socketio.test_client(app)
    client.emit("my_event", "one", 2, [3])

    assert received == [("one", 2, [3])]


def test_event_data_may_be_string_bytes_int_or_json(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("echo")
    def echo(data: Any) -> None:
        extension.emit("echo", data)

    client = socketio.test_client(app)
    for data in ("text", b"\x00\x01\xff", 7, {"nested": [1, {"x": None}]}):
        client.emit("echo", data)

    assert [packet["args"] for packet in client.get_received()] == [
        ["text"],
        [b"\x00\x01\xff"],
        [7],
        [{"nested": [1, {"x": None}]}],
    ]


def test_emit_with_a_tuple_sends_multiple_arguments(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> None:
        extension.emit("my response", ("foo", "bar", json))

    client = socketio.test_client(app)
    client.emit("my event", {"a": 1})

    assert client.get_received() == [
        {"name": "my response", "args": ["foo", "bar", {"a": 1}], "namespace": "/"}
    ]


def test_send_and_emit_default_to_the_namespace_of_the_incoming_event(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("my event", namespace="/chat")
    def handle_my_custom_event(data: str) -> None:
        extension.emit("my response", data)
        extension.send(data)

    client = socketio.test_client(app, namespace="/chat")
    client.emit("my event", "hi", namespace="/chat")

    assert client.get_received("/chat") == [
        {"name": "my response", "args": ["hi"], "namespace": "/chat"},
        {"name": "message", "args": "hi", "namespace": "/chat"},
    ]


def test_broadcast_with_an_explicit_namespace_reaches_the_clients_of_that_namespace(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("message")
    def handle_message(message: str) -> None:
        extension.send(message, namespace="/chat", broadcast=True)

    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> None:
        extension.emit("my response", json, namespace="/chat", broadcast=True)

    @socketio.on("connect", namespace="/chat")
    def connect_chat() -> None:
        pass

    sender = socketio.test_client(app)
    listener = socketio.test_client(app, namespace="/chat")
    sender.send("hello")
    sender.emit("my event", {"a": "b"})

    assert sender.get_received("/") == []
    assert listener.get_received("/chat") == [
        {"name": "message", "args": "hello", "namespace": "/chat"},
        {"name": "my response", "args": [{"a": "b"}], "namespace": "/chat"},
    ]


def test_emit_broadcast_reaches_every_client_in_the_namespace_including_the_sender(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(data: str) -> None:
        extension.emit("my response", data, broadcast=True)

    @socketio.on("connect", namespace="/other")
    def connect_other() -> None:
        pass

    sender = socketio.test_client(app)
    peer = socketio.test_client(app)
    elsewhere = socketio.test_client(app, namespace="/other")
    sender.emit("my event", "hello all")

    expected = [{"name": "my response", "args": ["hello all"], "namespace": "/"}]
    assert sender.get_received() == expected
    assert peer.get_received() == expected
    assert elsewhere.get_received("/other") == []


def test_send_broadcast_reaches_every_client_in_the_namespace(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("json")
    def handle_json(json: dict[str, Any]) -> None:
        extension.send(json, json=True, broadcast=True)

    sender = socketio.test_client(app)
    peer = socketio.test_client(app)
    sender.send({"a": "b"}, json=True)

    expected = [{"name": "json", "args": {"a": "b"}, "namespace": "/"}]
    assert sender.get_received() == expected
    assert peer.get_received() == expected


def test_emit_broadcast_with_include_self_false_skips_the_sender(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(data: str) -> None:
        extension.emit("my response", data, broadcast=True, include_self=False)

    sender = socketio.test_client(app)
    peer = socketio.test_client(app)
    sender.emit("my event", "not for me")

    assert sender.get_received() == []
    assert peer.get_received() == [
        {"name": "my response", "args": ["not for me"], "namespace": "/"}
    ]


def test_emit_to_a_session_id_reaches_only_that_client(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    @socketio.on("private message")
    def private_message(to_sid: str, text: str) -> None:
        extension.emit("private", text, to=to_sid)

    sender = socketio.test_client(app)
    recipient = socketio.test_client(app)
    bystander = socketio.test_client(app)
    recipient_sid = recipient.emit("whoami", callback=True)
    sender.emit("private message", recipient_sid, "psst")

    assert recipient.get_received() == [{"name": "private", "args": ["psst"], "namespace": "/"}]
    assert sender.get_received() == []
    assert bystander.get_received() == []


def test_emit_skip_sid_skips_that_client(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("shout")
    def shout(text: str) -> None:
        extension.emit("shouted", text, broadcast=True, skip_sid=request.sid)

    sender = socketio.test_client(app)
    peer = socketio.test_client(app)
    sender.emit("shout", "hey")

    assert sender.get_received() == []
    assert peer.get_received() == [{"name": "shouted", "args": ["hey"], "namespace": "/"}]
