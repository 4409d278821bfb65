"""Acknowledgements: the handler's return value is the client's callback arguments."""

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


def test_return_value_of_the_handler_is_the_ack(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> dict[str, Any]:
        return {"received": json}

    client = socketio.test_client(app)

    assert client.emit("my event", {"a": 1}, callback=True) == {"received": {"a": 1}}


def test_returning_a_tuple_acks_with_multiple_arguments(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> tuple[str, int]:
        return "one", 2

    client = socketio.test_client(app)

    assert client.emit("my event", {}, callback=True) == ["one", 2]


def test_returned_tuple_is_unpacked_into_the_ack_arguments(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("as tuple")
    def as_tuple() -> tuple[str]:
        return ("only",)

    @socketio.on("as list")
    def as_list() -> list[str]:
        return ["only"]

    client = socketio.test_client(app)

    assert client.emit("as tuple", callback=True) == "only"
    assert client.emit("as list", callback=True) == ["only"]


def test_handler_returning_nothing_acks_without_arguments(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> None:
        pass

    client = socketio.test_client(app)

    assert client.emit("my event", {}, callback=True) == []


def test_no_ack_is_returned_when_the_client_does_not_ask_for_one(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("my event")
    def handle_my_custom_event(json: dict[str, Any]) -> str:
        return "unasked"

    client = socketio.test_client(app)

    assert client.emit("my event", {}) is None


def test_message_and_json_handlers_ack_through_send_callback(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("message")
    def handle_message(message: str) -> str:
        return message.upper()

    @socketio.on("json")
    def handle_json(json: dict[str, Any]) -> dict[str, Any]:
        return {**json, "seen": True}

    client = socketio.test_client(app)

    assert client.send("hello", callback=True) == "HELLO"
    assert client.send({"a": 1}, json=True, callback=True) == {"a": 1, "seen": True}


def test_ack_carries_the_value_at_return_time_after_an_emit_of_the_same_object(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("changing response")
    def on_changing_response() -> dict[str, str]:
        data = {"foo": "bar"}
        extension.emit("my custom response", data)
        data["foo"] = "baz"
        return data

    client = socketio.test_client(app)
    ack = client.emit("changing response", callback=True)

    assert client.get_received()[0]["args"] == [{"foo": "bar"}]
    assert ack == {"foo": "baz"}


def test_ack_in_a_namespace(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("ping", namespace="/chat")
    def ping(n: int) -> int:
        return n + 1

    client = socketio.test_client(app, namespace="/chat")

    assert client.emit("ping", 41, namespace="/chat", callback=True) == 42
