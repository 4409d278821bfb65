"""Tools for the integration tests: bounded waiting, a bus log, an in-order client, raw sockets."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import engineio
import socketio
import websocket
from flask import Flask

from flask_sockevents import Event, EventKind, Outcome, SockEvents, testing
from flask_sockevents.testing import LiveServer

__all__ = [
    "AppFactory",
    "BusLog",
    "Clients",
    "InOrderClient",
    "Serve",
    "closed_by_server",
    "open_raw_websocket",
    "raw_connect",
    "wait_for",
]

#: ``make_app(**options) -> (app, sockevents)``: a fresh app with SockEvents.
AppFactory = Callable[..., tuple[Flask, SockEvents]]
#: ``serve(app) -> LiveServer``: ``app`` served until the test ends.
Serve = Callable[[Flask], LiveServer]

#: Seconds any asynchronous outcome may take before a test gives up on it.
TIMEOUT = 5.0


wait_for = functools.partial(testing.wait_for, timeout=TIMEOUT)


class BusLog:
    """A listener that keeps every finished event it sees, in the order it saw them.

    Register it with ``sockevents.listen("*", namespace="*")(log)``.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of_kind(self, kind: EventKind, sid: str | None = None) -> list[Event]:
        """The events of ``kind`` (for client ``sid`` only, if given)."""
        return [e for e in list(self.events) if e.kind is kind and (sid is None or e.sid == sid)]

    def disconnects(self, sid: str) -> list[Event]:
        """The disconnects of client ``sid``."""
        return self.of_kind(EventKind.DISCONNECT, sid)

    def rejected(self, name: str) -> list[Event]:
        """The client events called ``name`` that were rejected."""
        return [
            e
            for e in list(self.events)
            if e.kind is EventKind.EVENT and e.name == name and e.outcome is Outcome.REJECTED
        ]

    def kinds_by_sid(self) -> dict[str | None, Counter[EventKind]]:
        """For each sid, how many events of each kind it produced."""
        tally: dict[str | None, Counter[EventKind]] = {}
        for event in list(self.events):
            tally.setdefault(event.sid, Counter())[event.kind] += 1
        return tally


class _InOrderEngineIOClient(engineio.Client):
    """An Engine.IO client that handles each message on its reader thread, in arrival order."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    """python-socketio's threaded client, running its event handlers in arrival order.

    The stock client starts a thread per message, so two events the server sent
    in order may be handled out of order. Here a later event proves that every
    earlier one has been handled, which lets a test use a final event as a
    barrier before asserting that something did *not* arrive. A handler must
    not wait for the server (``call``) since it runs on the reader thread.
    """

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIOClient


def open_raw_websocket(url: str) -> websocket.WebSocket:
    """Open an Engine.IO websocket to the server at ``url`` and read its open packet."""
    ws = websocket.create_connection(
        url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", timeout=TIMEOUT
    )
    opening = ws.recv()
    assert isinstance(opening, str) and opening.startswith("0{"), opening
    return ws


def raw_connect(ws: websocket.WebSocket) -> str:
    """Connect a raw websocket to the ``/`` namespace; return the Socket.IO sid."""
    ws.send("40")
    reply = ws.recv()
    assert isinstance(reply, str) and reply.startswith('40{"sid":'), reply
    return str(socketio.packet.Packet(encoded_packet=reply[1:]).data["sid"])


def closed_by_server(ws: websocket.WebSocket, timeout: float = TIMEOUT) -> bool:
    """Read from ``ws`` until the server closes it; False if it is still open after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ws.settimeout(remaining)
        try:
            opcode, _ = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return True
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return True


class Clients:
    """Makes python-socketio clients for a test and disconnects them all at its end.

    :param transports: the transports every client connects with.
    """

    def __init__(self, transports: list[str]) -> None:
        self.transports = transports
        self.made: list[InOrderClient] = []

    def new(self) -> InOrderClient:
        """A client that is not connected yet (to register handlers first)."""
        client = InOrderClient(reconnection=False)
        self.made.append(client)
        return client

    def connect(
        self, url: str, client: InOrderClient | None = None, **options: Any
    ) -> InOrderClient:
        """Connect ``client`` (or a new one) to ``url``; ``options`` go to ``Client.connect``."""
        client = client or self.new()
        options.setdefault("transports", self.transports)
        options.setdefault("wait_timeout", TIMEOUT)
        client.connect(url, **options)
        return client

    def close_all(self) -> None:
        """Disconnect every client."""
        for client in self.made:
            client.shutdown()
