"""The drop-in behaviours over the network, with python-socketio's ``Client``.

Each test runs twice: on Flask-SocketIO 5.7 in threading mode, served by
Werkzeug's threaded server, and on flask_sockevents (given the same
``async_mode="threading"``, which it serves under gevent), served by its
gevent server; both on 127.0.0.1 and an ephemeral port, in a background thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import socketio as python_socketio
from flask import Flask, copy_current_request_context, request, session
from werkzeug.serving import make_server

from flask_sockevents.testing import LiveServer, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::flask_sockevents.extension.AsyncModeWarning")

Serve = Callable[[Flask], str]


@pytest.fixture
def serve(extension: ModuleType) -> Iterator[Serve]:
    """Serve an app the way its implementation serves it; return the base URL."""
    stops: list[Callable[[], None]] = []

    def start(app: Flask) -> str:
        if extension.__name__ == "flask_sockevents":
            live = LiveServer(app).start()
            stops.append(live.stop)
            return live.url
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def stop() -> None:
            server.shutdown()
            thread.join(10)

        stops.append(stop)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def clients() -> Iterator[Callable[..., python_socketio.Client]]:
    """python-socketio clients, disconnected at the end of the test."""
    made: list[python_socketio.Client] = []

    def make(**options: Any) -> python_socketio.Client:
        client = python_socketio.Client(reconnection=False, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        if client.connected:
            client.disconnect()


def threading_socketio(extension: ModuleType, app: Flask | None = None, **options: Any) -> Any:
    return extension.SocketIO(app, async_mode="threading", **options)


def test_the_error_method_of_a_namespace_answers_a_real_client(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension, app)

    class Orders(extension.Namespace):  # type: ignore[name-defined,misc]
        def on_order(self, item: str) -> None:
            raise ValueError("out of " + item)

        def error(self, exc: BaseException) -> dict[str, str]:
            return {"error": str(exc)}

    socketio.on_namespace(Orders("/orders"))
    client = clients()
    client.connect(serve(app), namespaces=["/orders"], wait_timeout=10)

    assert client.call("order", "tea", namespace="/orders", timeout=10) == {"error": "out of tea"}


def test_a_connect_error_answered_by_the_error_handler_lets_a_real_client_in(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension, app)

    @socketio.on("connect", namespace="/lenient")
    def connect() -> None:
        raise KeyError("profile")

    @socketio.on_error("/lenient")
    def on_error(error: BaseException) -> str:
        return "let in"

    socketio.on("ping", namespace="/lenient")(lambda: "pong")
    client = clients()
    client.connect(serve(app), namespaces=["/lenient"], wait_timeout=10)

    assert client.call("ping", namespace="/lenient", timeout=10) == "pong"


def test_allow_upgrades_set_in_server_options_before_init_app_keeps_a_client_on_polling(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension)
    socketio.server_options["allow_upgrades"] = False
    socketio.init_app(app)
    socketio.on("echo")(lambda value: value)
    client = clients()
    client.connect(serve(app), wait_timeout=10)  # polling first, then upgrade if offered

    assert client.call("echo", 1, timeout=10) == 1
    assert client.transport() == "polling"


def test_a_thread_with_a_copied_request_context_emits_to_a_real_client(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension, app)

    @socketio.on("start")
    def start(count: int) -> str:
        @copy_current_request_context
        def work() -> None:
            for n in range(count):
                extension.emit("tick", {"n": n, "sid": request.sid})

        threading.Thread(target=work, daemon=True).start()
        return request.sid

    ticks: list[Any] = []
    client = clients()
    client.on("tick", ticks.append)
    client.connect(serve(app), wait_timeout=10)
    sid = client.call("start", 3, timeout=10)
    wait_for(lambda: len(ticks) >= 3, timeout=10, message=f"ticks: {ticks}")

    assert ticks == [{"n": n, "sid": sid} for n in range(3)]


def test_the_managed_session_of_a_real_client_is_in_its_environ_as_saved_session(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension, app)

    @socketio.on("login")
    def login(name: str) -> None:
        session["user"] = name

    @socketio.on("saved")
    def saved() -> dict[str, Any]:
        eio_sid = socketio.server.manager.eio_sid_from_sid(request.sid, "/")
        return dict(socketio.server.environ[eio_sid]["saved_session"])

    client = clients()
    client.connect(serve(app), wait_timeout=10)
    client.call("login", "ada", timeout=10)

    assert client.call("saved", timeout=10) == {"user": "ada"}


# Flask-SocketIO lets the exception end the thread that ran the handler.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_handler_error_over_the_network_leaves_the_connection_working(
    extension: ModuleType, app: Flask, serve: Serve, clients: Callable[..., Any]
) -> None:
    socketio = threading_socketio(extension, app)
    socketio.on("fail")(lambda: 1 / 0)
    socketio.on("echo")(lambda value: value)
    client = clients()
    client.connect(serve(app), wait_timeout=10)
    client.emit("fail")

    assert client.call("echo", "still here", timeout=10) == "still here"
    assert client.connected
