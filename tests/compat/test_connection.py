"""Connection events: Flask-SocketIO "Getting Started", section "Connection Events"."""

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


def test_connect_handler_with_auth_parameter_receives_the_client_auth(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    received: list[Any] = []

    @socketio.on("connect")
    def test_connect(auth: Any) -> None:
        received.append(auth)
        extension.emit("my response", {"data": "Connected"})

    client = socketio.test_client(app, auth={"token": "abc"})

    assert client.is_connected()
    assert received == [{"token": "abc"}]
    assert client.get_received() == [
        {"name": "my response", "args": [{"data": "Connected"}], "namespace": "/"}
    ]


def test_connect_handler_auth_is_none_when_the_client_sends_none(
    app: Flask, socketio: SocketIO
) -> None:
    received: list[Any] = []

    @socketio.on("connect")
    def test_connect(auth: Any) -> None:
        received.append(auth)

    client = socketio.test_client(app)

    assert client.is_connected()
    assert received == [None]


def test_connect_handler_without_auth_parameter_discards_the_client_auth(
    app: Flask, socketio: SocketIO
) -> None:
    calls: list[str] = []

    @socketio.on("connect")
    def test_connect() -> None:
        calls.append("connect")

    client = socketio.test_client(app, auth={"token": "abc"})

    assert client.is_connected()
    assert calls == ["connect"]


def test_connect_handler_sees_query_string_and_headers_in_request(
    app: Flask, socketio: SocketIO
) -> None:
    seen: dict[str, Any] = {}

    @socketio.on("connect")
    def test_connect(auth: Any) -> None:
        seen["token"] = request.args.get("token")
        seen["client"] = request.headers.get("X-Client")

    socketio.test_client(app, query_string="token=t0k3n", headers={"X-Client": "compat"})

    assert seen == {"token": "t0k3n", "client": "compat"}


def test_connect_handler_returning_false_refuses_the_connection(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("connect")
    def test_connect(auth: Any) -> bool:
        return auth == {"password": "open sesame"}

    refused = socketio.test_client(app, auth={"password": "wrong"})
    accepted = socketio.test_client(app, auth={"password": "open sesame"})

    assert not refused.is_connected()
    assert accepted.is_connected()


def test_connect_handler_raising_connection_refused_error_refuses_the_connection(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("connect")
    def connect() -> None:
        if request.args.get("token") != "valid":
            raise ConnectionRefusedError("unauthorized!")

    refused = socketio.test_client(app, query_string="token=forged")
    accepted = socketio.test_client(app, query_string="token=valid")

    assert not refused.is_connected()
    assert accepted.is_connected()


def test_refused_connection_does_not_call_the_disconnect_handler(
    app: Flask, socketio: SocketIO
) -> None:
    disconnects: list[str] = []

    @socketio.on("connect")
    def connect() -> bool:
        return False

    @socketio.on("disconnect")
    def test_disconnect(reason: str) -> None:
        disconnects.append(reason)

    client = socketio.test_client(app)

    assert not client.is_connected()
    assert disconnects == []


def test_disconnect_handler_receives_client_disconnect_reason(
    app: Flask, socketio: SocketIO
) -> None:
    reasons: list[str] = []

    @socketio.on("disconnect")
    def test_disconnect(reason: str) -> None:
        reasons.append(reason)

    client = socketio.test_client(app)
    client.disconnect()

    assert not client.is_connected()
    assert reasons == [SocketIO.reason.CLIENT_DISCONNECT]


def test_disconnect_handler_without_reason_parameter_is_called(
    app: Flask, socketio: SocketIO
) -> None:
    calls: list[str] = []

    @socketio.on("disconnect")
    def test_disconnect() -> None:
        calls.append(request.sid)

    client = socketio.test_client(app)
    client.disconnect()

    assert len(calls) == 1


def test_disconnect_called_in_a_handler_disconnects_that_client_with_server_reason(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    reasons: list[str] = []

    @socketio.on("leave me")
    def leave_me() -> None:
        extension.disconnect()

    @socketio.on("disconnect")
    def test_disconnect(reason: str) -> None:
        reasons.append(reason)

    leaving = socketio.test_client(app)
    staying = socketio.test_client(app)
    leaving.emit("leave me")

    assert not leaving.is_connected()
    assert staying.is_connected()
    assert reasons == [SocketIO.reason.SERVER_DISCONNECT]


def test_connection_and_disconnection_events_are_sent_per_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    events: list[tuple[str, str]] = []

    @socketio.on("connect")
    def connect_root() -> None:
        events.append(("connect", request.namespace))

    @socketio.on("connect", namespace="/chat")
    def connect_chat() -> None:
        events.append(("connect", request.namespace))

    @socketio.on("disconnect", namespace="/chat")
    def disconnect_chat(reason: str) -> None:
        events.append(("disconnect", request.namespace))

    client = socketio.test_client(app)
    client.connect(namespace="/chat")
    client.disconnect(namespace="/chat")

    assert events == [("connect", "/"), ("connect", "/chat"), ("disconnect", "/chat")]
    assert client.is_connected()
    assert not client.is_connected("/chat")


def test_connecting_to_a_namespace_without_handlers_is_refused(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("my event", namespace="/chat")
    def my_event(data: Any) -> None:
        pass

    client = socketio.test_client(app, namespace="/nowhere")

    assert not client.is_connected("/nowhere")


def test_namespaces_option_star_accepts_connections_to_any_namespace(
    app: Flask, extension: ModuleType
) -> None:
    socketio = extension.SocketIO(app, namespaces="*")

    client = socketio.test_client(app, namespace="/anything")

    assert client.is_connected("/anything")
