"""json="orjson": packets encoded and decoded by orjson, over real transports."""

from __future__ import annotations

from collections.abc import Iterator

import engineio.packet
import pytest
import socketio
from flask import Flask

from flask_sockevents import SockEvents, fastjson
from flask_sockevents.testing import LiveServer


@pytest.fixture
def restore_json() -> Iterator[None]:
    """python-socketio's json option is process-wide: put the standard one back."""
    saved = socketio.packet.Packet.json, engineio.packet.Packet.json
    yield
    socketio.packet.Packet.json, engineio.packet.Packet.json = saved


def test_orjson_option_installs_the_adapter_for_both_protocol_layers(restore_json: None) -> None:
    SockEvents(Flask(__name__), json="orjson")

    assert socketio.packet.Packet.json is fastjson
    assert engineio.packet.Packet.json is fastjson


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_events_and_acks_round_trip_with_orjson(restore_json: None, transport: str) -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app, json="orjson")
    sockevents.on("echo")(lambda value: value)
    payload = {"text": "héllo ✓", "numbers": [1, 2.5, -3], "nested": {"ok": True, "none": None}}

    with LiveServer(app) as server:
        client = socketio.Client(reconnection=False)
        client.connect(server.url, transports=[transport])
        try:
            assert client.call("echo", payload, timeout=5) == payload
            assert client.call("echo", b"\x00\xffbinary", timeout=5) == b"\x00\xffbinary"
        finally:
            client.disconnect()


def test_adapter_accepts_and_ignores_json_keyword_arguments() -> None:
    assert fastjson.dumps({"a": [1, 2]}, separators=(",", ":")) == '{"a":[1,2]}'
    assert fastjson.loads('{"a":[1,2]}') == {"a": [1, 2]}


def test_adapter_refuses_what_orjson_cannot_decode() -> None:
    with pytest.raises(fastjson.JSONDecodeError):
        fastjson.loads("[" * 2000 + "]" * 2000)
