"""Lifecycle names cannot be forged: a client event called ``connect`` and the like is rejected.

Each test runs once per reserved name and per transport.
"""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents import EventKind, SockEvents

from ._support import AppFactory, BusLog, Clients, Serve, wait_for

RESERVED = ["connect", "disconnect", "error", "connect_error"]


@pytest.fixture(params=RESERVED)
def forged(request: pytest.FixtureRequest) -> str:
    """A reserved event name a client tries to emit."""
    return str(request.param)


class _Calls:
    """Which handlers of the app ran, with what."""

    def __init__(self, sockevents: SockEvents) -> None:
        self.connects: list[Any] = []
        self.disconnects: list[Any] = []
        self.others: list[tuple[Any, ...]] = []
        sockevents.on("connect")(lambda auth: self.connects.append(auth))
        sockevents.on("disconnect")(lambda reason: self.disconnects.append(reason))
        sockevents.on("*")(lambda *args: self.others.append(args))
        sockevents.on("echo")(lambda value: value)


def test_a_forged_lifecycle_event_reaches_no_handler(
    make_app: AppFactory, serve: Serve, clients: Clients, forged: str
) -> None:
    app, sockevents = make_app()
    calls = _Calls(sockevents)
    server = serve(app)
    client = clients.connect(server.url, auth={"me": 1})

    client.call(forged, "sneaky", timeout=5)
    client.call("anything", "fair", timeout=5)

    assert calls.connects == [{"me": 1}]
    assert calls.disconnects == []
    assert calls.others == [("anything", "fair")]


def test_listeners_see_a_forged_lifecycle_event_rejected_with_a_reason(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog, forged: str
) -> None:
    app, sockevents = make_app()
    _Calls(sockevents)
    sockevents.listen("*", namespace="*")(bus_log)
    server = serve(app)
    client = clients.connect(server.url)

    client.emit(forged, "sneaky")

    [rejected] = wait_for(lambda: bus_log.rejected(forged))
    assert rejected.kind is EventKind.EVENT
    assert rejected.sid == client.get_sid()
    assert rejected.args == ("sneaky",)
    assert rejected.reason and forged in rejected.reason


def test_the_ack_of_a_forged_lifecycle_event_carries_the_rejection(
    make_app: AppFactory, serve: Serve, clients: Clients, bus_log: BusLog, forged: str
) -> None:
    app, sockevents = make_app()
    _Calls(sockevents)
    sockevents.listen("*", namespace="*")(bus_log)
    server = serve(app)
    client = clients.connect(server.url)

    answer = client.call(forged, "sneaky", timeout=5)

    [rejected] = bus_log.rejected(forged)
    assert answer == {"error": "rejected", "reason": rejected.reason}


def test_the_connection_stays_usable_after_a_forged_lifecycle_event(
    make_app: AppFactory, serve: Serve, clients: Clients, forged: str
) -> None:
    app, sockevents = make_app()
    _Calls(sockevents)
    server = serve(app)
    client = clients.connect(server.url)

    client.call(forged, "sneaky", timeout=5)

    assert client.call("echo", "still here", timeout=5) == "still here"
    assert client.connected
