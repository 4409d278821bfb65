"""The chat example's server side, in-process: what the browser page relies on.

These run without a browser, through the extension's test client; the browser
tests in ``test_chat_browser.py`` drive the same app through Chromium.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from flask_sockevents.testing import SocketIOTestClient

APP_PATH = Path(__file__).resolve().parents[2] / "examples" / "chat" / "app.py"


def _load_chat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_example_app", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chat = _load_chat()


@pytest.fixture
def app() -> Flask:
    return chat.create_app()


@pytest.fixture
def connect(app: Flask) -> Callable[..., SocketIOTestClient]:
    """Connect a new in-process client to the chat (``"/"``) or to ``namespace``."""

    def connect_(namespace: str = "/") -> SocketIOTestClient:
        return app.extensions["sockevents"].test_client(app, namespace=namespace)

    return connect_


def _events(client: SocketIOTestClient, name: str, namespace: str = "/") -> list[Any]:
    return [item["args"][0] for item in client.get_received(namespace) if item["name"] == name]


def test_join_answers_with_the_room_its_members_and_its_history(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    alice, bob = connect(), connect()
    alice.emit("join", {"name": "alice", "room": "den"}, callback=True)
    alice.emit("chat message", {"text": "first"}, callback=True)

    reply = bob.emit("join", {"name": "bob", "room": "den"}, callback=True)

    assert reply["ok"] is True
    assert (reply["name"], reply["room"], reply["names"]) == ("bob", "den", ["alice", "bob"])
    assert [m["text"] for m in reply["history"] if m["kind"] == "message"] == ["first"]


def test_a_blank_room_is_the_lobby(connect: Callable[..., SocketIOTestClient]) -> None:
    client = connect()

    reply = client.emit("join", {"name": "ada", "room": "  "}, callback=True)

    assert reply["room"] == "lobby"


def test_a_room_name_is_normalised_to_a_slug(connect: Callable[..., SocketIOTestClient]) -> None:
    client = connect()

    reply = client.emit("join", {"name": "ada", "room": " #Book Club "}, callback=True)

    assert reply["room"] == "book-club"


def test_a_room_name_with_other_characters_is_refused_with_a_reason(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    client = connect()

    reply = client.emit("join", {"name": "ada", "room": "<script>"}, callback=True)

    assert reply == {"ok": False, "error": "a room name uses letters, digits, '-' and '_'"}


def test_a_message_before_joining_is_refused_with_a_reason(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    client = connect()

    reply = client.emit("chat message", {"text": "hello?"}, callback=True)

    assert reply == {"ok": False, "error": "join a room first"}


def test_a_message_reaches_the_members_of_its_room_only(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    alice, bob, carol = connect(), connect(), connect()
    alice.emit("join", {"name": "alice", "room": "den"}, callback=True)
    bob.emit("join", {"name": "bob", "room": "den"}, callback=True)
    carol.emit("join", {"name": "carol", "room": "attic"}, callback=True)
    bob.get_received(), carol.get_received()

    alice.emit("chat message", {"text": "psst"}, callback=True)

    assert [(m["name"], m["text"]) for m in _events(bob, "chat message")] == [("alice", "psst")]
    assert _events(carol, "chat message") == []


def test_switching_room_tells_the_old_room_who_is_left(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    alice, bob = connect(), connect()
    alice.emit("join", {"name": "alice", "room": "den"}, callback=True)
    bob.emit("join", {"name": "bob", "room": "den"}, callback=True)
    bob.get_received()

    alice.emit("join", {"name": "alice", "room": "attic"}, callback=True)

    assert _events(bob, "members")[-1] == {"room": "den", "names": ["bob"]}


def test_a_disconnect_tells_the_room_who_left(connect: Callable[..., SocketIOTestClient]) -> None:
    alice, bob = connect(), connect()
    alice.emit("join", {"name": "alice", "room": "den"}, callback=True)
    bob.emit("join", {"name": "bob", "room": "den"}, callback=True)
    bob.get_received()

    alice.disconnect()

    assert [n["text"] for n in _events(bob, "notice")] == ["alice left"]


def test_the_bus_feed_describes_each_event_of_the_chat_namespace(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    panel = connect("/bus")
    alice = connect()
    sid = alice.server.manager.sid_from_eio_sid(alice.eio_sid, "/")

    alice.emit("join", {"name": "alice"}, callback=True)

    entries = _events(panel, "bus", namespace="/bus")
    assert [(e["kind"], e["name"], e["outcome"], e["sid"]) for e in entries] == [
        ("connect", "connect", "handled", sid[:6]),
        ("event", "join", "handled", sid[:6]),
    ]
    assert all(e["namespace"] == "/" and isinstance(e["duration_us"], int) for e in entries)


def test_the_bus_feed_does_not_describe_its_own_namespace(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    panel = connect("/bus")

    panel.emit("history", namespace="/bus", callback=True)

    assert _events(panel, "bus", namespace="/bus") == []


def test_a_new_bus_panel_gets_the_recent_entries_in_order(
    connect: Callable[..., SocketIOTestClient],
) -> None:
    alice = connect()
    alice.emit("join", {"name": "alice"}, callback=True)
    panel = connect("/bus")

    history = panel.emit("history", namespace="/bus", callback=True)

    assert [(e["seq"], e["name"]) for e in history] == [(1, "connect"), (2, "join")]


def test_a_missing_socketio_client_is_explained_with_the_command_that_installs_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(chat, "CLIENT_DIR", tmp_path)

    response = app.test_client().get("/static/vendor/socket.io.min.js")

    assert response.status_code == 404
    assert "run `make run`" in response.get_data(as_text=True).lower()
