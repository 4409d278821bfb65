"""``server.instrument()``: the Socket.IO Admin UI's protocol, as python-socketio serves it.

The admin client here is python-socketio's ``Client`` speaking the Admin UI's
protocol (connect to ``/admin`` with credentials, then listen); each test runs
against python-socketio's own server and ``sockevents.server`` (see
``_socketio_servers.py``). The official UI itself, in Chromium, is in
``test_admin_ui_browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from integration._support import TIMEOUT, Clients, InOrderClient, wait_for

from ._socketio_servers import IMPLEMENTATIONS, ServerUnderTest

CREDENTIALS = {"username": "admin", "password": "s3cret"}


@pytest.fixture
def clients() -> Iterator[Clients]:
    """python-socketio clients over websocket, disconnected at the end of the test."""
    made = Clients(["websocket"])
    yield made
    made.close_all()


@pytest.fixture
def serve() -> Iterator[Any]:
    """Build an instrumented server: ``serve(implementation, **options)``; undone at the end."""
    made: list[tuple[ServerUnderTest, Any]] = []

    def build(implementation: str, **options: Any) -> ServerUnderTest:
        target = ServerUnderTest(implementation, **options)
        admin = target.server.instrument(auth=CREDENTIALS, server_stats_interval=0.5)
        made.append((target, admin))
        return target

    yield build
    for target, admin in reversed(made):
        target.stop()
        admin.uninstrument()


class AdminLog:
    """What an admin client received on the admin namespace, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, ...]] = []

    def __call__(self, event: str, *args: Any) -> None:
        self.received.append((event, *args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [item[1:] for item in list(self.received) if item[0] == name]


def _admin(clients: Clients, url: str, auth: Any = CREDENTIALS) -> tuple[InOrderClient, AdminLog]:
    client = clients.new()
    log = AdminLog()
    client.on("*", log, namespace="/admin")
    clients.connect(url, client, namespaces=["/admin"], auth=auth)
    return client, log


NAMESPACE_SETTINGS = [None, "*", ["/", "/chat"]]


@pytest.mark.parametrize("namespaces", NAMESPACE_SETTINGS, ids=["default", "any", "listed"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_wrong_credentials_are_refused(
    implementation: str, namespaces: Any, serve: Any, clients: Clients
) -> None:
    target = serve(implementation, namespaces=namespaces)
    client = clients.new()
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace="/admin")

    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(
            target.url,
            client,
            namespaces=["/admin"],
            auth={"username": "admin", "password": "wrong"},
        )

    wait_for(lambda: errors)
    assert errors == [{"message": "authentication failed"}]


@pytest.mark.parametrize("namespaces", NAMESPACE_SETTINGS, ids=["default", "any", "listed"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_right_credentials_connect_and_get_the_config(
    implementation: str, namespaces: Any, serve: Any, clients: Clients
) -> None:
    target = serve(implementation, namespaces=namespaces)

    admin, log = _admin(clients, target.url)

    wait_for(lambda: log.named("config"))
    assert admin.connected
    [(config,)] = log.named("config")
    assert "ALL_EVENTS" in config["supportedFeatures"]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_admin_gets_the_sockets_already_connected_with_their_rooms(
    implementation: str, serve: Any, clients: Clients
) -> None:
    target = serve(implementation)
    server = target.server
    server.on("join", lambda sid, room: server.enter_room(sid, room))
    user = clients.connect(target.url)
    user.call("join", "lobby", timeout=TIMEOUT)
    sid = user.get_sid()

    _, log = _admin(clients, target.url)

    wait_for(lambda: log.named("all_sockets"))
    [(sockets,)] = log.named("all_sockets")
    [socket] = [s for s in sockets if s["id"] == sid]
    assert socket["nsp"] == "/"
    assert sorted(socket["rooms"]) == sorted([sid, "lobby"])
    assert socket["handshake"]["address"] == "127.0.0.1"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_admin_sees_live_connects_rooms_events_emits_and_disconnects(
    implementation: str, serve: Any, clients: Clients
) -> None:
    target = serve(implementation)
    server = target.server

    @server.on("join")
    def join(sid: str, room: str) -> None:
        server.enter_room(sid, room)

    @server.on("chat")
    def chat(sid: str, text: str) -> None:
        server.emit("said", text, room="lobby")

    _, log = _admin(clients, target.url)
    wait_for(lambda: log.named("config"))
    user = clients.connect(target.url)
    sid = user.get_sid()
    user.call("join", "lobby", timeout=TIMEOUT)
    user.call("chat", "hi", timeout=TIMEOUT)
    user.disconnect()
    # The rooms are left after the disconnect is reported: wait for both.
    wait_for(lambda: len([left for left in log.named("room_left") if left[2] == sid]) == 2)

    about_user = set()
    for name, *args in list(log.received):
        if name == "socket_connected" and args[0]["id"] == sid:
            about_user.add((name, args[0]["nsp"]))
        elif name in ("room_joined", "room_left") and args[2] == sid:
            about_user.add((name, args[0], args[1]))
        elif name in ("event_received", "event_sent") and args[1] == sid:
            about_user.add((name, args[0], tuple(args[2])))
        elif name == "socket_disconnected" and args[1] == sid:
            about_user.add((name, args[0]))
    assert about_user == {
        ("socket_connected", "/"),
        ("room_joined", "/", sid),
        ("room_joined", "/", "lobby"),
        ("event_received", "/", ("join", "lobby")),
        ("event_received", "/", ("chat", "hi")),
        ("event_sent", "/", ("said", "hi")),
        ("room_left", "/", "lobby"),
        ("room_left", "/", sid),
        ("socket_disconnected", "/"),
    }


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_admin_gets_server_stats_listing_the_namespaces(
    implementation: str, serve: Any, clients: Clients
) -> None:
    target = serve(implementation)
    target.server.on("chat", lambda sid, text: None)

    _, log = _admin(clients, target.url)

    wait_for(lambda: log.named("server_stats"))
    [stats, *_] = log.named("server_stats")
    names = {namespace["name"] for namespace in stats[0]["namespaces"]}
    assert {"/", "/admin"} <= names


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_admin_actions_move_a_socket_into_a_room_and_disconnect_it(
    implementation: str, serve: Any, clients: Clients
) -> None:
    target = serve(implementation)
    server = target.server
    disconnected: list[str] = []
    server.on("disconnect", lambda sid, reason: disconnected.append(sid))
    user = clients.connect(target.url)
    sid = user.get_sid()
    admin, log = _admin(clients, target.url)
    wait_for(lambda: log.named("config"))

    admin.emit("join", ("/", "vip", sid), namespace="/admin")
    wait_for(lambda: ("/", "vip", sid) in [joined[:3] for joined in log.named("room_joined")])
    rooms_after_join = sorted(server.rooms(sid))
    admin.emit("_disconnect", ("/", False, sid), namespace="/admin")

    wait_for(lambda: disconnected and not user.connected)
    assert rooms_after_join == sorted([sid, "vip"])
    assert disconnected == [sid]
