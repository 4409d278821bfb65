"""The texts of an event and of its acknowledgement, read and written without a ``Packet``.

Nearly every packet a client sends is an EVENT whose text has one plain shape,
``2["chat",{...}]``, ``217["echo",...]`` (ack id 17) or ``2/room,17["chat",...]``
(namespace ``/room``), and nearly every packet the server answers with is the
ACK of one, ``317[...]``. python-socketio's ``Packet`` reads and writes any
packet: attachments, binary placeholders looked for in every argument, a JSON
decoder and encoder made for each call. Here:

1. :func:`parse_event` reads the namespace, the ack id and the arguments of an
   EVENT text of the plain shape with one JSON decoding, and returns ``None``
   for any other text (attachments, a query after the namespace, an id of
   non-ASCII digits, no array...), which then goes through ``Packet``: what it
   returns is what ``Packet(encoded_packet=text)`` decodes, and a text it
   cannot decode raises as ``Packet`` would;
2. :func:`ack_text` writes the text of an ACK with one JSON encoding, the same
   characters ``Packet(ACK, ...).encode()`` writes, and returns ``None`` when
   the answer is not plain JSON (binary data goes through ``Packet``, and so
   does anything JSON cannot encode: ``Packet`` then raises as before);
3. :func:`plain_packets` says when they apply: the server's packets are
   python-socketio's own ``Packet`` (not the msgpack serializer, not a class
   the application gave) and its JSON module is python-socketio's default.
   Otherwise every packet goes through the packet class, as python-socketio
   does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engineio import json as engineio_json
from socketio import packet as sio_packet

__all__ = ["ack_text", "parse_event", "plain_packets"]

# python-socketio's JSON module (engineio.json) decodes with ``parse_int=_safe_int``
# (integers of more than 100 digits are refused) and encodes with compact
# separators; one decoder and one encoder with the same settings, made once.
_DECODER = json.JSONDecoder(parse_int=engineio_json._safe_int)
_ENCODER = json.JSONEncoder(separators=(",", ":"))
# The scanner json.loads ends in (C), called without the Python layers above it,
# and the standard library's JSON internals below: not typed by typeshed.
_scan = _DECODER.scan_once  # type: ignore[attr-defined]
_after_whitespace = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]
# The C encoder JSONEncoder.encode makes for each call, made once. Its table of
# the containers being encoded (circular references) is empty again after
# every encoding that succeeds; one that fails clears it.
_markers: dict[int, Any] = {}
_c_encode = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        _markers,
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)
_MAX_ID_DIGITS = 100  # python-socketio refuses an id of more digits
# EVENT, an optional namespace up to the first comma, ASCII digits of an ack id, the array.
_EVENT_HEAD = re.compile(r"2(?:(/[^,]*),)?([0-9]*)\[")


def plain_packets(packet_class: type[Any]) -> bool:
    """Whether the texts of ``packet_class`` may be read and written by this module.

    True for python-socketio's ``Packet`` (possibly under
    :func:`~flask_sockevents.operations.measured_packet_class`, which only notes
    sizes) with python-socketio's default JSON module.
    """
    base = packet_class if packet_class is sio_packet.Packet else packet_class.__base__
    return (
        base is sio_packet.Packet
        and packet_class.json is engineio_json
        and packet_class.uses_binary_events
    )


def parse_event(text: str) -> tuple[str, int | None, Any] | None:
    """``(namespace, ack id, data)`` of an EVENT text (``"2..."``) of the plain shape, or ``None``.

    The namespace is ``"/"`` when the text names none; the data is the decoded
    JSON array (not checked further: the reader checks it as it checks
    ``Packet.data``).

    :raises ValueError: the JSON is malformed or has an integer of more than
        100 digits (``json.JSONDecodeError`` is a ``ValueError``).
    :raises RecursionError: the JSON is nested too deeply.
    """
    head = _EVENT_HEAD.match(text)
    if head is None:
        return None
    namespace, digits = head.groups()
    if namespace is None:
        namespace = "/"
    elif "?" in namespace:
        return None
    if len(digits) > _MAX_ID_DIGITS:
        return None
    return namespace, int(digits) if digits else None, _decode_array(text, head.end() - 1)


def _decode_array(text: str, start: int) -> Any:
    """``json.loads(text[start:])`` (python-socketio's settings), for a JSON array at ``start``."""
    try:
        data, end = _scan(text, start)
    except StopIteration as exc:  # not a JSON value there (raw_decode's translation)
        raise json.JSONDecodeError("Expecting value", text, exc.value) from None
    end = _after_whitespace(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return data


def _encode(data: list[Any]) -> str:
    """``json.dumps(data, separators=(",", ":"))``, as python-socketio encodes a packet's data."""
    if _c_encode is None:  # pragma: no cover - a Python without the json accelerator
        return _ENCODER.encode(data)
    try:
        return "".join(_c_encode(data, 0))
    except BaseException:
        _markers.clear()
        raise


def ack_text(namespace: str, ack_id: int, data: list[Any]) -> str | None:
    """The text of the ACK ``ack_id`` carrying ``data`` in ``namespace``, or ``None``.

    ``None`` when ``data`` is not plain JSON: binary data, or anything the
    JSON encoder refuses.
    """
    try:
        encoded = _encode(data)
    except Exception:  # bytes (a binary ACK), or what Packet's encoding refuses too
        return None
    if namespace == "/":
        return f"3{ack_id}{encoded}"
    return f"3{namespace},{ack_id}{encoded}"
