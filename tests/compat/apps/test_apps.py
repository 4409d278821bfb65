"""Apps written for Flask-SocketIO, run on Flask-SocketIO 5.7 and on flask_sockevents.

Each test runs once per implementation (see ``conftest.py``) and asserts the
same outcome for both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from flask_sockevents.extension import AsyncModeWarning
from flask_sockevents.testing import wait_for

from .conftest import LoadedApp

LoadApp = Callable[[str], LoadedApp]
ServeApp = Callable[..., str]


def ticks(sid: str, user: str, count: int) -> list[dict[str, Any]]:
    return [{"n": n, "sid": sid, "user": user} for n in range(count)]


# -- the threading-mode feed ------------------------------------------------------


def test_feed_in_threading_mode_greets_on_connect_and_ticks_from_a_copied_request_context(
    load_app: LoadApp,
) -> None:
    feed = load_app("feed").module
    client = feed.socketio.test_client(feed.app, auth={"user": "ada"})

    assert client.get_received() == [
        {"name": "welcome", "args": [{"user": "ada"}], "namespace": "/"}
    ]
    sid = client.emit("subscribe", 3, callback=True)["subscribed"]
    wait_for(lambda: len(client.queue) >= 3, message="the feed thread did not emit 3 ticks")

    assert [(item["name"], item["args"]) for item in client.get_received()] == [
        ("tick", [tick]) for tick in ticks(sid, "ada", 3)
    ]


def test_threading_mode_is_served_under_gevent_with_one_async_mode_warning(
    load_app: LoadApp, implementation: str
) -> None:
    loaded = load_app("feed")

    mode_warnings = [w for w in loaded.warnings if issubclass(w.category, AsyncModeWarning)]
    if implementation == "flask_socketio":
        assert loaded.module.socketio.async_mode == "threading"
        assert mode_warnings == []
    else:
        assert loaded.module.socketio.async_mode == "gevent"
        assert len(mode_warnings) == 1
        assert "gevent" in str(mode_warnings[0].message)
        assert mode_warnings[0].filename.endswith("feed.py")  # points at the app's line


def test_feed_served_by_its_own_run_call_answers_a_real_client(
    serve_app: ServeApp, tmp_path: Path
) -> None:
    """Served as ``python feed.py`` (gevent has patched nothing): ticks emitted by a
    plain thread every 0.3 s reach the client as they are emitted, not at the next
    ping (25 s away), and the greeting emitted in the connect handler arrives."""
    watched = tmp_path / "watched.cfg"
    watched.write_text("v1")
    url = serve_app("feed", str(watched))
    received: list[tuple[str, Any]] = []
    client = socketio.Client()
    client.on("welcome", lambda data: received.append(("welcome", data)))
    client.on("tick", lambda data: received.append(("tick", data)))
    client.connect(url, auth={"user": "ada"}, wait_timeout=10)
    try:
        answer = client.call("subscribe", (3, 0.3), timeout=10)
        wait_for(lambda: len(received) >= 4, timeout=10, message=f"got only {received}")
    finally:
        client.disconnect()

    assert answer == {"subscribed": client_sid(answer)}
    assert received == [
        ("welcome", {"user": "ada"}),
        *(("tick", tick) for tick in ticks(answer["subscribed"], "ada", 3)),
    ]


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_greeting_emitted_by_the_connect_handler_reaches_a_python_socketio_client(
    serve_app: ServeApp, tmp_path: Path, transport: str
) -> None:
    watched = tmp_path / "watched.cfg"
    watched.write_text("v1")
    url = serve_app("feed", str(watched))
    greetings: list[Any] = []
    client = socketio.Client(reconnection=False)
    client.on("welcome", greetings.append)
    client.connect(url, auth={"user": "bo"}, transports=[transport], wait_timeout=10)
    try:
        wait_for(lambda: greetings, timeout=10, message="no welcome")
    finally:
        client.disconnect()

    assert greetings == [{"user": "bo"}]


def test_feed_thread_served_by_run_disconnects_the_client_at_once(
    serve_app: ServeApp, tmp_path: Path
) -> None:
    """A plain thread's ``disconnect()`` reaches the client when made, not at the next ping."""
    watched = tmp_path / "watched.cfg"
    watched.write_text("v1")
    url = serve_app("feed", str(watched))
    client = socketio.Client(reconnection=False)
    client.connect(url, wait_timeout=10)
    try:
        assert client.call("kick_me", 0.3, timeout=10) == "later"
        wait_for(lambda: not client.connected, timeout=10, message="still connected")
    finally:
        if client.connected:
            client.disconnect()


