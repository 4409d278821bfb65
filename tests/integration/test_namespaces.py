"""Namespaces accepted by route: dynamic namespaces, and the error for unknown ones."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from flask import request

from ._support import AppFactory, Clients, Serve, wait_for


def test_a_namespace_pattern_accepts_a_concrete_namespace(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("ping", namespace="/rooms/*")(lambda: "pong")
    server = serve(app)

    client = clients.connect(server.url, namespaces=["/rooms/42"])

    assert client.call("ping", namespace="/rooms/42", timeout=5) == "pong"


def test_request_namespace_is_the_concrete_namespace_in_every_handler(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    connected_to: list[str] = []

    @sockevents.on("connect", namespace="/rooms/*")
    def connect(auth: Any) -> None:
        connected_to.append(request.namespace)  # type: ignore[attr-defined]

    sockevents.on("where", namespace="/rooms/*")(lambda: request.namespace)  # type: ignore[attr-defined]
    server = serve(app)

    client = clients.connect(server.url, namespaces=["/rooms/42", "/rooms/lobby"])

    assert client.call("where", namespace="/rooms/42", timeout=5) == "/rooms/42"
    assert client.call("where", namespace="/rooms/lobby", timeout=5) == "/rooms/lobby"
    assert sorted(connected_to) == ["/rooms/42", "/rooms/lobby"]


def test_an_unknown_namespace_gets_the_invalid_namespace_connect_error(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("ping", namespace="/rooms/*")(lambda: "pong")
    server = serve(app)
    client = clients.new()
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace="/nowhere")

    with pytest.raises(socketio.exceptions.ConnectionError, match="/nowhere"):
        clients.connect(server.url, client=client, namespaces=["/nowhere"])

    assert wait_for(lambda: errors) == [{"message": "Invalid namespace"}]
