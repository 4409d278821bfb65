"""Rate-limit evasion: one transport cannot earn a fresh budget by reopening namespaces.

The RateLimiter keys its buckets by the transport (the Engine.IO session) and
the address, so a client that disconnects and reconnects a namespace, or opens
hundreds of ``/games/*`` namespaces, still has one budget: a connect costs an
event, and the events it may have handled in all are the burst. Past
``disconnect_after`` rejections its whole transport is closed, every namespace
with it, and nothing more is served on it.

Each attack runs on both transports while the probe (on ``/``, which is not
limited) is answered, and the process's memory is back where it started once
the attacker is gone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from flask_sockevents import Event, EventKind, Outcome, SockEvents
from flask_sockevents.guards import RateLimiter

from ._resident import settled_resident_bytes
from ._transports import Attacker
from ._wait import wait_for
from .conftest import Arena

#: Events (connects included) one transport may have handled: the limiter refills so
#: slowly (one event per 1000 s) that the burst is all it ever gets in a test.
BURST = 10
ROUNDS = 50
EVENTS_PER_ROUND = 5
NAMESPACES = 100
DISCONNECT_AFTER = 5


def limited_arena(arena: Any, **limits: Any) -> Arena:
    """An arena whose ``/chat`` and ``/games/*`` namespaces are rate limited (``/`` is not)."""

    def setup(sockevents: SockEvents) -> None:
        for namespace in ("/chat", "/games/*"):
            sockevents.on("*", namespace=namespace)(lambda name, *args: list(args))
        limiter = RateLimiter(events_per_second=0.001, burst=BURST, window=3600, **limits)
        limiter.init_app(sockevents, namespace="/chat")
        limiter.init_app(sockevents, namespace="/games/*")

    game: Arena = arena(setup)
    return game


def served(game: Arena, eio_sid: str) -> list[Event]:
    """The attacker's connects and events that got through (accepted or handled)."""
    return [
        event
        for event in list(game.events)
        if event.transport == eio_sid
        and event.kind in (EventKind.CONNECT, EventKind.EVENT)
        and event.outcome in (Outcome.HANDLED, Outcome.UNHANDLED)
        and event.namespace != "/"
    ]


def connects_of(game: Arena, eio_sid: str) -> list[Event]:
    """The attacker's connects the bus has finished, accepted or refused."""
    return [e for e in list(game.events) if e.transport == eio_sid and e.is_connect]


def connect_and_wait(game: Arena, attacker: Attacker, connect: str) -> None:
    """Send a CONNECT and wait until the bus has finished it, as a client awaits its answer."""
    before = len(connects_of(game, attacker.eio_sid))
    attacker.send(connect)
    wait_for(lambda: len(connects_of(game, attacker.eio_sid)) > before)


def attack_then_settle(game: Arena, attack: Any) -> None:
    """Run ``attack`` while probing, then wait until everything it sent is dispatched."""

    def run() -> None:
        attack()
        game.settled_counts()

    game.probe_while(run)


def memory_is_back(game: Arena, attacker: Attacker, before: int) -> None:
    attacker.leave()
    wait_for(lambda: game.connections() == 1, message="the attacker's transport is still known")
    game.probe()
    after = settled_resident_bytes()
    assert after <= before * 1.10, f"RSS {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_reconnecting_a_namespace_50_times_on_one_transport_gets_one_burst_in_all(
    arena: Any, transport: str
) -> None:
    game = limited_arena(arena)
    before = settled_resident_bytes()
    attacker = Attacker(game, transport)
    events = [f'42/chat,["spam",{n}]' for n in range(EVENTS_PER_ROUND)]

    def attack() -> None:
        for _ in range(ROUNDS):
            connect_and_wait(game, attacker, "40/chat,")
            attacker.send(*events, "41/chat,")

    attack_then_settle(game, attack)

    got_through = served(game, attacker.eio_sid)
    assert len(got_through) == BURST
    refused = [
        e for e in game.events if e.transport == attacker.eio_sid and e.outcome is Outcome.REJECTED
    ]
    assert refused and {e.reason for e in refused} <= {"rate limited", "not connected to namespace"}
    memory_is_back(game, attacker, before)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_opening_100_game_namespaces_on_one_transport_gets_one_burst_in_all(
    arena: Any, transport: str
) -> None:
    game = limited_arena(arena)
    before = settled_resident_bytes()
    attacker = Attacker(game, transport)

    def attack() -> None:
        for n in range(NAMESPACES):
            connect_and_wait(game, attacker, f"40/games/{n},")
            attacker.send(f'42/games/{n},["move",1]')

    attack_then_settle(game, attack)

    assert len(served(game, attacker.eio_sid)) <= BURST
    refused = [e for e in connects_of(game, attacker.eio_sid) if e.outcome is Outcome.REJECTED]
    assert len(refused) >= NAMESPACES - BURST
    assert any(e.reason == "rate limited" for e in refused)
    memory_is_back(game, attacker, before)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_disconnect_after_closes_the_whole_transport_not_just_the_namespace(
    arena: Any, transport: str
) -> None:
    game = limited_arena(arena, disconnect_after=DISCONNECT_AFTER)
    before = settled_resident_bytes()
    attacker = Attacker(game, transport)
    attacker.send("40")
    attacker.send("40/chat,")
    wait_for(lambda: len(connects_of(game, attacker.eio_sid)) == 2)
    flood = [f'42/chat,["spam",{n}]' for n in range(BURST + DISCONNECT_AFTER + 20)]

    game.probe_while(lambda: attacker.send(*flood))
    texts = attacker.closed_by_server()

    if transport == "websocket":  # a polling session is closed at once, its queue dropped
        assert "41/chat," in texts and "41" in texts

    def disconnects() -> list[Event]:
        return [e for e in list(game.events) if e.transport == attacker.eio_sid and e.is_disconnect]

    wait_for(lambda: len(disconnects()) == 2)
    gone = disconnects()
    assert sorted(e.namespace for e in gone) == ["/", "/chat"]
    assert {e.args for e in gone} == {(SockEvents.reason.SERVER_DISCONNECT,)}
    assert attacker.refused_after_close()
    connects = [
        e for e in game.events if e.transport == attacker.eio_sid and e.kind is EventKind.CONNECT
    ]
    assert len(connects) == 2
    game.settled_counts()
    memory_is_back(game, attacker, before)


def test_a_rejected_guard_with_disconnect_closes_the_transport_of_a_refused_connect(
    arena: Any,
) -> None:
    def setup(sockevents: SockEvents) -> None:
        from flask_sockevents import Reject

        @sockevents.guard("connect", namespace="/banned")
        def banned(event: Event) -> None:
            raise Reject("banned", disconnect=True)

        sockevents.on("*", namespace="/banned")(lambda *args: None)

    game: Arena = arena(setup)
    ws = game.raw()
    ws.connect()

    ws.send_text("40/banned,")
    _, texts = ws.wait_closed()

    assert any(t.startswith("44/banned,") and json.loads(t[len("44/banned,") :]) for t in texts)
    assert "41" in texts
    game.probe()
