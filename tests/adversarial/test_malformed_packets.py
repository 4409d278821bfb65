"""Malformed packets close only the offending transport, after what it sent before is dispatched.

Each case sends a good event, the bad packet and another good event in one
write: the first is dispatched, the transport is closed (an Engine.IO CLOSE or
a websocket close frame), the last never reaches a handler, the reason is
counted in ``server.protocol_errors`` and the probe is still answered.
"""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents import EventKind

from ._raw import RawWebSocket
from .conftest import Arena

PLACEHOLDER = '{"_placeholder":true,"num":%s}'

MALFORMED = {
    "not-a-packet-type": ("4abc", "malformed packet", {}),
    "unknown-packet-type": ("49", "unexpected packet type 9", {}),
    "150-digit-ack-id": ("42" + "1" * 150 + '["x"]', "malformed packet", {}),
    "json-100000-deep": (
        "42" + "[" * 100_000 + "]" * 100_000,
        "malformed packet",
        {"max_message_size": 256 * 1024},
    ),
}


def _closed_after_before(game: Arena, ws: RawWebSocket, sid: str, reason: str) -> None:
    code, _ = ws.wait_closed()
    assert code == 1000
    assert game.server.protocol_errors == {reason: 1}
    game.disconnected(sid)
    assert game.handled == [("before", 1)]
    assert game.of(EventKind.EVENT, sid)[-1].name == "before"
    game.probe()
    game.settled_counts()


@pytest.mark.parametrize(("packet", "reason", "options"), MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_packet_closes_the_transport(
    arena: Any, packet: str, reason: str, options: dict[str, Any]
) -> None:
    game: Arena = arena(**options)
    ws = game.raw()
    sid = ws.connect()

    ws.send_text('42["before",1]', packet, '42["after",2]')

    _closed_after_before(game, ws, sid, reason)


@pytest.mark.parametrize(
    "message",
    ["", "x", "4" + "[" * 50_000 + "]" * 10],
    ids=["empty", "not-a-digit", "engineio-json-50000-deep"],
)
def test_a_message_engineio_cannot_decode_closes_the_transport_with_1002_at_once(
    arena: Any, message: str
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_text('42["before",1]', message)

    code, _ = ws.wait_closed()
    assert code == 1002
    [disconnect] = game.disconnected(sid)  # well before any ping timeout
    assert disconnect.args == ("transport close",)
    assert game.handled == [("before", 1)]
    game.probe()
    game.settled_counts()
    assert game.connections() == 1  # the probe's


ATTACHMENT_CONFUSION = {
    "placeholder-out-of-range": (
        ['451-["x",%s]' % (PLACEHOLDER % 5)],
        [b"abc"],
        "bad binary attachment",
    ),
    "placeholder-num-a-string": (
        ['451-["x",%s]' % (PLACEHOLDER % '"0"')],
        [b"abc"],
        "bad binary attachment",
    ),
    "attachment-missing": (
        ['451-["x",%s]' % (PLACEHOLDER % 0), '42["y"]'],
        [],
        "expected a binary attachment",
    ),
}


@pytest.mark.parametrize(
    ("texts", "attachments", "reason"),
    ATTACHMENT_CONFUSION.values(),
    ids=list(ATTACHMENT_CONFUSION),
)
def test_a_binary_event_with_confused_attachments_closes_the_transport(
    arena: Any, texts: list[str], attachments: list[bytes], reason: str
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_text('42["before",1]', texts[0])
    for attachment in attachments:
        ws.send_binary(attachment)
    ws.send_text(*texts[1:])

    _closed_after_before(game, ws, sid, reason)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({}, "too many binary attachments"),
        ({"max_attachments": 1_000_000}, "binary attachments larger than max_message_size"),
    ],
    ids=["over-max-attachments", "attachments-allowed"],
)
def test_a_huge_attachment_count_then_a_stream_of_large_frames_closes_the_transport(
    arena: Any, options: dict[str, Any], reason: str
) -> None:
    game: Arena = arena(**options)
    ws = game.raw()
    sid = ws.connect()
    ws.send_text('42["before",1]', '4599999-["x",%s]' % (PLACEHOLDER % 0))

    def stream() -> int:
        sent = 0
        chunk = bytes(60_000)
        try:
            for _ in range(200):  # 12 MB in all, far past the 64 KiB limit
                ws.send_binary(chunk)
                sent += 1
        except OSError:
            pass  # the server closed the connection under the stream
        return sent

    sent = game.probe_while(stream)

    _closed_after_before(game, ws, sid, reason)
    assert sent < 200
