"""Order and independence: one connection's events in arrival order, connections in parallel."""

from __future__ import annotations

import json
from typing import Any

import flask
import gevent
import gevent.event
from adversarial._raw import RawWebSocket

from ._support import TIMEOUT, AppFactory, Clients, Serve, wait_for

EVENTS_PER_CLIENT = 200


def test_events_of_each_client_are_handled_in_arrival_order(
    make_app: AppFactory,
    serve: Serve,
    clients: Clients,
    transports: list[str],
) -> None:
    # Over long-polling the client batches the burst into few POSTs of many
    # packets each: all of them must arrive.
    app, sockevents = make_app()
    seen: dict[str, list[int]] = {}

    @sockevents.on("seq")
    def seq(number: int) -> None:
        if number % 3 == 0:
            gevent.sleep(0)  # let other greenlets, and this client's next packets, in
        seen.setdefault(flask.request.sid, []).append(number)  # type: ignore[attr-defined]

    server = serve(app)
    first, second = clients.connect(server.url), clients.connect(server.url)

    for number in range(EVENTS_PER_CLIENT):
        first.emit("seq", number)
        second.emit("seq", number)

    # Dispatch is in arrival order, so the ack of a last event means every
    # earlier event of that client has been handled.
    for client in (first, second):
        assert client.call("seq", EVENTS_PER_CLIENT, timeout=TIMEOUT) is None
    assert seen == {
        first.get_sid(): list(range(EVENTS_PER_CLIENT + 1)),
        second.get_sid(): list(range(EVENTS_PER_CLIENT + 1)),
    }


def test_a_slow_handler_does_not_hold_up_other_clients(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    log: list[str] = []
    gates: dict[str, Any] = {}

    @sockevents.on("slow")
    def slow() -> None:
        gate = gates["slow"] = gevent.event.Event()
        log.append("slow started")
        log.append("slow released" if gate.wait(timeout=5) else "slow timed out")

    @sockevents.on("fast")
    def fast() -> str:
        log.append("fast")
        gates["slow"].set()
        return "done"

    server = serve(app)
    patient, hasty = clients.connect(server.url), clients.connect(server.url)

    patient.emit("slow")
    wait_for(lambda: "slow started" in log)
    assert hasty.call("fast", timeout=5) == "done"

    wait_for(lambda: len(log) == 3)
    assert log == ["slow started", "fast", "slow released"]


def test_a_handler_running_past_the_ping_timeout_keeps_its_client_connected(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    # The client answers each ping while the handler runs: its pong is read
    # and the session stays open, whatever greenlet dispatches the event.
    app, sockevents = make_app(ping_interval=0.2, ping_timeout=0.3)
    disconnects: list[Any] = []
    sockevents.on("disconnect")(lambda reason=None: disconnects.append(reason))

    @sockevents.on("long")
    def long(seconds: float) -> str:
        gevent.sleep(seconds)
        return "done"

    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("long", 2.0, timeout=TIMEOUT) == "done"
    assert client.call("long", 0, timeout=TIMEOUT) == "done"
    assert client.connected
    assert disconnects == []


def test_events_sent_in_one_write_around_blocking_handlers_are_answered_in_arrival_order(
    make_app: AppFactory, serve: Serve
) -> None:
    # The reader takes every event of one write at once; a handler blocking
    # past HAND_OFF_AFTER hands the reading over to another greenlet, which
    # must start with the events already read, not after them.
    app, sockevents = make_app()
    handled: list[int] = []

    @sockevents.on("step")
    def step(number: int, block: bool) -> int:
        if block:
            gevent.sleep(0.05)
        handled.append(number)
        return number

    server = serve(app)
    ws = RawWebSocket(int(server.url.rsplit(":", 1)[1]))
    ws.connect()
    blocking = {1, 4, 5}

    ws.send_text(*(f'42{n}["step",{n},{json.dumps(n in blocking)}]' for n in range(1, 9)))

    assert [ws.recv_ack(n) for n in range(1, 9)] == [[n] for n in range(1, 9)]
    assert handled == list(range(1, 9))
