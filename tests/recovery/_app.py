"""The app every live recovery test serves, and a raw Socket.IO client that speaks recovery.

:func:`make_app` builds a Flask app with recovery on and the hooks a test
drives from outside the Socket.IO connection (plain HTTP, answered inside the
server like any request):

- ``GET /gap/<sid>`` waits until ``sid`` has left (its transport lost, its
  session kept), then emits :data:`GAP_EMITS` in that order: to the client's
  room, to everyone, to its sid, to a room it is not in, to everyone but it;
- ``GET /break/<sid>`` shuts the client's TCP socket down under its
  websocket, without a close frame;
- ``GET /shutdown`` runs the server's graceful shutdown (every transport
  closed; the server goes on accepting, as the next process would);
- ``GET /emit/<room>/<text>`` emits ``news`` with ``text`` to ``room``.

The last two take ``?namespace=`` (``/`` by default). Socket.IO events, in
every namespace: ``join`` (a room; answers the client's rooms), ``hello``
(the server emits ``news`` ``first`` to room ``r``, so that the client has
received an offset), ``remember``/``recall`` (the managed session).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import gevent
import websocket
from flask import Flask, request, session

from flask_sockevents import SockEvents, join_room, rooms

__all__ = ["GAP_EMITS", "MISSED", "RawClient", "make_app"]

#: What ``/gap/<sid>`` emits (event ``news``): (text, target, skip_sid).
GAP_EMITS = (
    ("room-1", "r", False),
    ("all-2", None, False),
    ("sid-3", "<sid>", False),
    ("other-room", "other", False),
    ("all-but-it", None, True),
    ("room-4", "r", False),
)
#: What a client in room ``r`` that left misses of them, in order.
MISSED = ["room-1", "all-2", "sid-3", "room-4"]
TIMEOUT = 5.0


def make_app(recovery: Any = True, **options: Any) -> tuple[Flask, SockEvents]:
    """A Flask app with ``connection_state_recovery=recovery`` and the hooks above."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "recovery"
    options.setdefault("ping_interval", 1)
    sockevents = SockEvents(app, connection_state_recovery=recovery, **options)

    @sockevents.on("join", namespace="*")
    def join(room: str) -> list[str]:
        join_room(room)
        return sorted(rooms())

    @sockevents.on("hello", namespace="*")
    def hello() -> None:
        sockevents.emit("news", "first", to="r", namespace=request.namespace)  # type: ignore[attr-defined]

    @sockevents.on("remember", namespace="*")
    def remember(value: Any) -> None:
        session["remembered"] = value

    @sockevents.on("recall", namespace="*")
    def recall() -> Any:
        return session.get("remembered")

    @app.route("/gap/<sid>")
    def gap(sid: str) -> str:
        server = sockevents.server
        assert server is not None
        namespace = request.args.get("namespace", "/")
        with gevent.Timeout(TIMEOUT):  # the server's own hub: wait cooperatively
            while server.manager.is_connected(sid, namespace):
                gevent.sleep(0.005)
        for text, target, skip in GAP_EMITS:
            to = sid if target == "<sid>" else target
            skip_sid = sid if skip else None
            sockevents.emit("news", text, to=to, skip_sid=skip_sid, namespace=namespace)
        return "sent"

    @app.route("/break/<sid>")
    def break_transport(sid: str) -> str:
        server = sockevents.server
        assert server is not None
        eio_sid = server.manager.eio_sid_from_sid(sid, "/")
        environ = server._connections[eio_sid].environ  # the websocket request's
        environ["wsgi.websocket"].handler.socket.shutdown(socket.SHUT_RDWR)
        return "broken"

    @app.route("/shutdown")
    def shutdown() -> str:
        server = sockevents.server
        assert server is not None
        return "finished" if server.shutdown_gracefully(TIMEOUT) else "late"

    @app.route("/emit/<room>/<text>")
    def emit_to(room: str, text: str) -> str:
        sockevents.emit("news", text, to=room, namespace=request.args.get("namespace", "/"))
        return "sent"

    return app, sockevents


