"""Binary payloads travel intact both ways, in arguments and in acknowledgements."""

from __future__ import annotations

from typing import Any

from flask_sockevents import call, emit

from ._support import AppFactory, Clients, Serve

#: Every byte value, so that no encoding step can pass by accident.
BLOB = bytes(range(256)) * 4


def test_bytes_sent_by_the_client_reach_the_handler_intact(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    received: list[Any] = []

    @sockevents.on("upload")
    def upload(name: str, blob: bytes) -> int:
        received.append((name, blob))
        return len(blob)

    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("upload", ("file.bin", BLOB), timeout=5) == len(BLOB)
    assert received == [("file.bin", BLOB)]


def test_bytes_returned_by_the_handler_reach_the_client_as_the_ack(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("reverse")(lambda blob: blob[::-1])
    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("reverse", BLOB, timeout=5) == BLOB[::-1]


def test_bytes_emitted_by_the_server_reach_the_client_intact(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("download")(lambda: emit("blob", BLOB, {"size": len(BLOB)}))
    server = serve(app)
    client = clients.new()
    received: list[Any] = []
    client.on("blob", lambda blob, meta: received.append((blob, meta)))
    clients.connect(server.url, client=client)

    client.call("download", timeout=5)

    assert received == [(BLOB, {"size": len(BLOB)})]


def test_bytes_in_the_clients_answer_to_a_server_call_reach_the_handler(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("fetch")
    def fetch() -> bool:
        return call("give", BLOB, timeout=5) == BLOB[::-1]

    server = serve(app)
    client = clients.new()
    client.on("give", lambda blob: blob[::-1])
    clients.connect(server.url, client=client)

    assert client.call("fetch", timeout=5) is True
