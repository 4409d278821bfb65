"""Connecting over a real socket: auth reaches the connect handler; refusals reach the client."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from flask_sockevents import ConnectionRefusedError, Event, Reject

from ._support import AppFactory, Clients, Serve, wait_for


def test_connect_handler_receives_the_auth_dict(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    seen: list[Any] = []

    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        seen.append(auth)

    server = serve(app)
    clients.connect(server.url, auth={"token": "s3cret", "user": 7})

    assert seen == [{"token": "s3cret", "user": 7}]


def _refused_connect_error(url: str, clients: Clients) -> Any:
    """Connect a client that must be refused; return what its connect_error handler got."""
    errors: list[Any] = []
    client = clients.new()
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(url, client=client)
    assert not client.connected
    return wait_for(lambda: errors and errors[0])


def test_connect_handler_returning_false_refuses_the_connection(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("connect")
    def connect(auth: Any) -> bool:
        return False

    server = serve(app)

    assert _refused_connect_error(server.url, clients) == {
        "message": "Connection rejected by server"
    }


def test_connection_refused_error_message_reaches_the_clients_connect_error(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        raise ConnectionRefusedError("members only")

    server = serve(app)

    assert _refused_connect_error(server.url, clients) == {"message": "members only"}


def test_guard_raising_reject_refuses_the_connect_with_its_reason(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    handled: list[Any] = []
    sockevents.on("connect")(lambda auth: handled.append(auth))

    @sockevents.guard("connect")
    def no_entry(event: Event) -> None:
        raise Reject("no")

    server = serve(app)

    assert _refused_connect_error(server.url, clients) == {"message": "no"}
    assert handled == []