class RawClient:
    """A Socket.IO client of one namespace over a raw websocket, speaking recovery as the
    JavaScript client does.

    It answers the server's pings, keeps its ``pid`` and the offset of the
    last event it received, and sends both in its CONNECT when it comes back.
    """

    def __init__(self, url: str, namespace: str = "/") -> None:
        self.url = url
        self.namespace = namespace
        self._prefix = "" if namespace == "/" else namespace + ","
        self.ws: websocket.WebSocket | None = None
        self.sid: str | None = None
        self.pid: str | None = None
        self.offset: str | None = None

    def connect(self, auth: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open a transport and CONNECT to ``/``; return the CONNECT answer's data.

        :raises AssertionError: when the server refuses (CONNECT_ERROR).
        """
        ws = websocket.create_connection(
            self.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
            timeout=TIMEOUT,
        )
        opening = ws.recv()
        assert isinstance(opening, str) and opening.startswith("0{"), opening
        self.ws = ws
        if self.pid is not None and self.offset is not None:
            auth = {"pid": self.pid, "offset": self.offset, **(auth or {})}
        ws.send("40" + self._prefix + (json.dumps(auth) if auth is not None else ""))
        reply = self._next_packet()
        assert reply.startswith("0{"), f"connect refused: {reply}"
        answer: dict[str, Any] = json.loads(reply[1:])
        self.sid = answer["sid"]
        self.pid = answer.get("pid")
        return answer

    def _next_packet(self) -> str:
        assert self.ws is not None
        while True:
            message = self.ws.recv()
            assert isinstance(message, str), message
            if message == "2":
                self.ws.send("3")
                continue
            assert message.startswith("4"), message
            kind, rest = message[1], message[2:]
            if self._prefix:
                assert rest.startswith(self._prefix), message
                rest = rest[len(self._prefix) :]
            return kind + rest

    def event(self) -> list[Any]:
        """The next EVENT's data (name first); its last string argument becomes the offset."""
        packet = self._next_packet()
        assert packet.startswith("2["), packet
        data: list[Any] = json.loads(packet[1:])
        if self.pid is not None and len(data) > 1 and isinstance(data[-1], str):
            self.offset = data[-1]
        return data

    def news(self, count: int) -> list[Any]:
        """The texts of the next ``count`` ``news`` events (their offsets left out)."""
        texts = []
        for _ in range(count):
            data = self.event()
            assert data[0] == "news", data
            texts.append(data[1])
        return texts

    def send(self, event: str, *args: Any) -> None:
        """Emit ``event`` without asking for an ack."""
        assert self.ws is not None
        self.ws.send("42" + self._prefix + json.dumps([event, *args]))

    def call(self, event: str, *args: Any) -> Any:
        """Emit ``event`` asking for an ack; return its data (events before it are skipped)."""
        assert self.ws is not None
        self.ws.send("42" + self._prefix + "1" + json.dumps([event, *args]))
        while True:
            packet = self._next_packet()
            if packet.startswith("31["):
                return json.loads(packet[2:])

    def until_closed(self) -> list[str]:
        """Every message the server sends until it closes the transport."""
        assert self.ws is not None
        messages = []
        while True:
            try:
                message = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                break
            if not message:  # the close frame
                break
            messages.append(message)
        self.ws = None
        return messages

    def break_transport(self) -> None:
        """Shut the TCP socket down under the websocket, without a close frame."""
        assert self.ws is not None and self.ws.sock is not None
        self.ws.sock.shutdown(socket.SHUT_RDWR)
        self.ws.sock.close()
        self.ws = None

    def disconnect(self) -> None:
        """Leave as a client does: DISCONNECT, then close the websocket."""
        if self.ws is not None:
            self.ws.send("41" + self._prefix)
            self.ws.close()
            self.ws = None
