"""Every accepted connection produces exactly one connect and one disconnect on the bus.

A test waits until the server holds no connection at all (its last packet
dispatched), so a duplicate disconnect would already have been published
when the counts are taken. The servers here give up on a silent long-polling
client after about two seconds (``ping_timeout=2``), since python-engineio's
client does not always send its goodbye.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import websocket

from flask_sockevents import EventKind, Outcome, Reject, SockEvents

from ._support import AppFactory, BusLog, Clients, Serve, raw_connect, wait_for

RawWebsockets = Callable[[str], websocket.WebSocket]
ONCE_EACH = Counter({EventKind.CONNECT: 1, EventKind.EVENT: 1, EventKind.DISCONNECT: 1})
CONNECTED_ONLY = Counter({EventKind.CONNECT: 1, EventKind.DISCONNECT: 1})


def _logged_app(make_app: AppFactory, bus_log: BusLog) -> tuple[Any, SockEvents]:
    app, sockevents = make_app(ping_timeout=2)
    sockevents.listen("*", namespace="*")(bus_log)
    sockevents.on("hello")(lambda: "hi")
    return app, sockevents


def _wait_until_no_connections(sockevents: SockEvents) -> None:
    server = sockevents.server
    assert server is not None
    wait_for(lambda: server.connection_stats()["connections"] == 0, timeout=10)


def test_listeners_see_one_connect_event_and_disconnect_per_client(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog
) -> None:
    app, sockevents = _logged_app(make_app, bus_log)
    server = serve(app)
    five = [clients.connect(server.url) for _ in range(5)]
    sids = [client.get_sid() for client in five]
    for client in five:
        assert client.call("hello", timeout=5) == "hi"

    for client in five:
        client.disconnect()
    _wait_until_no_connections(sockevents)

    assert bus_log.kinds_by_sid() == {sid: ONCE_EACH for sid in sids}


def test_a_dropped_transport_publishes_one_disconnect(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog
) -> None:
    app, sockevents = _logged_app(make_app, bus_log)
    server = serve(app)
    client = clients.connect(server.url)
    sid = client.get_sid()

    client.eio.disconnect(abort=True)
    _wait_until_no_connections(sockevents)

    assert bus_log.kinds_by_sid() == {sid: CONNECTED_ONLY}


def test_a_raw_socket_closed_without_goodbye_publishes_one_disconnect(
    make_app: AppFactory, serve: Serve, raw_websockets: RawWebsockets, bus_log: BusLog
) -> None:
    app, sockevents = _logged_app(make_app, bus_log)
    server = serve(app)
    ws = raw_websockets(server.url)
    sid = raw_connect(ws)

    ws.shutdown()
    _wait_until_no_connections(sockevents)

    assert bus_log.kinds_by_sid() == {sid: CONNECTED_ONLY}


def test_a_server_side_disconnect_publishes_one_disconnect(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog
) -> None:
    app, sockevents = _logged_app(make_app, bus_log)
    sockevents.on("kick")(lambda sid: sockevents.disconnect(sid))
    server = serve(app)
    target, admin = clients.connect(server.url), clients.connect(server.url)
    target_sid, admin_sid = target.get_sid(), admin.get_sid()

    admin.call("kick", target_sid, timeout=5)
    wait_for(lambda: not target.connected)
    admin.disconnect()
    _wait_until_no_connections(sockevents)

    assert bus_log.kinds_by_sid() == {target_sid: CONNECTED_ONLY, admin_sid: ONCE_EACH}
    [kicked] = bus_log.disconnects(target_sid)
    assert kicked.args == ("server disconnect",)


def test_a_guard_rejecting_with_disconnect_disconnects_the_client(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog
) -> None:
    app, sockevents = _logged_app(make_app, bus_log)

    @sockevents.guard("spam")
    def no_spam(event: Any) -> None:
        raise Reject("x", disconnect=True)

    server = serve(app)
    client = clients.connect(server.url)
    sid = client.get_sid()

    assert client.call("spam", timeout=5) == {"error": "rejected", "reason": "x"}
    wait_for(lambda: not client.connected)
    _wait_until_no_connections(sockevents)

    assert bus_log.kinds_by_sid() == {sid: ONCE_EACH}
    [spam] = bus_log.of_kind(EventKind.EVENT, sid)
    assert (spam.outcome, spam.reason) == (Outcome.REJECTED, "x")
