"""Flask's context globals inside handlers: "Access to Flask's Context Globals"."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from flask import Flask, current_app, g, request, session, url_for

from flask_sockevents import SocketIO


@pytest.fixture
def socketio(app: Flask, extension: ModuleType) -> SocketIO:
    """``SocketIO(app)``, of Flask-SocketIO 5.7 and of flask_sockevents: each test runs on both."""
    return extension.SocketIO(app)


def test_request_sid_is_stable_for_a_connection_and_unique_across_connections(
    app: Flask, socketio: SocketIO
) -> None:
    connect_sids: list[str] = []

    @socketio.on("connect")
    def connect() -> None:
        connect_sids.append(request.sid)

    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    first = socketio.test_client(app)
    second = socketio.test_client(app)

    assert first.emit("whoami", callback=True) == connect_sids[0]
    assert first.emit("whoami", callback=True) == connect_sids[0]
    assert second.emit("whoami", callback=True) == connect_sids[1]
    assert connect_sids[0] != connect_sids[1]


def test_request_sid_differs_per_namespace_of_one_client(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("whoami")
    def whoami() -> str:
        return request.sid

    @socketio.on("whoami", namespace="/chat")
    def whoami_chat() -> str:
        return request.sid

    client = socketio.test_client(app)
    client.connect(namespace="/chat")

    assert client.emit("whoami", callback=True) != client.emit(
        "whoami", namespace="/chat", callback=True
    )


def test_request_namespace_is_the_namespace_being_handled(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("where", namespace="/chat")
    def where() -> str:
        return request.namespace

    @socketio.on("where")
    def where_root() -> str:
        return request.namespace

    client = socketio.test_client(app)
    client.connect(namespace="/chat")

    assert client.emit("where", callback=True) == "/"
    assert client.emit("where", namespace="/chat", callback=True) == "/chat"


def test_request_event_holds_the_message_name_and_the_args_tuple(
    app: Flask, socketio: SocketIO
) -> None:
    seen: list[dict[str, Any]] = []

    @socketio.on("other custom event")
    def get_request_event(data: str, more: int) -> None:
        seen.append(request.event)

    client = socketio.test_client(app)
    client.emit("other custom event", "foo", 2)

    assert seen == [{"message": "other custom event", "args": ("foo", 2)}]


def test_app_context_is_pushed_for_handlers(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("config")
    def config() -> str:
        return current_app.config["SECRET_KEY"]

    client = socketio.test_client(app)

    assert client.emit("config", callback=True) == "secret!"


def test_g_starts_empty_for_every_event(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("remember")
    def remember(value: str) -> list[str]:
        before = sorted(vars(g))
        g.value = value
        return before

    client = socketio.test_client(app)

    assert client.emit("remember", "a", callback=True) == []
    assert client.emit("remember", "b", callback=True) == []


def test_teardown_functions_run_after_every_event(app: Flask, socketio: SocketIO) -> None:
    torn_down: list[tuple[str, str]] = []

    @app.teardown_request
    def request_done(error: BaseException | None) -> None:
        torn_down.append(("request", request.event["message"]))

    @app.teardown_appcontext
    def app_context_done(error: BaseException | None) -> None:
        torn_down.append(("app context", g.get("event_name", "")))

    @socketio.on("my event")
    def handle_my_event() -> str:
        g.event_name = "my event"
        return "handled"

    client = socketio.test_client(app)
    torn_down.clear()  # the connect's own

    assert client.emit("my event", callback=True) == "handled"
    assert client.emit("my event", callback=True) == "handled"
    assert torn_down == [("request", "my event"), ("app context", "my event")] * 2


def test_url_for_builds_urls_against_the_handshakes_host(app: Flask, socketio: SocketIO) -> None:
    app.add_url_rule("/rooms/<name>", "room", lambda name: name)

    @socketio.on("link")
    def link(name: str) -> list[str]:
        return [url_for("room", name=name), url_for("room", name=name, _external=True)]

    client = socketio.test_client(app)

    assert client.emit("link", "lobby", callback=True) == [
        "/rooms/lobby",
        "http://localhost/rooms/lobby",
    ]


def test_before_and_after_request_hooks_do_not_run_for_socketio_events(
    app: Flask, socketio: SocketIO
) -> None:
    hooks: list[str] = []
    app.before_request(lambda: hooks.append("before"))

    @app.after_request
    def after(response: Any) -> Any:
        hooks.append("after")
        return response

    @socketio.on("my event")
    def handle_my_custom_event() -> str:
        return "handled"

    client = socketio.test_client(app)

    assert client.emit("my event", callback=True) == "handled"
    assert hooks == []


def test_session_changes_persist_across_events_of_one_connection(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("incr")
    def incr() -> int:
        session["count"] = session.get("count", 0) + 1
        return session["count"]

    client = socketio.test_client(app)

    assert [client.emit("incr", callback=True) for _ in range(3)] == [1, 2, 3]


def test_session_set_in_connect_handler_is_seen_by_later_events(
    app: Flask, socketio: SocketIO
) -> None:
    @socketio.on("connect")
    def connect(auth: dict[str, str]) -> None:
        session["username"] = auth["username"]

    @socketio.on("whoami")
    def whoami() -> str:
        return session["username"]

    client = socketio.test_client(app, auth={"username": "alice"})

    assert client.emit("whoami", callback=True) == "alice"


def test_session_is_separate_for_each_connection(app: Flask, socketio: SocketIO) -> None:
    @socketio.on("incr")
    def incr() -> int:
        session["count"] = session.get("count", 0) + 1
        return session["count"]

    first = socketio.test_client(app)
    second = socketio.test_client(app)
    first.emit("incr")
    first.emit("incr")

    assert second.emit("incr", callback=True) == 1


def _login_view(app: Flask) -> None:
    @app.route("/login/<username>")
    def login(username: str) -> str:
        session["username"] = username
        return "logged in"

    @app.route("/whoami")
    def whoami_http() -> str:
        return session.get("username", "anonymous") + "/" + session.get("color", "none")


def test_managed_session_starts_as_a_copy_of_the_http_session(
    app: Flask, socketio: SocketIO
) -> None:
    _login_view(app)

    @socketio.on("whoami")
    def whoami() -> str | None:
        return session.get("username")

    flask_client = app.test_client()
    flask_client.get("/login/alice")
    client = socketio.test_client(app, flask_test_client=flask_client)

    assert client.emit("whoami", callback=True) == "alice"


def test_managed_session_changes_are_not_seen_by_http_views(app: Flask, socketio: SocketIO) -> None:
    _login_view(app)

    @socketio.on("pick color")
    def pick_color(color: str) -> None:
        session["color"] = color

    flask_client = app.test_client()
    flask_client.get("/login/alice")
    client = socketio.test_client(app, flask_test_client=flask_client)
    client.emit("pick color", "blue")

    assert flask_client.get("/whoami").get_data(as_text=True) == "alice/none"


def test_without_flask_test_client_the_socket_session_starts_empty(
    app: Flask, socketio: SocketIO
) -> None:
    _login_view(app)

    @socketio.on("whoami")
    def whoami() -> str:
        return session.get("username", "anonymous")

    app.test_client().get("/login/alice")
    client = socketio.test_client(app)

    assert client.emit("whoami", callback=True) == "anonymous"


def test_unmanaged_session_login_in_http_view_is_seen_by_connect_handler(app: Flask) -> None:
    socketio = SocketIO(app, manage_session=False)
    _login_view(app)
    connected_users: list[str] = []

    @socketio.on("connect")
    def connect() -> bool:
        if "username" not in session:
            return False
        connected_users.append(session["username"])
        return True

    flask_client = app.test_client()
    flask_client.get("/login/alice")
    logged_in = socketio.test_client(app, flask_test_client=flask_client)
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())

    assert logged_in.is_connected()
    assert not anonymous.is_connected()
    assert connected_users == ["alice"]


def test_unmanaged_session_is_visible_in_event_handlers(app: Flask) -> None:
    socketio = SocketIO(app, manage_session=False)
    _login_view(app)

    @socketio.on("whoami")
    def whoami() -> str | None:
        return session.get("username")

    flask_client = app.test_client()
    flask_client.get("/login/bob")
    client = socketio.test_client(app, flask_test_client=flask_client)

    assert client.emit("whoami", callback=True) == "bob"
