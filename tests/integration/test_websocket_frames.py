"""The frames written without gevent-websocket are the frames gevent-websocket writes."""

from __future__ import annotations

import json

import pytest
from adversarial._raw import RawWebSocket
from engineio import packet as eio_packet
from geventwebsocket.websocket import Header, WebSocket

from flask_sockevents import engine
from flask_sockevents.outbox import packet_frame, websocket_frame

from ._support import AppFactory, Clients, Serve

SIZES = [0, 1, 125, 126, 65_535, 65_536, 200_000]


def _gevent_websocket_frame(payload: str | bytes) -> bytes:
    if isinstance(payload, str):
        data, opcode = payload.encode("utf-8"), WebSocket.OPCODE_TEXT
    else:
        data, opcode = payload, WebSocket.OPCODE_BINARY
    return bytes(Header.encode_header(True, opcode, b"", len(data), 0)) + data


@pytest.mark.parametrize("size", SIZES)
def test_a_text_frame_is_byte_for_byte_gevent_websockets(size: int) -> None:
    text = "é" * (size // 2) + "a" * (size % 2)
    assert websocket_frame(text) == _gevent_websocket_frame(text)


@pytest.mark.parametrize("size", SIZES)
def test_a_binary_frame_is_byte_for_byte_gevent_websockets(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert websocket_frame(data) == _gevent_websocket_frame(data)


def test_a_packets_frame_is_built_once_and_shared_by_every_recipient() -> None:
    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2["msg","hello"]')
    first = packet_frame(pkt)
    assert first == _gevent_websocket_frame('42["msg","hello"]')
    assert packet_frame(pkt) is first


def test_a_websocket_over_plain_tcp_is_written_directly_without_a_writer_greenlet(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("echo")(lambda value: value)
    server = serve(app)
    client = clients.connect(server.url, transports=["websocket"])

    assert client.call("echo", "x" * 1000, timeout=5) == "x" * 1000

    (session,) = sockevents.server.eio.sockets.values()
    assert session._direct is not None  # the plain gevent socket under the websocket
    assert session._writer is None  # everything so far was taken at once


def test_the_answers_to_events_read_in_one_turn_leave_in_order_in_fewer_writes_than_answers(
    make_app: AppFactory, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, sockevents = make_app()
    sockevents.on("echo")(lambda value: value)
    written: list[bytes] = []
    write_now = engine.write_now

    def recording_write_now(gevent_socket: object, data: bytes) -> int:
        written.append(data)
        return write_now(gevent_socket, data)

    monkeypatch.setattr(engine, "write_now", recording_write_now)
    server = serve(app)
    ws = RawWebSocket(server.port)
    ws.send_text("40")
    assert ws.recv_text().startswith('40{"sid":')
    written.clear()

    ws.send_text(*(f'42{i}["echo",{i}]' for i in range(6)))  # one write: pipelined
    answers = [ws.recv_text() for _ in range(6)]

    assert answers == [f"43{i}[{json.dumps(i)}]" for i in range(6)]
    assert b"".join(written) == b"".join(websocket_frame(answer) for answer in answers)
    assert len(written) < len(answers)
    ws.close()
