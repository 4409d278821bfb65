"""A subscriber that raises or sleeps hurts only the event it is handling, never other clients."""

from __future__ import annotations

from typing import Any

import gevent

from flask_sockevents import Event, EventKind, Outcome, SockEvents

from .conftest import Arena


def _raising(sockevents: SockEvents) -> None:
    @sockevents.guard("guarded")
    def broken_guard(event: Event) -> None:
        raise RuntimeError("guard bug")

    @sockevents.listen("listened")
    def broken_listener(event: Event) -> None:
        raise RuntimeError("listener bug")


def test_a_raising_guard_rejects_only_its_event_and_the_connection_stays_usable(
    arena: Any,
) -> None:
    game: Arena = arena(_raising)
    ws = game.raw()
    sid = ws.connect()

    assert ws.call(1, "guarded", 1) == [
        {"error": "rejected", "reason": "guard error: RuntimeError"}
    ]

    assert ws.call(2, "after", 2) == [[2]]
    [guarded] = [e for e in game.of(EventKind.EVENT, sid) if e.name == "guarded"]
    assert guarded.outcome is Outcome.REJECTED
    assert ("guarded", 1) not in game.handled
    game.probe()
    game.settled_counts()


def test_a_raising_listener_changes_no_outcome_and_the_connection_stays_usable(
    arena: Any,
) -> None:
    game: Arena = arena(_raising)
    ws = game.raw()
    sid = ws.connect()

    assert ws.call(1, "listened", 1) == [[1]]

    assert ws.call(2, "after", 2) == [[2]]
    [listened] = [e for e in game.of(EventKind.EVENT, sid) if e.name == "listened"]
    assert listened.outcome is Outcome.HANDLED
    assert game.sockevents.bus.listener_errors == 1
    game.probe()
    game.settled_counts()


def test_a_handler_sleeping_3_s_on_one_connection_does_not_delay_the_probe(arena: Any) -> None:
    napping: list[str] = []

    def setup(sockevents: SockEvents) -> None:
        @sockevents.on("nap")
        def nap() -> str:
            napping.append("asleep")
            gevent.sleep(3)  # the server's hub is gevent's: sleeping yields to other clients
            napping.append("awake")
            return "rested"

    game: Arena = arena(setup)
    ws = game.raw()
    ws.connect()
    probed_while_asleep: list[bool] = []

    def nap_and_wait() -> Any:
        ws.send_text('421["nap"]')
        return ws.recv_ack(1)

    def probe_and_note() -> None:
        probed_while_asleep.append(napping == ["asleep"])

    answer = game.probe_while(nap_and_wait, on_probe=probe_and_note)

    assert answer == ["rested"]
    assert any(probed_while_asleep)
    game.settled_counts()
