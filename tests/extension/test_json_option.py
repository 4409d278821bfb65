"""A JSON module the application gives (``json=``) reads every event and writes every ack.

The server reads and writes the usual event and ack texts without
python-socketio's ``Packet`` only with python-socketio's own JSON module; an
application's module must still be the one that decodes and encodes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import engineio.packet
import pytest
import socketio
from adversarial._raw import RawWebSocket
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.testing import LiveServer


@pytest.fixture
def restore_json() -> Iterator[None]:
    """python-socketio's json option is process-wide: put the standard one back."""
    saved = socketio.packet.Packet.json, engineio.packet.Packet.json
    yield
    socketio.packet.Packet.json, engineio.packet.Packet.json = saved


class RecordingJSON:
    """A JSON module that notes what it decodes and encodes."""

    calls: list[tuple[str, Any]] = []

    @staticmethod
    def loads(text: str, **options: Any) -> Any:
        RecordingJSON.calls.append(("loads", text))
        return json.loads(text, **options)

    @staticmethod
    def dumps(data: Any, **options: Any) -> str:
        RecordingJSON.calls.append(("dumps", data))
        return json.dumps(data, **options)


def test_the_applications_json_module_decodes_events_and_encodes_acks(restore_json: None) -> None:
    RecordingJSON.calls = []
    app = Flask(__name__)
    sockevents = SockEvents(app, json=RecordingJSON)
    sockevents.on("echo")(lambda value: value)

    with LiveServer(app) as server:
        ws = RawWebSocket(server.port)
        try:
            ws.connect()
            ws.send_text('427["echo",{"a":[1,"é"]}]', '42/,8["echo",2]')

            assert ws.recv_ack(7) == [{"a": [1, "é"]}]
            assert ws.recv_ack(8) == [2]
        finally:
            ws.sock.close()

    assert ("loads", '["echo",{"a":[1,"é"]}]') in RecordingJSON.calls
    assert ("loads", '["echo",2]') in RecordingJSON.calls
    assert ("dumps", [{"a": [1, "é"]}]) in RecordingJSON.calls
    assert ("dumps", [2]) in RecordingJSON.calls
