"""Engine.IO on the wire, as node's reference server answers (the engine.io-protocol test suite).

Raw requests (``requests`` and hand-made websocket frames) check what a client
observes: the handshake's timings, the requests refused with HTTP 400, the
heartbeat's deadline, the close of a long-polling session, the packets of an
upgrade and the sockets' ``TCP_NODELAY``. ``0{...}`` is the open packet,
``1`` CLOSE, ``2`` PING, ``3`` PONG, ``5`` UPGRADE, ``6`` NOOP; Socket.IO
packets ride in MESSAGE packets (``40``, ``42[...]``...).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from adversarial._raw import ENGINEIO_PATH, Closed, RawPolling, RawWebSocket
from engineio import payload

from flask_sockevents import EventKind, SockEvents
from flask_sockevents.connections import GuardedWSGIServer
from flask_sockevents.testing import LiveServer

from ._node import run_node_client
from ._support import TIMEOUT, AppFactory, BusLog, Clients, Serve, wait_for

#: Seconds a deadline on the server may be late on a busy machine (greenlet scheduling).
SCHEDULING_ALLOWANCE = 0.25


def _engineio_socket(sockevents: SockEvents, eio_sid: str) -> Any:
    assert sockevents.server is not None
    return sockevents.server.eio.sockets[eio_sid]


def _upgrade(port: int, eio_sid: str) -> RawWebSocket:
    """Open the websocket that upgrades long-polling session ``eio_sid``."""
    ws = RawWebSocket(port, expect_upgrade=False, query=f"EIO=4&transport=websocket&sid={eio_sid}")
    assert ws.status == 101, ws.handshake
    return ws


# -- the handshake ------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_the_handshake_advertises_the_ping_timings_in_exact_milliseconds(
    make_app: AppFactory, serve: Serve, transport: str
) -> None:
    app, _ = make_app(ping_interval=0.3, ping_timeout=0.2)
    server = serve(app)

    if transport == "polling":
        opened = RawPolling(server.url).opened
        handshake = json.loads(opened.text[1:])
    else:
        ws = RawWebSocket(server.port)
        handshake = ws.open_packet
        ws.close()

    assert handshake["pingInterval"] == 300
    assert handshake["pingTimeout"] == 200


NODE_CLIENT_STAYS = """
const { io } = require("socket.io-client");
const socket = io(process.argv[2], { reconnection: false, transports: [TRANSPORT] });
const report = { pings: 0, disconnected: null };
socket.on("connect", () => {
  socket.io.engine.on("ping", () => { report.pings += 1; });
  setTimeout(() => {
    report.connected = socket.connected;
    console.log(JSON.stringify(report));
    socket.close();
  }, 1500);
});
socket.on("disconnect", (reason) => { report.disconnected = reason; });
socket.on("connect_error", (err) => { console.log(JSON.stringify({ error: err.message })); });
"""


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_the_javascript_client_stays_connected_with_a_sub_second_ping_interval(
    make_app: AppFactory, serve: Serve, tmp_path: Path, transport: str
) -> None:
    """With 0 advertised, the client expected a ping within pingTimeout and dropped the server."""
    app, _ = make_app(ping_interval=0.3, ping_timeout=0.2)
    server = serve(app)

    script = NODE_CLIENT_STAYS.replace("TRANSPORT", json.dumps(transport))
    report = run_node_client(script, server.url, tmp_path)

    assert report == {"pings": report["pings"], "disconnected": None, "connected": True}
    assert report["pings"] >= 2


# -- requests refused with 400 ------------------------------------------------------


@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc"], ids=["none", "unknown"])
def test_a_request_without_a_known_transport_is_refused_with_400(
    make_app: AppFactory, serve: Serve, query: str
) -> None:
    app, _ = make_app()
    server = serve(app)

    answer = requests.get(f"{server.url}/socket.io/?{query}", timeout=TIMEOUT)

    assert answer.status_code == 400


@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc"], ids=["none", "unknown"])
def test_a_websocket_handshake_without_a_known_transport_is_refused_with_400(
    make_app: AppFactory, serve: Serve, query: str
) -> None:
    app, _ = make_app()
    server = serve(app)

    ws = RawWebSocket(server.port, expect_upgrade=False, query=query)

    assert ws.status == 400
    ws.close()


def test_a_handshake_its_engineio_connect_handler_refuses_opens_no_session_on_either_transport(
    make_app: AppFactory, serve: Serve
) -> None:
    # python-engineio's way to refuse a session: its connect handler returns False.
    app, sockevents = make_app()
    assert sockevents.server is not None
    sockevents.server.eio.handlers["connect"] = lambda sid, environ: False
    server = serve(app)

    polling = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=TIMEOUT)
    ws = RawWebSocket(server.port, expect_upgrade=False)
    _, messages = ws.wait_closed()  # upgraded before the app runs, then closed unopened
    ws.close()

    assert polling.status_code == 401
    assert messages == []
    assert sockevents.server.eio.sockets == {}


@pytest.mark.parametrize(
    "query",
    ["EIO=3&transport=websocket", "EIO=4&transport=websocket&EIO=4"],
    ids=["EIO=3", "EIO-twice"],
)
def test_a_websocket_handshake_with_another_or_a_repeated_eio_opens_no_session(
    make_app: AppFactory, serve: Serve, query: str
) -> None:
    # python-engineio compares the list of EIO values with ["4"]: a repeated
    # field is another protocol version, whatever its values.
    app, sockevents = make_app()
    server = serve(app)

    ws = RawWebSocket(server.port, expect_upgrade=False, query=query)
    _, messages = ws.wait_closed()
    ws.close()

    assert messages == []
    assert sockevents.server.eio.sockets == {}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_handshake_by_another_method_than_get_is_refused_with_400(
    make_app: AppFactory, serve: Serve, method: str
) -> None:
    app, _ = make_app()
    server = serve(app)

    answer = requests.request(method, server.url + ENGINEIO_PATH + "polling", timeout=TIMEOUT)

    assert answer.status_code == 400


# -- heartbeat and close of a long-polling session ----------------------------------


def test_a_polling_client_that_stops_answering_pings_is_closed_within_interval_plus_timeout(
    make_app: AppFactory, serve: Serve, bus_log: BusLog
) -> None:
    """The session ends pingTimeout after the unanswered ping; every later request gets 400."""
    ping_interval, ping_timeout = 0.2, 1.0
    app, sockevents = make_app(ping_interval=ping_interval, ping_timeout=ping_timeout)
    sockevents.listen("*", namespace="*")(bus_log)
    server = serve(app)
    opened_at = time.monotonic()
    session = RawPolling(server.url)
    session.connect()

    time.sleep(max(0.0, opened_at + ping_interval + ping_timeout - time.monotonic()))
    time.sleep(SCHEDULING_ALLOWANCE)

    assert requests.get(session.endpoint, timeout=TIMEOUT).status_code == 400
    assert session.post("3").status_code == 400
    [disconnect] = wait_for(lambda: bus_log.of_kind(EventKind.DISCONNECT))
    assert disconnect.args == (SockEvents.reason.PING_TIMEOUT,)


def test_a_close_packet_posted_while_a_get_is_pending_ends_that_get_with_a_noop(
    make_app: AppFactory, serve: Serve
) -> None:
    app, sockevents = make_app(ping_interval=25)
    server = serve(app)
    session = RawPolling(server.url)
    assert session.eio_sid is not None
    answers: list[requests.Response] = []
    pending = threading.Thread(
        target=lambda: answers.append(requests.get(session.endpoint, timeout=TIMEOUT))
    )
    pending.start()
    wait_for(lambda: _engineio_socket(sockevents, session.eio_sid or "").polls_waiting == 1)

    assert session.post("1").status_code == 200
    pending.join(TIMEOUT)

    [answer] = answers
    assert (answer.status_code, answer.text) == (200, "6")
    assert requests.get(session.endpoint, timeout=TIMEOUT).status_code == 400


# -- the answer to a poll -----------------------------------------------------------

#: Events queued for a long-polling session before its next GET: more than the
#: 16 packets python-engineio's client decodes from one payload.
BURST = 40


def test_a_poll_answers_no_more_packets_than_python_engineio_decodes_and_the_next_polls_the_rest(
    make_app: AppFactory, serve: Serve
) -> None:
    """python-engineio's client refuses a payload of over 16 packets and drops the connection."""
    app, sockevents = make_app(ping_interval=25)
    server = serve(app)
    session = RawPolling(server.url)
    assert session.eio_sid is not None
    session.connect()
    queue = _engineio_socket(sockevents, session.eio_sid).queue

    for n in range(BURST):
        sockevents.emit("news", n)
    wait_for(lambda: queue.qsize() == BURST)

    received: list[Any] = []
    while len(received) < BURST:
        answer = requests.get(session.endpoint, timeout=TIMEOUT)
        assert answer.status_code == 200
        packets = payload.Payload(encoded_payload=answer.text).packets  # the client's decoder
        assert packets
        received += [json.loads(pkt.data[1:]) for pkt in packets]
    assert received == [["news", n] for n in range(BURST)]
    assert queue.qsize() == 0


