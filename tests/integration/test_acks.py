"""Acknowledgements over a real socket, in both directions."""

from __future__ import annotations

from typing import Any

from flask_sockevents import call

from ._support import AppFactory, Clients, Serve


def test_client_call_returns_the_handlers_return_value(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("echo")(lambda value: value)
    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("echo", {"text": "hi", "n": [1, 2]}, timeout=5) == {
        "text": "hi",
        "n": [1, 2],
    }


def test_a_returned_tuple_becomes_several_ack_arguments(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("divmod")(lambda a, b: divmod(a, b))
    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("divmod", (17, 5), timeout=5) == (3, 2)


def test_server_call_from_a_handler_is_answered_by_the_client(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("ask")
    def ask(number: int) -> Any:
        return call("question", number, timeout=5)

    server = serve(app)
    client = clients.new()
    client.on("question", lambda number: number * 2)
    clients.connect(server.url, client=client)

    assert client.call("ask", 21, timeout=5) == 42
