"""Hostile websocket frames and oversized messages: a close frame with the right code.

The server reads a frame's header before its payload: a message over
``max_message_size`` (64 KiB here) is refused from the header alone with 1009;
reserved bits, unknown opcodes, unmasked frames and messages of endless
continuation frames get 1002; text that is not UTF-8 gets 1007. Over
long-polling, python-engineio refuses a body over the limit with HTTP 400.
Either way the client is disconnected on the bus and the probe is answered.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from ._raw import (
    OPCODE_BINARY,
    OPCODE_CONTINUATION,
    OPCODE_TEXT,
    RawPolling,
    frame,
)
from .conftest import SMALL_MESSAGE_SIZE, Arena

TOO_BIG = "websocket message larger than max_message_size"


def _closed_with(game: Arena, code: int, sid: str, expected: int, reason: str) -> None:
    assert code == expected
    assert game.server.protocol_errors == {reason: 1}
    game.disconnected(sid)
    game.probe()
    game.settled_counts()


def test_a_header_announcing_50_mb_is_refused_with_1009_before_any_payload(arena: Any) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_raw(frame(b"", length=50_000_000))

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, 1009, TOO_BIG)


@pytest.mark.parametrize("opcode", [OPCODE_TEXT, OPCODE_BINARY], ids=["text", "binary"])
def test_a_message_twice_the_limit_sent_whole_is_refused_with_1009(arena: Any, opcode: int) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()
    message = frame(b"4" * (2 * SMALL_MESSAGE_SIZE), opcode)

    def send_whole() -> None:
        with contextlib.suppress(OSError):  # the server may shut the socket before the end
            ws.send_raw(message)

    game.probe_while(send_whole)

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, 1009, TOO_BIG)


def test_a_message_split_into_frames_is_refused_with_1009_once_it_outgrows_the_limit(
    arena: Any,
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()
    piece = b"4" * (SMALL_MESSAGE_SIZE // 2)

    ws.send_raw(
        frame(piece, OPCODE_TEXT, fin=False)
        + frame(piece, OPCODE_CONTINUATION, fin=False)
        + frame(piece, OPCODE_CONTINUATION)
    )

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, 1009, TOO_BIG)


RESERVED_BITS = "websocket frame with reserved bits"
BAD_FRAMES = {
    "reserved-bit-1": (frame(b'42["x"]', rsv=0x40), RESERVED_BITS),
    "reserved-bit-2": (frame(b'42["x"]', rsv=0x20), RESERVED_BITS),
    "reserved-bit-3": (frame(b'42["x"]', rsv=0x10), RESERVED_BITS),
    "opcode-3": (frame(b'42["x"]', 0x3), "unknown websocket opcode 3"),
    "opcode-11": (frame(b"", 0xB), "unknown websocket opcode 11"),
    "unmasked": (frame(b'42["x"]', masked=False), "unmasked websocket frame"),
    "continuation-without-a-message": (
        frame(b'42["x"]', OPCODE_CONTINUATION),
        "websocket continuation frame without a message",
    ),
    "endless-continuation": (
        frame(b"4", OPCODE_TEXT, fin=False) + frame(b"2", OPCODE_CONTINUATION, fin=False) * 1100,
        "more than 1024 frames in a websocket message",
    ),
}


@pytest.mark.parametrize(("data", "reason"), BAD_FRAMES.values(), ids=list(BAD_FRAMES))
def test_a_frame_breaking_the_websocket_protocol_is_refused_with_1002(
    arena: Any, data: bytes, reason: str
) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_text('42["before",1]')
    ws.send_raw(data)

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, 1002, reason)
    assert game.handled == [("before", 1)]


def test_a_text_message_that_is_not_utf8_is_refused_with_1007(arena: Any) -> None:
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    ws.send_raw(frame(b'42["\xff\xfe"]'))

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, 1007, "websocket text is not UTF-8")


def test_a_polling_body_over_the_limit_is_refused_with_http_400(arena: Any) -> None:
    game: Arena = arena()
    polling = RawPolling(game.url)
    sid = polling.connect()

    refused = game.probe_while(lambda: polling.post("4" * (2 * SMALL_MESSAGE_SIZE)))

    assert refused.status_code == 400
    game.disconnected(sid)
    game.probe()
    game.settled_counts()


PIPELINED_BAD_FRAMES = {
    **{name: (data, 1002, reason) for name, (data, reason) in BAD_FRAMES.items()},
    "too-big": (frame(b"4" * (2 * SMALL_MESSAGE_SIZE)), 1009, TOO_BIG),
    "not-utf8": (frame(b'42["\xff\xfe"]'), 1007, "websocket text is not UTF-8"),
    "not-engineio": (frame(b""), 1002, "websocket text that is not an Engine.IO packet"),
}


@pytest.mark.parametrize(
    ("data", "expected", "reason"), PIPELINED_BAD_FRAMES.values(), ids=list(PIPELINED_BAD_FRAMES)
)
def test_a_bad_frame_in_the_same_write_as_good_ones_is_refused_after_they_are_handled(
    arena: Any, data: bytes, expected: int, reason: str
) -> None:
    # The frames before it are read together from what one receive brought;
    # the bad one is left to the frame-by-frame reader, which refuses it.
    game: Arena = arena()
    ws = game.raw()
    sid = ws.connect()

    with contextlib.suppress(OSError):  # the server may shut the socket before the end
        ws.send_raw(
            frame(b'42["before",1]') + frame(b'42["before",2]') + data + frame(b'42["after",3]')
        )

    code, _ = ws.wait_closed()
    _closed_with(game, code, sid, expected, reason)
    assert game.handled == [("before", 1), ("before", 2)]