def client_sid(answer: dict[str, str]) -> str:
    sid = answer["subscribed"]
    assert isinstance(sid, str) and sid
    return sid


@pytest.mark.slow
def test_feed_run_with_use_reloader_restarts_when_one_of_its_extra_files_changes(
    serve_app: ServeApp, tmp_path: Path
) -> None:
    watched = tmp_path / "watched.cfg"
    watched.write_text("v1")
    url = serve_app("feed", str(watched), "reload")
    first_pid = requests.get(url + "/pid", timeout=5).text

    later = time.time() + 10
    watched.write_text("v2")
    os.utime(watched, (later, later))

    def new_pid() -> str | None:
        try:
            pid = requests.get(url + "/pid", timeout=1).text
        except requests.RequestException:
            return None
        return pid if pid != first_pid else None

    assert wait_for(new_pid, timeout=30, message="the server did not restart")


# -- the app factory with server_options --------------------------------------------


def test_server_options_set_before_init_app_reach_the_handshake(load_app: LoadApp) -> None:
    factory = load_app("factory").module
    app = factory.create_app()

    response = app.test_client().get("/socket.io/?EIO=4&transport=polling")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith("0")
    handshake = json.loads(body[1:])
    assert handshake["upgrades"] == []
    assert handshake["pingInterval"] == 7000
    assert factory.socketio.server_options["allow_upgrades"] is False


def test_factory_app_handles_events_after_init_app(load_app: LoadApp) -> None:
    factory = load_app("factory").module
    app = factory.create_app()
    client = factory.socketio.test_client(app)

    assert client.emit("hello", "ada", callback=True) == 3
    assert client.get_received() == [{"name": "hi", "args": ["hello ada"], "namespace": "/"}]


# -- a python-socketio Namespace registered on the server -----------------------------


def test_python_socketio_namespace_on_the_server_greets_and_answers(load_app: LoadApp) -> None:
    app_module = load_app("server_namespace").module
    client = app_module.socketio.test_client(app_module.app, namespace="/echo", auth={"k": 1})

    assert client.is_connected("/echo")
    [hello] = client.get_received("/echo")
    sid = hello["args"][0]["sid"]
    assert hello == {
        "name": "hello",
        "args": [{"sid": sid, "auth": {"k": 1}}],
        "namespace": "/echo",
    }
    assert client.emit("echo", [1, 2], namespace="/echo", callback=True) == {
        "from": sid,
        "echo": [1, 2],
    }


# -- TLS -----------------------------------------------------------------------------


@pytest.mark.parametrize("app_name", ["tls_werkzeug", "tls_gevent"])
def test_tls_options_given_to_run_serve_https_to_a_verifying_client(
    serve_app: ServeApp, self_signed_certificate: tuple[Path, Path], app_name: str
) -> None:
    certfile, keyfile = self_signed_certificate
    url = serve_app(app_name, str(certfile), str(keyfile), scheme="https")
    session = requests.Session()
    session.verify = str(certfile)  # the client checks the server's certificate
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, if set, replaces session.verify
    client = socketio.Client(http_session=session, ssl_verify=str(certfile))
    client.connect(url, wait_timeout=10)
    try:
        answer = client.call("secure", timeout=10)
    finally:
        client.disconnect()

    assert answer == "over TLS"
    assert session.get(url + "/pid", timeout=5).ok