def test_a_python_socketio_client_receives_a_burst_emitted_in_one_handler_in_full(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    """Over polling, the burst is queued before the pending GET runs: more than one payload."""
    app, sockevents = make_app(ping_interval=25)

    @sockevents.on("burst")
    def burst() -> None:
        for n in range(BURST):
            sockevents.emit("news", n, to=flask.request.sid)  # type: ignore[attr-defined]

    server = serve(app)
    client = clients.new()
    news: list[int] = []
    client.on("news", news.append)
    clients.connect(server.url, client)

    client.emit("burst")

    wait_for(lambda: len(news) == BURST or not client.connected)
    assert client.connected
    assert news == list(range(BURST))


# -- the upgrade --------------------------------------------------------------------


def _echo_app(make_app: AppFactory) -> tuple[Any, SockEvents]:
    app, sockevents = make_app(ping_interval=25)

    @sockevents.on("echo")
    def echo(value: Any) -> Any:
        return value

    return app, sockevents


def test_an_upgrade_ends_a_pending_poll_with_one_noop_and_writes_none_on_the_websocket(
    make_app: AppFactory, serve: Serve
) -> None:
    app, sockevents = _echo_app(make_app)
    server = serve(app)
    session = RawPolling(server.url)
    session.connect()
    polled: list[str] = []
    pending = threading.Thread(target=lambda: polled.append(session.get()))
    pending.start()
    wait_for(lambda: _engineio_socket(sockevents, session.eio_sid or "").polls_waiting == 1)
    ws = _upgrade(server.port, session.eio_sid or "")

    ws.send_text("2probe")
    assert ws.recv_text() == "3probe"
    pending.join(TIMEOUT)
    ws.send_text("5", '421["echo","after"]')

    assert polled == ["6"]
    assert ws.recv_text() == '431["after"]'  # the first packet on the websocket is the answer
    ws.close()


def test_an_upgrade_without_a_pending_poll_writes_no_noop_at_all(
    make_app: AppFactory, serve: Serve
) -> None:
    app, _ = _echo_app(make_app)
    server = serve(app)
    session = RawPolling(server.url)
    session.connect()
    ws = _upgrade(server.port, session.eio_sid or "")

    ws.send_text("2probe")
    assert ws.recv_text() == "3probe"
    ws.send_text("5", '421["echo","after"]')

    assert ws.recv_text() == '431["after"]'
    ws.close()


NODE_CLIENT_UPGRADES = """
const { io } = require("socket.io-client");
const socket = io(process.argv[2], { reconnection: false });
const seen = [];
socket.io.on("open", () => {
  const engine = socket.io.engine;
  engine.transport.on("poll", () => seen.push("poll"));
  engine.on("packet", (packet) => {
    if (packet.type === "noop") seen.push("noop on " + engine.transport.name);
  });
  engine.on("upgrade", () => {
    socket.timeout(5000).emit("echo", "after", (err, value) => {
      console.log(JSON.stringify({ seen, transport: engine.transport.name, err: !!err, value }));
      socket.close();
    });
  });
});
"""


def test_the_javascript_client_gets_a_noop_only_to_end_a_pending_poll_and_none_on_the_websocket(
    make_app: AppFactory, serve: Serve, tmp_path: Path
) -> None:
    """Each NOOP answers a poll of its own: never two for one poll, never one on the websocket."""
    app, _ = _echo_app(make_app)
    server = serve(app)

    report = run_node_client(NODE_CLIENT_UPGRADES, server.url, tmp_path)

    assert report["transport"] == "websocket"
    assert (report["err"], report["value"]) == (False, "after")
    seen = report["seen"]
    assert "noop on websocket" not in seen
    noops = [i for i, what in enumerate(seen) if what == "noop on polling"]
    for before, after in zip([-1, *noops], noops, strict=False):
        assert "poll" in seen[before + 1 : after], seen


# -- TCP_NODELAY ----------------------------------------------------------------------


@pytest.fixture
def nodelay_seen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``TCP_NODELAY`` of the server's accepted socket, read at each request it serves.

    The served handler class is replaced by a subclass that only reads the
    option (``getsockopt``), so the test sees the kernel's state of each
    accepted socket.
    """
    seen: list[int] = []

    served_handler = GuardedWSGIServer.handler_class

    class ReadingHandler(served_handler):  # type: ignore[misc, valid-type]
        def handle_one_request(self) -> Any:
            seen.append(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return super().handle_one_request()

    monkeypatch.setattr(GuardedWSGIServer, "handler_class", ReadingHandler)
    return seen


def test_every_accepted_socket_has_tcp_nodelay_set(
    make_app: AppFactory, nodelay_seen: list[int]
) -> None:
    app, _ = _echo_app(make_app)
    with LiveServer(app) as server:
        session = RawPolling(server.url)  # a handshake, on its own connection
        session.connect()  # a POST and a GET
        ws = _upgrade(server.port, session.eio_sid or "")
        ws.send_text("2probe")
        assert ws.recv_text() == "3probe"
        ws.close()
        fresh = RawWebSocket(server.port)
        fresh.close()

    assert len(nodelay_seen) >= 5
    assert all(nodelay_seen), nodelay_seen


@pytest.mark.skipif(sys.platform != "linux", reason="accepted sockets inherit it on Linux")
def test_tcp_nodelay_is_set_on_the_listening_socket_and_every_accepted_one_has_it(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []  # (accepted socket's, listening socket's), per connection

    class ReadingHandler(GuardedWSGIServer.handler_class):  # type: ignore[misc, name-defined]
        def handle_one_request(self) -> Any:
            option = (socket.IPPROTO_TCP, socket.TCP_NODELAY)
            seen.append((self.socket.getsockopt(*option), self.server.socket.getsockopt(*option)))
            return super().handle_one_request()

    monkeypatch.setattr(GuardedWSGIServer, "handler_class", ReadingHandler)
    app, _ = _echo_app(make_app)
    with LiveServer(app) as server:
        for _ in range(6):  # one after the other: the first, then those inheriting it
            ws = RawWebSocket(server.port)
            ws.connect()
            ws.close()

    assert len(seen) == 6
    assert all(accepted and listening for accepted, listening in seen), seen


@pytest.mark.parametrize(
    "query",
    [
        "EIO=4&transport=websocket",
        "EIO=4&transport=polling&t=Nx1&sid=abc",
        "transport=&transport=polling",
        "flag&transport=websocket",
        "transport=web%73ocket",
        "sid=a+b&transport=polling",
        "&&transport=polling&",
        "transport=a=b",
        "",
    ],
)
def test_the_handshake_reads_a_query_as_parse_qs_does(query: str) -> None:
    from urllib.parse import parse_qs

    from flask_sockevents.engine import query_fields

    assert query_fields(query) == {name: values[0] for name, values in parse_qs(query).items()}


def test_a_percent_encoded_transport_is_the_transport_it_encodes(
    make_app: AppFactory, serve: Serve
) -> None:
    app, _ = make_app()
    server = serve(app)

    answer = requests.get(f"{server.url}/socket.io/?EIO=4&transport=p%6Flling", timeout=TIMEOUT)

    assert answer.status_code == 200
    assert answer.text.startswith("0{")


def test_a_websocket_handshake_refused_after_the_upgrade_gets_the_101_then_a_close_frame(
    make_app: AppFactory, serve: Serve
) -> None:
    app, sockevents = make_app()
    server = serve(app)
    assert sockevents.server is not None
    # The Engine.IO server's "connect" handler (python-engineio's handler
    # table), refusing as the per-address cap does when reached meanwhile.
    sockevents.server.eio.handlers["connect"] = lambda *args: {"message": "refused"}

    ws = RawWebSocket(server.port, expect_upgrade=False)

    assert ws.handshake.startswith(b"HTTP/1.1 101")
    with pytest.raises(Closed):
        ws.recv_frame()
