"""What a connect handler emits reaches the client after the CONNECT packet, as node's server does.

A connect handler may still refuse after emitting, so what it sends the
connecting client waits for its verdict: accepted, the client gets CONNECT
(``40{"sid":...}``) and then the emits in order; refused, it gets the
CONNECT_ERROR (``44{...}``) and nothing else. python-socketio (so
Flask-SocketIO) sends the emits first unless ``always_connect=True``; the
tests comparing the two spell out both orders. ``41`` is a DISCONNECT and
``42[...]`` an EVENT.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import flask_socketio
import gevent
import pytest
from adversarial._raw import OPCODE_BINARY, RawPolling, RawWebSocket
from flask import Flask

import flask_sockevents
from flask_sockevents import (
    ConnectionRefusedError,
    EventKind,
    Outcome,
    SockEvents,
    emit,
    join_room,
    send,
)

from ._node import run_node_client
from ._support import TIMEOUT, AppFactory, BusLog, Clients, Serve, wait_for

#: ``emit_two(sockevents)``: sends events "one" then "two" to the connecting client.
EmitTwo = Callable[[SockEvents], None]


def _context_emit(sockevents: SockEvents) -> None:
    emit("one")
    emit("two")


def _extension_emit_to_sid(sockevents: SockEvents) -> None:
    sockevents.emit("one", to=flask.request.sid)  # type: ignore[attr-defined]
    sockevents.emit("two", to=flask.request.sid)  # type: ignore[attr-defined]


def _server_emit_to_sid(sockevents: SockEvents) -> None:
    assert sockevents.server is not None
    sockevents.server.emit("one", to=flask.request.sid)  # type: ignore[attr-defined]
    sockevents.server.emit("two", to=flask.request.sid)  # type: ignore[attr-defined]


def _send(sockevents: SockEvents) -> None:
    send("one")
    send("two")


def _room_emit(sockevents: SockEvents) -> None:
    join_room("lobby")
    emit("one", to="lobby")
    emit("two", to="lobby")


def _broadcast(sockevents: SockEvents) -> None:
    emit("one", broadcast=True)
    emit("two", broadcast=True)


EMITS: dict[str, tuple[EmitTwo, list[str]]] = {
    "context emit": (_context_emit, ['2["one"]', '2["two"]']),
    "sockevents.emit to the sid": (_extension_emit_to_sid, ['2["one"]', '2["two"]']),
    "server.emit to the sid": (_server_emit_to_sid, ['2["one"]', '2["two"]']),
    "send": (_send, ['2["message","one"]', '2["message","two"]']),
    "join_room and emit to the room": (_room_emit, ['2["one"]', '2["two"]']),
    "broadcast": (_broadcast, ['2["one"]', '2["two"]']),
}


class RawClient:
    """A raw Socket.IO client over one transport: send packets, read them one by one."""

    def __init__(self, url: str, port: int, transport: str) -> None:
        self.polling = RawPolling(url) if transport == "polling" else None
        self.websocket = RawWebSocket(port) if transport == "websocket" else None
        self.unread: list[str] = []

    def send(self, text: str) -> None:
        if self.polling is not None:
            assert self.polling.post(text).status_code == 200
        else:
            assert self.websocket is not None
            self.websocket.send_text(text)

    def receive(self) -> str:
        """The next Socket.IO packet (Engine.IO pings are answered and skipped)."""
        if self.websocket is not None:
            return self.websocket.recv_text()[1:]
        assert self.polling is not None
        while not self.unread:
            for packet in self.polling.get().split("\x1e"):
                if packet == "2":
                    self.polling.post("3")
                elif packet.startswith("4"):
                    self.unread.append(packet[1:])
        return self.unread.pop(0)

    def receive_many(self, count: int) -> list[str]:
        return [self.receive() for _ in range(count)]

    def close(self) -> None:
        if self.websocket is not None:
            self.websocket.close()


@pytest.fixture
def raw_clients(serve: Serve) -> Any:
    """Open :class:`RawClient` s on a served app; closed at the end of the test."""
    opened: list[RawClient] = []

    def open_one(server: Any, transport: str) -> RawClient:
        client = RawClient(server.url, server.port, transport)
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        client.close()


def _connected_sid(packet: str) -> str:
    assert packet.startswith('0{"sid":'), packet
    return str(json.loads(packet[1:])["sid"])


# -- flask_sockevents: CONNECT first, or CONNECT_ERROR alone --------------------------


@pytest.mark.parametrize("how", list(EMITS))
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_what_a_connect_handler_emits_follows_the_connect_packet(
    make_app: AppFactory, serve: Serve, raw_clients: Any, how: str, transport: str
) -> None:
    emit_two, expected = EMITS[how]
    app, sockevents = make_app(ping_interval=25)

    @sockevents.on("connect")
    def connect(auth: Any = None) -> None:
        emit_two(sockevents)

    client = raw_clients(serve(app), transport)

    client.send("40")
    first, *emitted = client.receive_many(3)

    _connected_sid(first)
    assert emitted == expected


def _refuse_by_returning_false() -> Any:
    return False


def _refuse_by_raising() -> Any:
    raise ConnectionRefusedError("not you")


@pytest.mark.parametrize(
    "refuse", [_refuse_by_returning_false, _refuse_by_raising], ids=["return False", "raise"]
)
@pytest.mark.parametrize("how", list(EMITS))
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_refused_client_gets_the_connect_error_and_nothing_the_handler_emitted(
    make_app: AppFactory,
    serve: Serve,
    raw_clients: Any,
    how: str,
    transport: str,
    refuse: Callable[[], Any],
) -> None:
    emit_two, _ = EMITS[how]
    app, sockevents = make_app(ping_interval=25)

    @sockevents.on("connect")
    def connect(auth: Any = None) -> Any:
        if auth != {"pass": True}:
            emit_two(sockevents)
            return refuse()
        emit("welcome")
        return None

    client = raw_clients(serve(app), transport)

    client.send("40")
    client.send('40{"pass":true}')  # accepted: its CONNECT is the barrier
    refused, connected, welcome = client.receive_many(3)

    assert refused.startswith("4{"), refused
    _connected_sid(connected)
    assert welcome == '2["welcome"]'


def test_a_binary_emit_of_a_connect_handler_follows_the_connect_packet_with_its_attachment(
    make_app: AppFactory, serve: Serve
) -> None:
    app, sockevents = make_app(ping_interval=25)

    @sockevents.on("connect")
    def connect(auth: Any = None) -> None:
        emit("blob", b"\x00\x01")
        emit("after")

    server = serve(app)
    ws = RawWebSocket(server.port)

    ws.send_text("40")
    connected = ws.recv_text()
    header = ws.recv_text()
    opcode, attachment = ws.recv_frame()
    after = ws.recv_text()

    _connected_sid(connected[1:])
    assert header == '451-["blob",{"_placeholder":true,"num":0}]'
    assert (opcode, attachment) == (OPCODE_BINARY, b"\x00\x01")
    assert after == '42["after"]'
    ws.close()


def test_packets_of_the_clients_other_namespaces_are_not_held_by_a_connect(
    make_app: AppFactory, serve: Serve
) -> None:
    app, sockevents = make_app(ping_interval=25, namespaces=["/", "/chat"])
    root_sids: list[str] = []

    @sockevents.on("connect")
    def connect_root(auth: Any = None) -> None:
        root_sids.append(flask.request.sid)  # type: ignore[attr-defined]

    @sockevents.on("connect", namespace="/chat")
    def connect_chat(auth: Any = None) -> bool:
        sockevents.emit("to-root", to=root_sids[0], namespace="/")
        emit("to-chat")
        return False

    server = serve(app)
    ws = RawWebSocket(server.port)
    ws.connect()

    ws.send_text("40/chat,")
    received = [ws.recv_text(), ws.recv_text()]

    assert received[0] == '42["to-root"]'
    assert received[1].startswith("44/chat,{"), received
    ws.close()


def test_a_client_gone_while_its_connect_handler_ran_is_disconnected_once_it_is_accepted(
    make_app: AppFactory, serve: Serve, bus_log: BusLog
) -> None:
    app, sockevents = make_app(ping_interval=25)
    sockevents.listen("*", namespace="*")(bus_log)
    entered, release = threading.Event(), threading.Event()

    @sockevents.on("connect")
    def connect(auth: Any = None) -> None:
        entered.set()
        while not release.is_set():
            gevent.sleep(0.01)  # the server's loop runs on; the transport closes meanwhile

    server = serve(app)
    ws = RawWebSocket(server.port)
    ws.send_text("40")
    assert entered.wait(TIMEOUT)
    ws.close()
    wait_for(lambda: sockevents.server is not None and not sockevents.server.eio.sockets)

    release.set()

    [connected] = wait_for(lambda: bus_log.of_kind(EventKind.CONNECT))
    [disconnected] = wait_for(lambda: bus_log.disconnects(connected.sid))
    assert connected.outcome is Outcome.HANDLED
    assert disconnected.args == (SockEvents.reason.TRANSPORT_CLOSE,)
    assert sockevents.server is not None
    assert not sockevents.server.manager.is_connected(connected.sid, "/")


def test_a_client_gone_while_its_event_handler_blocks_is_closed_at_once_and_left_after_it(
    make_app: AppFactory, serve: Serve, bus_log: BusLog
) -> None:
    app, sockevents = make_app(ping_interval=25)
    sockevents.listen("*", namespace="*")(bus_log)
    entered, release = threading.Event(), threading.Event()

    @sockevents.on("slow")
    def slow() -> None:
        entered.set()
        while not release.is_set():
            gevent.sleep(0.01)  # blocks: the reading goes on in another greenlet

    server = serve(app)
    ws = RawWebSocket(server.port)
    sid = ws.connect()
    ws.send_text('42["slow"]')
    assert entered.wait(TIMEOUT)
    ws.close()

    # The session is closed while the handler still runs, not once it returns.
    wait_for(lambda: sockevents.server is not None and not sockevents.server.eio.sockets)
    assert not bus_log.disconnects(sid)
    release.set()

    [disconnected] = wait_for(lambda: bus_log.disconnects(sid))
    [event] = [e for e in bus_log.events if e.name == "slow"]
    assert bus_log.events.index(event) < bus_log.events.index(disconnected)
    assert disconnected.args == (SockEvents.reason.TRANSPORT_CLOSE,)


# -- compared with Flask-SocketIO (python-socketio's server) --------------------------

#: What a raw client reads after CONNECT ("40"), for each (import, always_connect).
ACCEPTED_ORDER = {
    ("flask_sockevents", False): ["CONNECT", "hello"],
    ("flask_socketio", False): ["hello", "CONNECT"],  # python-socketio answers last
    ("flask_sockevents", True): ["CONNECT", "hello"],
    ("flask_socketio", True): ["CONNECT", "hello"],
}
#: What it reads after a refused CONNECT, then an accepted one (the barrier).
REFUSED_ORDER = {
    ("flask_sockevents", False): ["CONNECT_ERROR", "CONNECT", "hello"],
    ("flask_socketio", False): ["hello", "CONNECT_ERROR", "hello", "CONNECT"],
    ("flask_sockevents", True): ["CONNECT", "hello", "DISCONNECT", "CONNECT", "hello"],
    ("flask_socketio", True): ["CONNECT", "hello", "DISCONNECT", "CONNECT", "hello"],
}
IMPORTS = {"flask_sockevents": flask_sockevents, "flask_socketio": flask_socketio}


def _hello_app(module_name: str, always_connect: bool) -> Flask:
    """An app whose connect handler emits "hello", and refuses a client without ``auth``."""
    module = IMPORTS[module_name]
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "order"
    socketio = module.SocketIO(  # type: ignore[attr-defined]
        app, async_mode="gevent", always_connect=always_connect, ping_interval=25
    )

    @socketio.on("connect")
    def connect(auth: Any = None) -> Any:
        module.emit("hello")  # type: ignore[attr-defined]
        return bool(auth)

    return app


def _name(packet: str) -> str:
    kinds = {"0": "CONNECT", "1": "DISCONNECT", "4": "CONNECT_ERROR"}
    if packet[0] in kinds:
        return kinds[packet[0]]
    return str(json.loads(packet[1:])[0])


@pytest.mark.parametrize("always_connect", [False, True], ids=["default", "always_connect"])
@pytest.mark.parametrize("module_name", list(IMPORTS))
def test_the_order_of_an_accepted_connect_compared_with_flask_socketio(
    serve: Serve, raw_clients: Any, module_name: str, always_connect: bool
) -> None:
    expected = ACCEPTED_ORDER[(module_name, always_connect)]
    client = raw_clients(serve(_hello_app(module_name, always_connect)), "websocket")

    client.send('40{"ok":1}')

    assert [_name(p) for p in client.receive_many(len(expected))] == expected


@pytest.mark.parametrize("always_connect", [False, True], ids=["default", "always_connect"])
@pytest.mark.parametrize("module_name", list(IMPORTS))
def test_the_order_of_a_refused_connect_compared_with_flask_socketio(
    serve: Serve, raw_clients: Any, module_name: str, always_connect: bool
) -> None:
    expected = REFUSED_ORDER[(module_name, always_connect)]
    client = raw_clients(serve(_hello_app(module_name, always_connect)), "websocket")

    client.send("40")
    client.send('40{"ok":1}')

    assert [_name(p) for p in client.receive_many(len(expected))] == expected


# -- real clients -----------------------------------------------------------------------

#: The order python-socketio's ``Client`` runs its handlers in, for each import.
CLIENT_ORDER = {
    "flask_sockevents": ["connect", "hello"],
    "flask_socketio": ["hello", "connect"],  # it handles an event before its namespace connects
}


@pytest.mark.parametrize("module_name", list(IMPORTS))
def test_python_socketio_client_gets_the_connect_then_the_handlers_emit(
    serve: Serve, clients: Clients, module_name: str
) -> None:
    server = serve(_hello_app(module_name, always_connect=False))
    seen: list[str] = []
    client = clients.new()
    client.on("connect", lambda: seen.append("connect"))
    client.on("hello", lambda: seen.append("hello"))

    clients.connect(server.url, client, auth={"ok": 1})

    wait_for(lambda: len(seen) == 2)
    assert seen == CLIENT_ORDER[module_name]


NODE_CLIENT = """
const { io } = require("socket.io-client");
const options = { reconnection: false, transports: [TRANSPORT], auth: { ok: 1 } };
const socket = io(process.argv[2], options);
const report = { packets: [], handled: [] };
socket.io.on("open", () => {
  socket.io.engine.on("packet", (packet) => {
    if (packet.type === "message") report.packets.push(packet.data.slice(0, 1));
  });
});
socket.on("connect", () => { report.handled.push("connect"); });
socket.on("hello", () => {
  report.handled.push("hello");
  console.log(JSON.stringify(report));
  socket.close();
});
"""


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_javascript_client_gets_the_connect_packet_first_then_the_event(
    serve: Serve, tmp_path: Path, transport: str
) -> None:
    server = serve(_hello_app("flask_sockevents", always_connect=False))

    script = NODE_CLIENT.replace("TRANSPORT", json.dumps(transport))
    report = run_node_client(script, server.url, tmp_path)

    assert report["packets"][:2] == ["0", "2"]  # CONNECT, then EVENT
    assert report["handled"] == ["connect", "hello"]
