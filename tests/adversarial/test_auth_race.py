"""A refused connect and an event in the same write: the event never reaches a handler."""

from __future__ import annotations

from typing import Any

from flask_sockevents import ConnectionRefusedError, EventKind, SockEvents

from .conftest import Arena


def _token_required(sockevents: SockEvents) -> None:
    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        if not isinstance(auth, dict) or auth.get("token") != "good":
            raise ConnectionRefusedError("bad token")


def test_an_event_riding_on_a_refused_connect_is_rejected_as_not_connected(arena: Any) -> None:
    game: Arena = arena(_token_required, probe={"auth": {"token": "good"}})
    ws = game.raw()

    ws.send_text('40{"token":"bad"}', '421["sneak","in"]')

    assert ws.recv_text() == '44{"message":"bad token"}'
    [error] = ws.recv_ack(1)
    assert error == {"error": "rejected", "reason": "not connected to namespace"}
    [sneak] = game.rejected("sneak")
    assert sneak.reason == "not connected to namespace"
    assert ("sneak", "in") not in game.handled
    refused = [e for e in game.of(EventKind.CONNECT) if e.outcome and e.outcome.value == "rejected"]
    [refused_connect] = refused
    assert refused_connect.reason == "bad token"
    assert game.of(EventKind.DISCONNECT, refused_connect.sid) == []
    game.probe()
    game.settled_counts()
    assert game.of(EventKind.DISCONNECT, refused_connect.sid) == []
