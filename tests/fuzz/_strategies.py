"""Hypothesis strategies for Socket.IO traffic: well-formed, nearly well-formed and random.

Packets are built field by field as the Socket.IO protocol lays them out
(type digit, attachment count and ``-``, namespace and ``,``, ack id, JSON
payload), each field drawn from values that are valid, borderline or wrong,
so most packets get past the decoder and reach the server's own checks.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from socketio import packet as sio_packet

from flask_sockevents.bus import RESERVED_EVENT_NAMES

__all__ = [
    "deep_event",
    "deep_packets",
    "event_names",
    "json_values",
    "packet_sequences",
    "packets",
    "raw_messages",
    "wellformed_packets",
]

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)

#: A binary placeholder, well-formed or not.
placeholders = st.fixed_dictionaries(
    {"_placeholder": st.sampled_from([True, 1, "yes"])},
    optional={"num": st.integers(min_value=-3, max_value=12) | st.text(max_size=2) | st.none()},
)

#: Any JSON value, binary placeholders included.
json_values: st.SearchStrategy[Any] = st.recursive(
    _LEAVES | placeholders,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)

#: Event names: the handlers' own, reserved ones, empty, over-long, and not strings.
event_names: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["echo", "boom", "forbidden", "message", "json", "chat", ""]),
    st.sampled_from(sorted(RESERVED_EVENT_NAMES)),
    st.text(max_size=10),
    st.text(alphabet="ab", min_size=250, max_size=260),
    json_values.filter(lambda value: not isinstance(value, str)),
)

_namespaces = st.one_of(
    st.sampled_from(["/", "/chat", "/open", "/nope", "/chat?x=1", "/open,", "", "/"]),
    st.text(max_size=6).map(lambda text: "/" + text),
)


def _payload(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["event", "event", "event", "json", "text", "none"]))
    if shape == "event":
        args = draw(st.lists(json_values, max_size=3))
        return json.dumps([draw(event_names), *args])
    if shape == "json":
        return json.dumps(draw(json_values))
    if shape == "text":
        return draw(st.text(max_size=12))
    return ""


_known_namespaces = st.sampled_from(["/", "/", "/chat", "/open", "/nope"])


@st.composite
def wellformed_packets(draw: st.DrawFn) -> list[str | bytes]:
    """A packet as a correct client encodes it (with its attachments), of any name and payload."""
    kind = draw(st.sampled_from(["connect", "disconnect", "event", "event", "event", "ack"]))
    namespace = draw(_known_namespaces)
    if kind == "connect":
        auth = draw(st.none() | st.fixed_dictionaries({"deny": st.booleans()}) | json_values)
        pkt = sio_packet.Packet(sio_packet.CONNECT, auth, namespace=namespace)
    elif kind == "disconnect":
        pkt = sio_packet.Packet(sio_packet.DISCONNECT, namespace=namespace)
    else:
        args = draw(st.lists(json_values | st.binary(max_size=4), max_size=3))
        ack_id = draw(st.none() | st.integers(min_value=0, max_value=2**31))
        if kind == "ack":
            pkt = sio_packet.Packet(sio_packet.ACK, args, namespace=namespace, id=ack_id or 0)
        else:
            data = [draw(event_names), *args]
            pkt = sio_packet.Packet(sio_packet.EVENT, data, namespace=namespace, id=ack_id)
    encoded = pkt.encode()
    return list(encoded) if isinstance(encoded, list) else [encoded]


@st.composite
def packets(draw: st.DrawFn) -> str:
    """One encoded Socket.IO packet, mostly well-formed, every field sometimes wrong."""
    packet_type = draw(
        st.sampled_from(["0", "1", "2", "2", "2", "3", "4", "5", "6"])
        | st.sampled_from(["7", "9", "٣", "x", " ", ""])
    )
    attachments = draw(
        st.sampled_from([None, None, None])
        | st.integers(min_value=0, max_value=12).map(lambda count: f"{count}-")
        | st.sampled_from(["-", "1x-", "²-", "99999999999-"])
    )
    namespace = draw(_namespaces)
    ack_id = draw(
        st.none()
        | st.integers(min_value=0, max_value=2**40).map(str)
        | st.sampled_from(["0" * 120, "1" * 101])
    )
    encoded = packet_type + (attachments or "")
    if namespace and namespace != "/":
        encoded += namespace + ","
    return encoded + (ack_id or "") + _payload(draw)


@st.composite
def deep_packets(draw: st.DrawFn) -> list[str | bytes]:
    """An event whose argument nests arrays up to 3000 levels deep, around a plain value or
    a binary placeholder followed by its attachment: past the JSON decoder's limit, and
    between the depth the decoder takes and the one python-socketio can rebuild."""
    binary = draw(st.booleans())
    depth = draw(st.integers(min_value=1, max_value=3000))
    return deep_event(depth, binary)


def deep_event(depth: int, binary: bool) -> list[str | bytes]:
    """An ``echo`` event whose argument nests arrays ``depth`` deep (see :func:`deep_packets`)."""
    inner = '{"_placeholder":true,"num":0}' if binary else "1"
    head = "51-" if binary else "2"
    text = head + '["echo",' + "[" * depth + inner + "]" * depth + "]"
    return [text, b"\x00"] if binary else [text]


#: Raw Engine.IO message bodies: any text or bytes.
raw_messages: st.SearchStrategy[str | bytes] = st.text(max_size=40) | st.binary(max_size=16)


@st.composite
def packet_sequences(draw: st.DrawFn) -> list[str | bytes]:
    """What one client sends: packets, their binary attachments (usually the right number),
    stray bytes and random text."""
    sent: list[str | bytes] = []
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        choice = draw(st.sampled_from(["correct"] * 5 + ["packet"] * 3 + ["raw", "deep"]))
        if choice == "correct":
            sent.extend(draw(wellformed_packets()))
        elif choice == "raw":
            sent.append(draw(raw_messages))
        elif choice == "deep":
            sent.extend(draw(deep_packets()))
        else:
            text = draw(packets())
            sent.append(text)
            if text[:1] in ("5", "6") and "-" in text[:4]:
                count = draw(st.integers(min_value=0, max_value=3))
                sent.extend(draw(st.binary(max_size=8)) for _ in range(count))
    return sent
