"""Protocol enforcement on a raw websocket: a transport that breaks the rules is closed.

The raw client speaks Engine.IO v4 by hand: ``0{...}`` is the server's open
packet, ``40`` a CONNECT to ``/`` and ``42[...]`` an EVENT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import websocket

from flask_sockevents import SockEvents

from ._support import (
    AppFactory,
    BusLog,
    Clients,
    Serve,
    closed_by_server,
    raw_connect,
    wait_for,
)

RawWebsockets = Callable[[str], websocket.WebSocket]


def _echo_app(make_app: AppFactory, **options: Any) -> tuple[Any, SockEvents, list[Any]]:
    app, sockevents = make_app(**options)
    handled: list[Any] = []

    @sockevents.on("*")
    def anything(name: str, *args: Any) -> Any:
        handled.append((name, *args))
        return args[0] if args else None

    return app, sockevents, handled


def test_an_event_before_connect_closes_the_transport(
    make_app: AppFactory, serve: Serve, raw_websockets: RawWebsockets
) -> None:
    app, _, handled = _echo_app(make_app)
    server = serve(app)
    ws = raw_websockets(server.url)

    ws.send('42["x"]')

    assert closed_by_server(ws)
    assert handled == []


def test_the_server_still_serves_clients_after_closing_a_rule_breaker(
    make_app: AppFactory, serve: Serve, raw_websockets: RawWebsockets, clients: Clients
) -> None:
    app, _, _ = _echo_app(make_app)
    server = serve(app)
    ws = raw_websockets(server.url)
    ws.send('42["x"]')
    assert closed_by_server(ws)

    client = clients.connect(server.url)

    assert client.call("echo", "fine", timeout=5) == "fine"


def test_a_malformed_packet_after_connect_closes_only_that_client(
    make_app: AppFactory,
    serve: Serve,
    raw_websockets: RawWebsockets,
    clients: Clients,
    bus_log: BusLog,
) -> None:
    app, sockevents, _ = _echo_app(make_app)
    sockevents.listen("*", namespace="*")(bus_log)
    server = serve(app)
    bystander = clients.connect(server.url)
    ws = raw_websockets(server.url)
    raw_sid = raw_connect(ws)

    ws.send("4abc")

    assert closed_by_server(ws)
    assert bystander.call("echo", "unaffected", timeout=5) == "unaffected"
    assert bystander.connected
    [dropped] = wait_for(lambda: bus_log.disconnects(raw_sid))
    assert dropped.sid == raw_sid


def test_a_transport_that_never_connects_is_closed_after_connect_timeout(
    make_app: AppFactory, serve: Serve, raw_websockets: RawWebsockets
) -> None:
    app, sockevents, _ = _echo_app(make_app, connect_timeout=0.5)
    server = serve(app)
    ws = raw_websockets(server.url)

    assert closed_by_server(ws)
    assert sockevents.server is not None
    assert sockevents.server.protocol_errors == {"no CONNECT within connect_timeout": 1}


def test_a_connected_transport_outlives_the_connect_timeout(
    make_app: AppFactory, serve: Serve, raw_websockets: RawWebsockets
) -> None:
    app, _, handled = _echo_app(make_app, connect_timeout=0.5)
    server = serve(app)
    ws = raw_websockets(server.url)
    raw_connect(ws)

    assert not closed_by_server(ws, timeout=1.5)
    ws.send('42["still", "open"]')
    wait_for(lambda: handled)
    assert handled == [("still", "open")]
