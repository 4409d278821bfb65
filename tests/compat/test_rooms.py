"""Rooms: "Getting Started", section "Rooms"."""

from __future__ import annotations

from types import ModuleType

import pytest
from flask import Flask, request

from flask_sockevents import SocketIO


@pytest.fixture
def socketio(app: Flask, extension: ModuleType) -> SocketIO:
    """``SocketIO(app)``, of Flask-SocketIO 5.7 and of flask_sockevents: each test runs on both."""
    return extension.SocketIO(app)


def _chat_handlers(socketio: SocketIO, extension: ModuleType) -> None:
    """The join/leave/say handlers of the documentation's chat example."""

    @socketio.on("join")
    def on_join(data: dict[str, str]) -> None:
        extension.join_room(data["room"])
        extension.send(data["username"] + " has entered the room.", to=data["room"])

    @socketio.on("leave")
    def on_leave(data: dict[str, str]) -> None:
        extension.leave_room(data["room"])
        extension.send(data["username"] + " has left the room.", to=data["room"])

    @socketio.on("say")
    def on_say(data: dict[str, str]) -> None:
        extension.emit("said", data["text"], to=data["room"])


def test_join_room_then_send_to_room_reaches_the_room_members(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    _chat_handlers(socketio, extension)
    alice = socketio.test_client(app)
    bob = socketio.test_client(app)
    outsider = socketio.test_client(app)

    alice.emit("join", {"username": "alice", "room": "lobby"})
    bob.emit("join", {"username": "bob", "room": "lobby"})

    assert [p["args"] for p in alice.get_received()] == [
        "alice has entered the room.",
        "bob has entered the room.",
    ]
    assert [p["args"] for p in bob.get_received()] == ["bob has entered the room."]
    assert outsider.get_received() == []


def test_emit_with_room_keyword_is_an_alias_of_to(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> None:
        extension.join_room(room)

    @socketio.on("say")
    def on_say(room: str, text: str) -> None:
        extension.emit("said", text, room=room)

    member = socketio.test_client(app)
    outsider = socketio.test_client(app)
    member.emit("join", "lobby")
    outsider.emit("say", "lobby", "hello lobby")

    assert member.get_received() == [{"name": "said", "args": ["hello lobby"], "namespace": "/"}]
    assert outsider.get_received() == []


def test_leave_room_stops_room_messages(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    _chat_handlers(socketio, extension)
    alice = socketio.test_client(app)
    bob = socketio.test_client(app)
    alice.emit("join", {"username": "alice", "room": "lobby"})
    bob.emit("join", {"username": "bob", "room": "lobby"})
    alice.get_received()
    bob.get_received()

    bob.emit("leave", {"username": "bob", "room": "lobby"})
    alice.emit("say", {"room": "lobby", "text": "anyone?"})

    assert [p["args"] for p in alice.get_received()] == ["bob has left the room.", ["anyone?"]]
    assert bob.get_received() == []


def test_emit_to_room_with_include_self_false_skips_the_sender(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> None:
        extension.join_room(room)

    @socketio.on("say")
    def on_say(room: str, text: str) -> None:
        extension.emit("said", text, to=room, include_self=False)

    alice = socketio.test_client(app)
    bob = socketio.test_client(app)
    alice.emit("join", "lobby")
    bob.emit("join", "lobby")
    alice.emit("say", "lobby", "hi bob")

    assert alice.get_received() == []
    assert bob.get_received() == [{"name": "said", "args": ["hi bob"], "namespace": "/"}]


def test_rooms_lists_the_personal_room_and_the_joined_rooms(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> list[str]:
        extension.join_room(room)
        return sorted(extension.rooms())

    @socketio.on("leave")
    def on_leave(room: str) -> list[str]:
        extension.leave_room(room)
        return sorted(extension.rooms())

    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    client = socketio.test_client(app)
    sid = client.emit("whoami", callback=True)

    assert client.emit("join", "lobby", callback=True) == sorted([sid, "lobby"])
    assert client.emit("join", "games", callback=True) == sorted([sid, "lobby", "games"])
    assert client.emit("leave", "lobby", callback=True) == sorted([sid, "games"])


def test_every_client_is_in_a_personal_room_named_by_its_sid(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    @socketio.on("note")
    def note(to_sid: str, text: str) -> None:
        extension.send(text, to=to_sid)

    sender = socketio.test_client(app)
    recipient = socketio.test_client(app)
    sender.emit("note", recipient.emit("whoami", callback=True), "for you")

    assert recipient.get_received() == [{"name": "message", "args": "for you", "namespace": "/"}]
    assert sender.get_received() == []


def test_close_room_removes_every_member(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> None:
        extension.join_room(room)

    @socketio.on("close")
    def on_close(room: str) -> None:
        extension.close_room(room)

    @socketio.on("say")
    def on_say(room: str, text: str) -> None:
        extension.emit("said", text, to=room)

    alice = socketio.test_client(app)
    bob = socketio.test_client(app)
    alice.emit("join", "lobby")
    bob.emit("join", "lobby")
    alice.emit("close", "lobby")
    alice.emit("say", "lobby", "echo?")

    assert alice.get_received() == []
    assert bob.get_received() == []


def test_socketio_close_room_works_outside_a_handler(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join", namespace="/chat")
    def on_join(room: str) -> None:
        extension.join_room(room)

    member = socketio.test_client(app, namespace="/chat")
    member.emit("join", "lobby", namespace="/chat")
    socketio.close_room("lobby", namespace="/chat")
    socketio.emit("said", "too late", to="lobby", namespace="/chat")

    assert member.get_received("/chat") == []


def test_rooms_are_per_namespace(app: Flask, socketio: SocketIO, extension: ModuleType) -> None:
    @socketio.on("join")
    def on_join(room: str) -> None:
        extension.join_room(room)

    @socketio.on("join", namespace="/chat")
    def on_join_chat(room: str) -> None:
        extension.join_room(room)

    root_member = socketio.test_client(app)
    chat_member = socketio.test_client(app, namespace="/chat")
    root_member.emit("join", "lobby")
    chat_member.emit("join", "lobby", namespace="/chat")
    socketio.emit("said", "root only", to="lobby")

    assert root_member.get_received() == [{"name": "said", "args": ["root only"], "namespace": "/"}]
    assert chat_member.get_received("/chat") == []


def test_disconnected_client_is_removed_from_its_rooms(
    app: Flask, socketio: SocketIO, extension: ModuleType
) -> None:
    @socketio.on("join")
    def on_join(room: str) -> None:
        extension.join_room(room)

    leaving = socketio.test_client(app)
    staying = socketio.test_client(app)
    leaving.emit("join", "lobby")
    staying.emit("join", "lobby")
    leaving.disconnect()
    socketio.emit("said", "who is left?", to="lobby")
    leaving.connect()

    assert leaving.get_received() == []
    assert staying.get_received() == [{"name": "said", "args": ["who is left?"], "namespace": "/"}]
