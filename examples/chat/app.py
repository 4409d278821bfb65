"""A browser chat with rooms, and a live view of the event bus underneath it.

Users pick a name and a room (``lobby`` by default), see who is in the room,
talk to the room and switch rooms. Beside the chat, the *bus* panel shows every
event the bus published on the chat's namespace: a listener on ``"/"`` forwards
each one (kind, name, outcome, duration) to the separate ``/bus`` namespace the
page subscribes to. The listener only listens on ``"/"``, so the panel's own
traffic never feeds itself. The whole bus, every namespace, is on the monitor
page at ``/sockevents/`` (linked from the header; local requests only), and
the contract of every event, generated from the routes, at
``/sockevents/asyncapi`` (``/sockevents/asyncapi.json`` for the AsyncAPI
document itself).

Run it with ``make run``, or::

    cd examples/chat && npm install        # the Socket.IO JavaScript client
    python -m flask_sockevents examples/chat/app.py --host 127.0.0.1 --port 5000

``python -m flask_sockevents`` patches the standard library for gevent before
it imports this module (see :mod:`flask_sockevents.__main__`), and finds the
app through :func:`create_app`.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template, request, send_from_directory

from flask_sockevents import Event, SockEvents, emit, join_room, leave_room, rooms
from flask_sockevents.asyncapi import AsyncAPI
from flask_sockevents.monitor import Monitor

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE / "node_modules" / "socket.io-client" / "dist"
CLIENT_FILE = "socket.io.min.js"

DEFAULT_ROOM = "lobby"
MAX_NAME_LENGTH = 24
MAX_ROOM_LENGTH = 24
MAX_MESSAGE_LENGTH = 500
HISTORY_LENGTH = 50
BUS_HISTORY_LENGTH = 100

_ROOM_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")

# The contracts of what the server sends and answers, as JSON Schema: they
# make the AsyncAPI document (and, in debug mode, every emit is checked).
_TEXT = {"type": "string"}
_TIME = {"type": "number", "description": "seconds since the epoch"}
_MESSAGE = {
    "title": "ChatLine",
    "type": "object",
    "properties": {
        "kind": {"enum": ["message", "notice"]},
        "name": _TEXT,
        "sid": _TEXT,
        "text": _TEXT,
        "at": _TIME,
    },
    "required": ["kind", "text", "at"],
}
_ROOMS = {
    "title": "Rooms",
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": _TEXT, "members": {"type": "integer", "minimum": 0}},
        "required": ["name", "members"],
    },
}
_MEMBERS = {
    "title": "Members",
    "type": "object",
    "properties": {"room": _TEXT, "names": {"type": "array", "items": _TEXT}},
    "required": ["room", "names"],
}
_OUTCOME = {
    "title": "Outcome",
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "error": _TEXT},
    "required": ["ok"],
}
_JOINED = {
    "title": "Joined",
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "error": _TEXT,
        "name": _TEXT,
        "room": _TEXT,
        "names": {"type": "array", "items": _TEXT},
        "history": {"type": "array", "items": _MESSAGE},
    },
    "required": ["ok"],
}
_BUS_ENTRY = {
    "title": "BusEntry",
    "type": "object",
    "properties": {
        "seq": {"type": "integer"},
        "kind": _TEXT,
        "name": _TEXT,
        "namespace": _TEXT,
        "outcome": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "duration_us": {"type": ["integer", "null"]},
        "sid": {"type": ["string", "null"]},
        "at": _TIME,
    },
    "required": ["seq", "kind", "name", "namespace"],
}
_BUS_HISTORY = {"title": "BusHistory", "type": "array", "items": _BUS_ENTRY}


class InvalidInput(ValueError):
    """What a user typed cannot be used; the message says why."""


def clean_name(value: Any) -> str:
    """Return a display name: trimmed, inner whitespace collapsed, 1 to 24 characters.

    :raises InvalidInput: if ``value`` is not a string or is empty or too long.
    """
    if not isinstance(value, str):
        raise InvalidInput("the name must be text")
    name = " ".join(value.split())
    if not name:
        raise InvalidInput("pick a name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a name has at most {MAX_NAME_LENGTH} characters")
    return name


def clean_room(value: Any) -> str:
    """Return a room name: lower case letters, digits, ``-`` and ``_``; ``lobby`` if blank.

    Leading ``#`` and surrounding blanks are dropped and inner blanks become ``-``.

    :raises InvalidInput: if ``value`` is not a string or holds other characters.
    """
    if value is None:
        return DEFAULT_ROOM
    if not isinstance(value, str):
        raise InvalidInput("the room must be text")
    room = "-".join(value.strip().lstrip("#").lower().split())
    if not room:
        return DEFAULT_ROOM
    if len(room) > MAX_ROOM_LENGTH:
        raise InvalidInput(f"a room name has at most {MAX_ROOM_LENGTH} characters")
    if not _ROOM_PATTERN.fullmatch(room):
        raise InvalidInput("a room name uses letters, digits, '-' and '_'")
    return room


def bus_entry(event: Event, seq: int) -> dict[str, Any]:
    """Describe a bus :class:`~flask_sockevents.Event` for the page's bus panel.

    :param event: a dispatched event, as a listener receives it.
    :param seq: the entry's position in the bus feed, so the page can order and
        de-duplicate entries that reach it both live and from the history.
    """
    outcome = event.outcome.value if event.outcome is not None else None
    duration_us = round(event.duration * 1e6) if event.duration is not None else None
    return {
        "seq": seq,
        "kind": event.kind.value,
        "name": event.name,
        "namespace": event.namespace,
        "outcome": outcome,
        "reason": event.reason,
        "duration_us": duration_us,
        "sid": event.sid[:6] if event.sid else None,
        "at": time.time(),
    }


@dataclass
class ChatState:
    """Who is where, and the recent messages of each room (one process, in memory)."""

    members: dict[str, tuple[str, str]] = field(default_factory=dict)  # sid -> (name, room)
    history: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    bus: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BUS_HISTORY_LENGTH))
    bus_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def names_in(self, room: str) -> list[str]:
        """The names of the members of ``room``, sorted case-insensitively."""
        return sorted((n for n, r in self.members.values() if r == room), key=str.casefold)

    def room_counts(self) -> list[dict[str, Any]]:
        """Every occupied room (and the lobby) with its member count, lobby first."""
        counts: dict[str, int] = {DEFAULT_ROOM: 0}
        for _, room in self.members.values():
            counts[room] = counts.get(room, 0) + 1
        ordered = sorted(counts, key=lambda r: (r != DEFAULT_ROOM, r))
        return [{"name": room, "members": counts[room]} for room in ordered]

    def remember(self, room: str, message: dict[str, Any]) -> None:
        """Keep ``message`` in the recent history of ``room``."""
        self.history.setdefault(room, deque(maxlen=HISTORY_LENGTH)).append(message)


def create_app(monitor_check: Callable[[], bool] | None = None, **sockevents_options: Any) -> Flask:
    """Build the chat application.

    :param monitor_check: who may open the bus monitor (``Monitor(check=...)``);
        by default direct requests from the loopback only.
    :param sockevents_options: passed to :class:`~flask_sockevents.SockEvents`.
    :returns: the Flask app; its extension is ``app.extensions["sockevents"]``.
    """
    app = Flask(__name__)
    sockevents = SockEvents(app, **sockevents_options)
    Monitor(sockevents, check=monitor_check)  # the live bus monitor at /sockevents/
    AsyncAPI(sockevents, title="flask_sockevents chat", version="1.0.0")
    sockevents.emits("rooms", _ROOMS, description="Every occupied room, lobby first.")
    sockevents.emits("members", _MEMBERS, description="Who is in a room, after a change.")
    sockevents.emits("notice", _MESSAGE, description="Someone joined or left a room.")
    sockevents.emits("chat message", _MESSAGE, description="A message said in the room.")
    sockevents.emits("bus", _BUS_ENTRY, namespace="/bus", description="One event of the bus.")
    state = ChatState()
    app.extensions["chat_state"] = state

    @app.get("/")
    def index() -> str:
        return render_template(
            "index.html",
            default_room=DEFAULT_ROOM,
            max_name=MAX_NAME_LENGTH,
            max_room=MAX_ROOM_LENGTH,
            max_message=MAX_MESSAGE_LENGTH,
        )

    @app.get(f"/static/vendor/{CLIENT_FILE}")
    def socketio_client() -> Response | tuple[str, int, dict[str, str]]:
        if not (CLIENT_DIR / CLIENT_FILE).is_file():
            return (
                f"The Socket.IO JavaScript client is missing ({CLIENT_DIR / CLIENT_FILE}).\n"
                "Run `make run` from the repository root, or `npm install` in examples/chat.\n",
                404,
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        return send_from_directory(CLIENT_DIR, CLIENT_FILE, mimetype="text/javascript")

    def publish_presence(room: str) -> None:
        sockevents.emit("members", {"room": room, "names": state.names_in(room)}, to=room)
        sockevents.emit("rooms", state.room_counts())

    def notice(room: str, text: str) -> None:
        message = {"kind": "notice", "text": text, "at": time.time()}
        state.remember(room, message)
        sockevents.emit("notice", message, to=room)

    @sockevents.on("connect")
    def on_connect() -> None:
        emit("rooms", state.room_counts())

    @sockevents.on("join", ack=_JOINED)
    def on_join(data: Any) -> dict[str, Any]:
        """Enter a room under a name (leaving the current room); the ack carries the room."""
        data = data if isinstance(data, dict) else {}
        try:
            name = clean_name(data.get("name"))
            room = clean_room(data.get("room"))
        except InvalidInput as exc:
            return {"ok": False, "error": str(exc)}
        previous = state.members.get(request.sid)
        for joined in rooms():
            if joined not in (request.sid, room):
                leave_room(joined)
        join_room(room)
        state.members[request.sid] = (name, room)
        if previous is not None and previous[1] != room:
            notice(previous[1], f"{previous[0]} left for #{room}")
            publish_presence(previous[1])
        if previous != (name, room):
            notice(room, f"{name} joined #{room}")
        publish_presence(room)
        return {
            "ok": True,
            "name": name,
            "room": room,
            "names": state.names_in(room),
            "history": list(state.history.get(room, ())),
        }

    @sockevents.on("chat message", ack=_OUTCOME)
    def on_chat_message(data: Any) -> dict[str, Any]:
        """Send a message to the sender's room; the ack says whether it went out."""
        member = state.members.get(request.sid)
        if member is None:
            return {"ok": False, "error": "join a room first"}
        text = data.get("text") if isinstance(data, dict) else data
        if not isinstance(text, str) or not text.strip():
            return {"ok": False, "error": "the message is empty"}
        if len(text) > MAX_MESSAGE_LENGTH:
            return {"ok": False, "error": f"a message has at most {MAX_MESSAGE_LENGTH} characters"}
        name, room = member
        message = {
            "kind": "message",
            "name": name,
            "sid": request.sid[:6],
            "text": text.strip(),
            "at": time.time(),
        }
        state.remember(room, message)
        emit("chat message", message, to=room)
        return {"ok": True}

    @sockevents.on("disconnect")
    def on_disconnect() -> None:
        member = state.members.pop(request.sid, None)
        if member is not None:
            notice(member[1], f"{member[0]} left")
            publish_presence(member[1])

    @sockevents.on("history", namespace="/bus", ack=_BUS_HISTORY)
    def bus_history() -> list[dict[str, Any]]:
        """Answer a bus panel that just connected with the recent bus entries."""
        return list(state.bus)

    @sockevents.listen("*", namespace="/")
    def forward_to_bus_panel(event: Event) -> None:
        """Show every event of the chat namespace in the pages' bus panel."""
        entry = bus_entry(event, next(state.bus_seq))
        state.bus.append(entry)
        sockevents.emit("bus", entry, namespace="/bus")

    return app
