"""Events pipelined in one write get the answers python-socketio's server writes, byte for byte.

A raw websocket client sends many events at once, in every shape a Socket.IO
client writes (namespaces, ack ids, unicode, a binary event and its
attachment), between frames of other kinds (a ping control frame, a message
in two fragments, a frame cut between two writes). Each test runs against
python-socketio's own ``socketio.Server``, against ``sockevents.server``, and
against ``sockevents.server`` with a packet class of the application's
(``serializer=``), which reads and writes every packet through that class:
all three must write the same frames, in the same order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from adversarial._raw import OPCODE_BINARY, OPCODE_CONTINUATION, OPCODE_TEXT, RawWebSocket, frame
from socketio import packet as sio_packet

from ._socketio_servers import ServerUnderTest

OPCODE_PING = 0x9
OPCODE_PONG = 0xA


class ApplicationPacket(sio_packet.Packet):
    """A packet class an application gives as ``serializer`` (python-socketio's behaviour)."""


TARGETS = {
    "python-socketio": ("python-socketio", {}),
    "sockevents": ("sockevents", {}),
    "sockevents-app-packet-class": ("sockevents", {"serializer": ApplicationPacket}),
}


@pytest.fixture(params=list(TARGETS.values()), ids=list(TARGETS))
def target(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """A server answering ``echo`` with its arguments in ``/`` and ``/chat``, not started yet."""
    implementation, options = request.param
    served = ServerUnderTest(implementation, **options)

    def echo(sid: str, *args: Any) -> Any:
        return args

    for namespace in ("/", "/chat"):
        served.server.on("echo", echo, namespace=namespace)
    yield served
    served.stop()


def _open(target: ServerUnderTest) -> RawWebSocket:
    """A raw websocket connected to ``/`` and ``/chat``."""
    ws = RawWebSocket(int(target.url.rsplit(":", 1)[1]))
    ws.connect()
    ws.send_text("40/chat,")
    assert ws.recv_text().startswith('40/chat,{"sid":')
    return ws


def _answers(ws: RawWebSocket, count: int) -> list[tuple[int, Any]]:
    """The next ``count`` data and control frames: ``(opcode, text or bytes)``; pings answered."""
    frames: list[tuple[int, Any]] = []
    while len(frames) < count:
        opcode, payload = ws.recv_frame()
        if opcode == OPCODE_TEXT:
            text = payload.decode()
            if text == "2":  # an Engine.IO ping
                ws.send_text("3")
                continue
            frames.append((opcode, text))
        else:
            frames.append((opcode, payload))
    return frames


def _ack(namespace: str, ack_id: int, *data: Any) -> tuple[int, str]:
    """The text frame python-socketio's Packet encodes for an ACK (the Engine.IO ``4`` first)."""
    encoded = sio_packet.Packet(sio_packet.ACK, namespace=namespace, id=ack_id, data=list(data))
    return OPCODE_TEXT, "4" + encoded.encode()


UNICODE = "héllo 日本語 🎉 \u2028"
BIG = int("9" * 100)


def test_plain_events_sent_at_once_are_answered_in_order_with_pythonsocketios_texts(
    target: ServerUnderTest,
) -> None:
    ws = _open(target)

    ws.send_text(
        '421["echo","plain"]',
        '42/chat,2["echo",' + json.dumps(UNICODE) + "]",
        '423["echo",{"nested":[1,2.5,null,true]},"\\u00e9\\ud83c\\udf89"]',
        '42/chat,4["echo"]',
        '42["echo","no ack asked"]',
        '4212345678901234567890["echo",-1]',
        '425["echo",' + str(BIG) + "]",
        '42/chat,6[ "echo" , "spaced" ]',
    )

    assert _answers(ws, 7) == [
        _ack("/", 1, "plain"),
        _ack("/chat", 2, UNICODE),
        _ack("/", 3, {"nested": [1, 2.5, None, True]}, "é🎉"),
        _ack("/chat", 4),
        _ack("/", 12345678901234567890, -1),
        _ack("/", 5, BIG),
        _ack("/chat", 6, "spaced"),
    ]


def test_events_between_frames_of_other_kinds_are_answered_in_order_as_pythonsocketio_does(
    target: ServerUnderTest,
) -> None:
    ws = _open(target)
    cut = frame(b'428["echo","cut between two writes"]')

    ws.send_raw(
        frame(b'421["echo","first"]')
        + frame(b"are you there", OPCODE_PING)
        + frame(b'422["echo","after the ping"]')
        + frame(b"42", OPCODE_TEXT, fin=False)
        + frame(b'3["echo","in two fragments"]', OPCODE_CONTINUATION)
        + frame(b'451-5["echo","binary",{"_placeholder":true,"num":0}]')
        + frame(b"\x00\x01\xff", OPCODE_BINARY)
        + frame(b'42/chat,6["echo","after the attachment"]')
        + frame(b'427["echo","last whole"]')
        + cut[:5]
    )
    time.sleep(0.05)
    ws.send_raw(cut[5:])

    binary_ack = sio_packet.Packet(sio_packet.ACK, id=5, data=["binary", b"\x00\x01\xff"])
    text, attachment = binary_ack.encode()
    answers = _answers(ws, 9)
    # The pong is the websocket layer's and the acks the server's: no order between them.
    assert [answer for answer in answers if answer[0] == OPCODE_PONG] == [
        (OPCODE_PONG, b"are you there")
    ]
    assert [answer for answer in answers if answer[0] != OPCODE_PONG] == [
        _ack("/", 1, "first"),
        _ack("/", 2, "after the ping"),
        _ack("/", 3, "in two fragments"),
        (OPCODE_TEXT, "4" + text),
        (OPCODE_BINARY, attachment),
        _ack("/chat", 6, "after the attachment"),
        _ack("/", 7, "last whole"),
        _ack("/", 8, "cut between two writes"),
    ]
