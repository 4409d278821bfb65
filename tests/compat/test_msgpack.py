"""Packet classes: ``serializer="msgpack"`` and custom ones, as python-socketio's server has them.

Each test runs against python-socketio's own ``socketio.Server`` and against
``sockevents.server`` (see ``_socketio_servers.py``), talking to python-socketio's
``Client`` built with the same serializer.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import gevent
import msgpack
import pytest
import socketio
from integration._support import TIMEOUT, InOrderClient, wait_for
from socketio.msgpack_packet import MsgPackPacket

from ._socketio_servers import IMPLEMENTATIONS, ServerUnderTest

BLOB = bytes(range(256)) * 4


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    """python-socketio's server or ours."""
    return str(request.param)


@pytest.fixture
def started() -> Iterator[list[Any]]:
    """Servers and clients a test starts, stopped at its end (clients first)."""
    opened: list[Any] = []
    yield opened
    for thing in reversed(opened):
        if isinstance(thing, socketio.Client):
            thing.shutdown()
        else:
            thing.stop()


def _serve(implementation: str, started: list[Any], **options: Any) -> ServerUnderTest:
    target = ServerUnderTest(implementation, **options)
    started.append(target)
    return target


def _client(started: list[Any], serializer: Any) -> InOrderClient:
    client = InOrderClient(reconnection=False, serializer=serializer)
    started.append(client)
    return client


def _connect(client: socketio.Client, target: ServerUnderTest, **options: Any) -> None:
    options.setdefault("transports", ["websocket"])
    client.connect(target.url, wait_timeout=TIMEOUT, **options)


# -- msgpack ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_msgpack_client_event_is_acknowledged(
    implementation: str, started: list[Any], transport: str
) -> None:
    target = _serve(implementation, started, serializer="msgpack")
    target.server.on("sum", lambda sid, numbers: {"total": sum(numbers), "count": len(numbers)})
    client = _client(started, "msgpack")
    _connect(client, target, transports=[transport])

    answer = client.call("sum", [1, 2, 3.5], timeout=TIMEOUT)

    assert answer == {"total": 6.5, "count": 3}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_msgpack_binary_payload_reaches_the_handler_and_comes_back_in_the_ack(
    implementation: str, started: list[Any], transport: str
) -> None:
    target = _serve(implementation, started, serializer="msgpack")
    received: list[Any] = []

    @target.server.on("store")
    def store(sid: str, name: str, blob: bytes) -> tuple[str, bytes]:
        received.append((name, blob))
        return name, blob[::-1]

    client = _client(started, "msgpack")
    _connect(client, target, transports=[transport])

    answer = client.call("store", ("file", BLOB), timeout=TIMEOUT)
    again = client.call("store", ("second", b"\x00\xff"), timeout=TIMEOUT)

    assert received == [("file", BLOB), ("second", b"\x00\xff")]
    assert answer == ("file", BLOB[::-1])
    assert again == ("second", b"\xff\x00")
    assert client.connected


def test_msgpack_server_emits_binary_payloads_to_the_client(
    implementation: str, started: list[Any]
) -> None:
    target = _serve(implementation, started, serializer="msgpack")
    server = target.server

    @server.on("send_me")
    def send_me(sid: str, size: int) -> None:
        server.emit("blob", {"data": BLOB[:size], "size": size}, to=sid)

    client = _client(started, "msgpack")
    blobs: list[Any] = []
    client.on("blob", blobs.append)
    _connect(client, target)

    client.emit("send_me", 100)

    wait_for(lambda: blobs)
    assert blobs == [{"data": BLOB[:100], "size": 100}]


def test_msgpack_server_emit_gets_the_clients_acknowledgement(
    implementation: str, started: list[Any]
) -> None:
    target = _serve(implementation, started, serializer="msgpack")
    server = target.server
    answers: list[Any] = []

    @server.on("ready")
    def ready(sid: str) -> None:
        def ask() -> None:
            server.emit("question", b"\x01\x02", to=sid, callback=lambda *a: answers.append(a))

        gevent.spawn(ask)

    client = _client(started, "msgpack")
    client.on("question", lambda data: (len(data), data + b"\x03"))
    _connect(client, target)

    client.emit("ready")

    wait_for(lambda: answers)
    assert answers == [(2, b"\x01\x02\x03")]


def test_msgpack_connect_carries_auth_to_several_namespaces(
    implementation: str, started: list[Any]
) -> None:
    target = _serve(implementation, started, serializer="msgpack")
    seen: list[tuple[str, Any]] = []
    target.server.on("connect", lambda sid, environ, auth: seen.append(("/", auth)))
    target.server.on(
        "connect", lambda sid, environ, auth: seen.append(("/chat", auth)), namespace="/chat"
    )
    target.server.on("where", lambda sid: "chat", namespace="/chat")
    client = _client(started, "msgpack")
    _connect(client, target, namespaces=["/", "/chat"], auth={"key": b"\x00k"})

    assert client.call("where", namespace="/chat", timeout=TIMEOUT) == "chat"
    assert sorted(seen) == [("/", {"key": b"\x00k"}), ("/chat", {"key": b"\x00k"})]


def test_msgpack_client_refused_at_connect_gets_the_message(
    implementation: str, started: list[Any]
) -> None:
    target = _serve(implementation, started, serializer="msgpack")

    @target.server.on("connect")
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        raise socketio.exceptions.ConnectionRefusedError("no entry")

    client = _client(started, "msgpack")
    errors: list[Any] = []
    client.on("connect_error", errors.append)

    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(client, target)
    wait_for(lambda: errors)
    assert errors == [{"message": "no entry"}]


# -- custom packet classes ----------------------------------------------------------


class _DateJSON:
    """A json module that carries datetimes as ``{"$date": isoformat}``."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        def encode(value: Any) -> Any:
            if isinstance(value, datetime.datetime):
                return {"$date": value.isoformat()}
            raise TypeError(f"cannot encode {type(value).__name__}")

        return json.dumps(obj, default=encode, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        def decode(value: dict[str, Any]) -> Any:
            if set(value) == {"$date"}:
                return datetime.datetime.fromisoformat(value["$date"])
            return value

        return json.loads(text, object_hook=decode, **kwargs)


class DatePacket(socketio.packet.Packet):
    """A text packet class whose payloads carry datetimes."""

    json = _DateJSON


def _encode_datetime(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return msgpack.ExtType(1, value.isoformat().encode())
    raise TypeError(f"cannot encode {type(value).__name__}")


def _decode_datetime(code: int, data: bytes) -> Any:
    if code == 1:
        return datetime.datetime.fromisoformat(data.decode())
    return msgpack.ExtType(code, data)


#: A binary packet class (msgpack with an extension type for datetimes).
DateMsgPackPacket = MsgPackPacket.configure(
    dumps_default=_encode_datetime, ext_hook=_decode_datetime
)


@pytest.mark.parametrize("packet_class", [DatePacket, DateMsgPackPacket], ids=["text", "binary"])
def test_custom_packet_class_decodes_and_encodes_both_ways(
    implementation: str, started: list[Any], packet_class: type[socketio.packet.Packet]
) -> None:
    target = _serve(implementation, started, serializer=packet_class)
    day = datetime.timedelta(days=1)
    target.server.on("tomorrow", lambda sid, when: when + day)
    client = _client(started, packet_class)
    _connect(client, target)
    now = datetime.datetime(2024, 2, 28, 12, 30)

    assert client.call("tomorrow", now, timeout=TIMEOUT) == now + day
