"""Floods: one client cannot starve the others, and nothing it sent is lost.

A flooding client is slowed by backpressure (the server stops reading it while
its queue is full) rather than dropped; every event it sent is dispatched, in
order. Transports that never connect are closed after ``connect_timeout``, and
one address cannot hold more than ``max_connections_per_address`` transports.
"""

from __future__ import annotations

from typing import Any

from flask_sockevents import EventKind, SockEvents

from ._raw import RawPolling, RawWebSocket
from ._wait import wait_for
from .conftest import Arena

FLOOD = 5_000


def test_5000_events_sent_at_once_are_all_dispatched_in_order_while_the_probe_is_answered(
    arena: Any,
) -> None:
    numbers: list[int] = []

    def setup(sockevents: SockEvents) -> None:
        sockevents.on("n")(numbers.append)

    game: Arena = arena(setup)
    ws = game.raw()
    sid = ws.connect()
    frames = [f'42["n",{i}]' for i in range(FLOOD)]

    game.probe_while(lambda: ws.send_text(*frames))

    wait_for(lambda: len(numbers) == FLOOD, timeout=30, message=f"{len(numbers)} dispatched")
    assert numbers == list(range(FLOOD))
    seen = [e.args[0] for e in game.of(EventKind.EVENT, sid) if e.name == "n"]
    assert seen == list(range(FLOOD))
    assert ws.call(1, "still", "here") == [["here"]]
    game.probe()
    counts = game.settled_counts()
    assert counts["handled"] >= FLOOD


def test_10000_pong_packets_leave_the_connection_and_the_server_serving(arena: Any) -> None:
    game: Arena = arena()
    ws = game.raw()
    ws.connect()

    game.probe_while(lambda: ws.send_text(*["3"] * 10_000))

    assert ws.call(1, "after", "pongs") == [["pongs"]]
    game.probe()
    game.settled_counts()
    assert game.server.protocol_errors == {}


def test_200_transports_that_never_connect_are_all_closed_after_connect_timeout(
    arena: Any,
) -> None:
    game: Arena = arena(
        connect_timeout=1, max_connections_per_address=None, max_http_connections_per_address=None
    )
    baseline = game.connections()

    idle = game.probe_while(lambda: [RawWebSocket(game.port) for _ in range(200)])
    game.raws.extend(idle)

    for ws in idle:
        code, texts = ws.wait_closed()
        assert (code, texts[-1:]) == (1000, ["1"])
    assert game.server.protocol_errors == {"no CONNECT within connect_timeout": 200}
    wait_for(lambda: game.connections() == baseline)
    game.probe()
    game.settled_counts()


def test_handshakes_past_max_connections_per_address_are_refused(arena: Any) -> None:
    """With HTTP 401 over both transports: a websocket is refused before its upgrade."""
    game: Arena = arena(max_connections_per_address=3)  # the probe holds one

    kept = [RawPolling(game.url), game.raw()]
    refused_polling = RawPolling(game.url)
    refused_websocket = game.raw(expect_upgrade=False)

    assert [kept[0].opened.status_code, kept[1].status] == [200, 101]
    assert refused_polling.opened.status_code == 401
    assert refused_websocket.status == 401
    assert game.server.protocol_errors == {"too many connections from one address": 2}
    game.probe()
    assert game.connections() == 3
