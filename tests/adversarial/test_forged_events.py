"""Forged and ill-typed events: rejected with a reason, or the transport closed; never handled.

A client may not emit the lifecycle names, nor an event whose name is not a
string: such events are rejected (an acknowledgement, if asked for, carries
``{"error": "rejected", "reason": ...}``) and the connection stays usable. An
EVENT whose payload is not a non-empty array is not an event at all: the
transport is closed, after the events sent before it were dispatched.
"""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents import EventKind, SockEvents

from .conftest import Arena

FORGED = [
    ("connect", '["connect"]'),
    ("disconnect", '["disconnect","x"]'),
    ("error", '["error"]'),
    ("connect_error", '["connect_error"]'),
]


def _count_lifecycle_handlers(calls: list[str]) -> Any:
    def setup(sockevents: SockEvents) -> None:
        sockevents.on("connect")(lambda: calls.append("connect"))
        sockevents.on("disconnect")(lambda reason: calls.append("disconnect"))

    return setup


@pytest.mark.parametrize("ack", [False, True], ids=["no-ack", "ack"])
@pytest.mark.parametrize(("name", "payload"), FORGED, ids=[name for name, _ in FORGED])
def test_a_forged_lifecycle_event_is_rejected_with_a_reason_and_the_connection_stays_usable(
    arena: Any, name: str, payload: str, ack: bool
) -> None:
    lifecycle: list[str] = []
    game: Arena = arena(_count_lifecycle_handlers(lifecycle))
    ws = game.raw()
    sid = ws.connect()

    ws.send_text("42" + ("1" if ack else "") + payload)

    reason = f"reserved event name {name!r}"
    if ack:
        assert ws.recv_ack(1) == [{"error": "rejected", "reason": reason}]
    assert ws.call(2, "after", "forgery") == [["forgery"]]
    [rejected] = game.rejected(name)
    assert (rejected.sid, rejected.reason) == (sid, reason)
    assert lifecycle == ["connect", "connect"]  # the probe's and the attacker's, nothing forged
    assert game.handled == [("after", "forgery")]
    assert game.sockevents.bus.rejections[reason] == 1
    game.probe()
    counts = game.settled_counts()
    assert counts["rejected"] == 1


@pytest.mark.parametrize(
    ("payload", "type_name"),
    [("[123]", "int"), ("[null]", "NoneType"), ('[["a"]]', "list")],
    ids=["number", "null", "array"],
)
def test_an_event_name_that_is_not_a_string_is_rejected_and_the_connection_stays_usable(
    arena: Any, payload: str, type_name: str
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_text(f"421{payload}")

    reason = f"event name must be a string, not {type_name}"
    assert ws.recv_ack(1) == [{"error": "rejected", "reason": reason}]
    assert ws.call(2, "after", 1) == [[1]]
    [rejected] = [e for e in game.of(EventKind.EVENT, sid) if e.reason == reason]
    assert rejected.outcome is not None and rejected.outcome.value == "rejected"
    assert game.handled == [("after", 1)]
    game.probe()
    counts = game.settled_counts()
    assert counts["rejected"] == 1


@pytest.mark.parametrize("payload", ['"hello"', "{}", "[]"], ids=["string", "object", "empty"])
def test_an_event_payload_that_is_not_a_non_empty_array_closes_the_transport(
    arena: Any, payload: str
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_text('42["before",1]', "42" + payload, '42["after",2]')

    code, texts = ws.wait_closed()
    assert (code, texts[-1:]) == (1000, ["1"])  # an Engine.IO CLOSE, then a normal close
    assert game.server.protocol_errors == {"event payload must be a non-empty array": 1}
    [disconnect] = game.disconnected(sid)
    assert game.handled == [("before", 1)]
    assert game.of(EventKind.EVENT, sid)[-1].name == "before"
    game.probe()
    game.settled_counts()
    assert disconnect.args == ("server disconnect",)
