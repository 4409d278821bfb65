"""The event and acknowledgement texts read and written without a Packet are python-socketio's.

:func:`~flask_sockevents.eventtext.parse_event` must decode exactly what
``socketio.packet.Packet(encoded_packet=text)`` decodes, or hand the text back
(``None``) for ``Packet`` to decode, and fail where ``Packet`` fails;
:func:`~flask_sockevents.eventtext.ack_text` must write the characters
``Packet(ACK, ...).encode()`` writes, or hand the answer back; and the
reader's :func:`~flask_sockevents.event.client_event` is the ``Event`` the
keyword constructor builds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from socketio import msgpack_packet
from socketio import packet as sio_packet

from flask_sockevents.event import Event, EventKind, client_event
from flask_sockevents.eventtext import ack_text, parse_event, plain_packets
from flask_sockevents.operations import measured_packet_class

PLAIN_EVENTS = {
    "no-namespace-no-id": '2["echo",{"seq":1,"text":"the quick brown fox"}]',
    "ack-id": '217["echo",1,2.5,null,true,false]',
    "ack-id-0": '20["echo"]',
    "ack-id-100-digits": "2" + "9" * 100 + '["echo"]',
    "namespace": '2/chat,["say","hello"]',
    "namespace-and-id": '2/chat/room-1,42["say",[1,[2,[3]]]]',
    "namespace-slash": '2/,5["x"]',
    "unicode": '2["héllo","日本語","emoji 🎉","\\u00e9\\ud83c\\udf89"]',
    "non-ascii-namespace": '2/çà,3["x"]',
    "dash-in-payload": '212["a-b","-1",-2]',
    "big-int-100-digits": '2["n",' + "1" * 100 + "]",
    "whitespace-in-json": '2[ "echo" , { "a" : 1 } ]  ',
    "empty-array": "2[]",
    "name-not-a-string": "23[1,2]",
    "deep": "2" + "[" * 50 + "]" * 50,
}

# Texts of another shape: parse_event leaves them to Packet.
OTHER_EVENTS = {
    "attachments": '21-["x",{"_placeholder":true,"num":0}]',
    "id-then-dash": "212-[1]",
    "query-in-namespace": '2/chat?a=1,["x"]',
    "namespace-without-comma": "2/chat",
    "no-data": "2",
    "id-without-data": "27",
    "object-not-array": '2{"a":1}',
    "string-not-array": '2"x"',
    "leading-space": '2 ["x"]',
    "arabic-indic-digit-id": '2\u0661["x"]',
    "superscript-digit-id": '2\u00b2["x"]',
    "ascii-then-arabic-indic-digits": '21\u0661["x"]',
    "id-101-digits": "2" + "1" * 101 + '["x"]',
}

MALFORMED_EVENTS = {
    "truncated-json": '2["echo",',
    "trailing-garbage": '2["echo"]x',
    "two-arrays": '2["a"]["b"]',
    "int-101-digits": '2["n",' + "1" * 101 + "]",
    "nan-literal-misspelt": '2["n",Nan]',
    "single-quotes": "2['echo']",
    "unpaired-bracket": '2/chat,1["x"',
    "json-deeper-than-the-stack": "2" + "[" * 100_000 + "]" * 100_000,
}


def _decoded(text: str) -> tuple[str, int | None, Any]:
    pkt = sio_packet.Packet(encoded_packet=text)
    assert pkt.packet_type == sio_packet.EVENT
    assert pkt.attachment_count == 0
    return pkt.namespace or "/", pkt.id, pkt.data


@pytest.mark.parametrize("text", PLAIN_EVENTS.values(), ids=list(PLAIN_EVENTS))
def test_a_plain_event_text_decodes_as_pythonsocketios_packet(text: str) -> None:
    assert parse_event(text) == _decoded(text)


@pytest.mark.parametrize("text", OTHER_EVENTS.values(), ids=list(OTHER_EVENTS))
def test_an_event_text_of_another_shape_is_left_to_the_packet_class(text: str) -> None:
    assert parse_event(text) is None


@pytest.mark.parametrize("text", MALFORMED_EVENTS.values(), ids=list(MALFORMED_EVENTS))
def test_a_malformed_event_text_fails_as_pythonsocketios_packet_fails(text: str) -> None:
    with pytest.raises((ValueError, RecursionError)) as packet_error:
        sio_packet.Packet(encoded_packet=text)
    with pytest.raises(type(packet_error.value)):
        parse_event(text)


ANSWERS = {
    "nothing": [],
    "one-string": ["pong"],
    "many": [1, 2.5, None, True, False, "x"],
    "nested": [{"a": [1, {"b": None}], "c": {"d": "e"}}],
    "unicode": ["héllo", "日本語", "🎉", "\u2028"],
    "control-characters": ['quote " backslash \\ tab \t newline \n'],
    "floats": [0.1, 1e100, -0.0, 3.141592653589793],
    "nan-and-infinity": [math.nan, math.inf, -math.inf],
    "big-int": [10**40],
    "int-keys": [{1: "one", 2: "two"}],
    "tuple-inside": [(1, 2), {"t": (3,)}],
    "rejection": [{"error": "rejected", "reason": "rejected by guard"}],
}


@pytest.mark.parametrize("namespace", ["/", "/chat", "/çà"])
@pytest.mark.parametrize("ack_id", [0, 7, 12345678901234567890])
@pytest.mark.parametrize("data", ANSWERS.values(), ids=list(ANSWERS))
def test_an_ack_text_is_the_characters_pythonsocketios_packet_encodes(
    namespace: str, ack_id: int, data: list[Any]
) -> None:
    expected = sio_packet.Packet(sio_packet.ACK, namespace=namespace, id=ack_id, data=data).encode()

    assert ack_text(namespace, ack_id, data) == expected


@pytest.mark.parametrize(
    "data",
    [[b"\x00\x01"], [{"file": bytearray(b"x")}], ["text", [b"deep"]]],
    ids=["bytes", "bytearray-in-dict", "bytes-nested"],
)
def test_a_binary_ack_is_left_to_the_packet_class(data: list[Any]) -> None:
    assert sio_packet.Packet(sio_packet.ACK, id=1, data=data).packet_type == sio_packet.BINARY_ACK
    assert ack_text("/", 1, data) is None


def test_an_ack_json_cannot_encode_is_left_to_the_packet_class_which_refuses_it() -> None:
    data = [object()]

    assert ack_text("/", 1, data) is None
    with pytest.raises(TypeError):
        sio_packet.Packet(sio_packet.ACK, id=1, data=data).encode()


def test_an_ack_after_one_json_refused_midway_is_encoded_as_pythonsocketio_encodes_it() -> None:
    answer: dict[str, Any] = {"kept": [1, 2], "refused": object()}  # fails inside the dict
    circular: list[Any] = [answer]
    circular.append(circular)

    assert ack_text("/", 1, [answer]) is None
    assert ack_text("/", 2, circular) is None
    del answer["refused"]  # the same containers, now plain JSON
    data = [answer, {"again": answer}]
    expected = sio_packet.Packet(sio_packet.ACK, id=3, data=data).encode()
    assert ack_text("/", 3, data) == expected


class _CustomPacket(sio_packet.Packet):
    """A packet class an application gives as ``serializer``."""


class _CustomJSON:
    """A JSON module an application gives as ``json``."""

    dumps = staticmethod(json.dumps)
    loads = staticmethod(json.loads)


def test_only_pythonsocketios_own_packet_with_its_own_json_is_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plain_packets(sio_packet.Packet)
    assert plain_packets(measured_packet_class(sio_packet.Packet))
    assert not plain_packets(measured_packet_class(msgpack_packet.MsgPackPacket))
    assert not plain_packets(measured_packet_class(_CustomPacket))

    monkeypatch.setattr(sio_packet.Packet, "json", _CustomJSON)  # what Server(json=...) does

    assert not plain_packets(measured_packet_class(sio_packet.Packet))


def test_a_client_event_built_by_the_reader_is_the_event_record_with_those_fields() -> None:
    built = client_event("/chat", "say", "sid-1", ("hi", 2), True, "10.0.0.1", 42, "eio-1")

    assert built == Event(
        EventKind.EVENT,
        "/chat",
        "say",
        "sid-1",
        ("hi", 2),
        True,
        built.received_at,
        "10.0.0.1",
        42,
        transport="eio-1",
    )
    assert type(built) is Event
    assert built.outcome is None and not built.replied and not built.recovered
