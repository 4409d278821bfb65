"""What apps written for Flask-SocketIO rely on, beyond its documented examples.

Tests taking ``extension`` run against Flask-SocketIO 5.7 and flask_sockevents
and assert the same outcome; the others pin what only flask_sockevents can
show (its ``run()`` and its network isolation).
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import socket
import threading
from types import ModuleType
from typing import Any

import pytest
import socketio as python_socketio
from flask import Flask, copy_current_request_context, current_app, request, session

from flask_sockevents import SocketIO
from flask_sockevents.testing import LiveServer, wait_for

# -- async_mode and server_options ----------------------------------------------------


def test_async_mode_none_means_the_default_mode(extension: ModuleType, app: Flask) -> None:
    default = extension.SocketIO(Flask("default")).async_mode

    assert isinstance(default, str) and default
    assert extension.SocketIO(app, async_mode=None).async_mode == default


def test_server_options_given_and_edited_before_init_app_configure_the_server(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(ping_timeout=3)
    socketio.server_options["allow_upgrades"] = False
    socketio.init_app(app, ping_interval=4)

    assert {key: socketio.server_options[key] for key in ("ping_timeout", "allow_upgrades")} == {
        "ping_timeout": 3,
        "allow_upgrades": False,
    }
    assert socketio.server_options["ping_interval"] == 4
    engine = socketio.server.eio
    assert (engine.ping_timeout, engine.allow_upgrades, engine.ping_interval) == (3, False, 4)


def test_server_options_hold_the_client_manager_made_for_a_message_queue(
    extension: ModuleType,
) -> None:
    socketio = extension.SocketIO(message_queue="redis://127.0.0.1:9/0")  # never connected

    manager = socketio.server_options["client_manager"]
    assert isinstance(manager, python_socketio.RedisManager)
    assert manager.write_only  # no app: this process only emits
    assert socketio.server.manager is manager


# -- Flask contexts carried into threads and greenlets --------------------------------


def test_a_thread_started_with_copy_current_request_context_sees_the_client_and_session(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    seen: list[dict[str, Any]] = []

    @socketio.on("start")
    def start() -> str:
        session["user"] = "ada"

        @copy_current_request_context
        def work() -> None:
            seen.append(
                {
                    "sid": request.sid,
                    "namespace": request.namespace,
                    "event": request.event["message"],
                    "user": session["user"],
                }
            )

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return request.sid

    client = socketio.test_client(app)
    sid = client.emit("start", callback=True)

    assert seen == [{"sid": sid, "namespace": "/", "event": "start", "user": "ada"}]


def test_a_background_task_with_copy_current_request_context_sees_the_client(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    seen: list[str] = []

    @socketio.on("start")
    def start() -> str:
        @copy_current_request_context
        def work() -> None:
            seen.append(request.sid)

        socketio.start_background_task(work).join()
        return request.sid

    client = socketio.test_client(app)

    assert seen == [client.emit("start", callback=True)]


def test_a_thread_running_in_a_copy_of_the_context_sees_the_app_and_the_client(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    seen: list[tuple[str, str]] = []

    @socketio.on("start")
    def start() -> str:
        def work() -> None:
            seen.append((current_app.name, request.sid))

        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
        thread.start()
        thread.join()
        return request.sid

    client = socketio.test_client(app)
    sid = client.emit("start", callback=True)

    assert seen == [(app.name, sid)]


# -- the test client raises what the app did not handle --------------------------------


def test_a_handler_error_with_no_error_handler_is_raised_by_the_test_client_emit(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)

    @socketio.on("divide")
    def divide(a: int, b: int) -> float:
        return a / b

    client = socketio.test_client(app)

    with pytest.raises(ZeroDivisionError):
        client.emit("divide", 1, 0, callback=True)
    assert client.is_connected()
    assert client.emit("divide", 1, 2, callback=True) == 0.5


def test_a_handler_error_whose_error_handler_reraises_is_raised_by_the_test_client_emit(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    handled: list[BaseException] = []

    @socketio.on("fail")
    def fail() -> None:
        raise LookupError("no such thing")

    @socketio.on_error_default
    def reraise(error: BaseException) -> None:
        handled.append(error)
        raise error

    client = socketio.test_client(app)

    with pytest.raises(LookupError, match="no such thing"):
        client.emit("fail")
    assert [type(error) for error in handled] == [LookupError]


def test_a_connect_handler_error_is_raised_by_the_test_client_connect(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)

    @socketio.on("connect", namespace="/broken")
    def connect() -> None:
        raise RuntimeError("connect failed")

    client = socketio.test_client(app)

    with pytest.raises(RuntimeError, match="connect failed"):
        client.connect(namespace="/broken")
    assert not client.is_connected("/broken")


def test_an_argument_that_cannot_be_serialized_raises_type_error_at_the_test_client_emit(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    received: list[object] = []
    socketio.on("store")(received.append)
    client = socketio.test_client(app)

    with pytest.raises(TypeError):
        client.emit("store", object())
    assert received == []


def test_an_ack_that_cannot_be_serialized_raises_type_error_at_the_test_client_emit(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)
    socketio.on("make")(lambda: object())
    client = socketio.test_client(app)

    with pytest.raises(TypeError):
        client.emit("make", callback=True)


def test_an_emit_that_cannot_be_serialized_raises_type_error_at_the_test_client_emit(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)

    @socketio.on("push")
    def push() -> None:
        extension.emit("pushed", {1, 2})

    client = socketio.test_client(app)

    with pytest.raises(TypeError):
        client.emit("push")


def test_served_over_the_network_a_handler_error_is_logged_and_isolated(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    socketio = SocketIO(app)
    socketio.on("fail")(lambda: 1 / 0)
    socketio.on("echo")(lambda value: value)
    with LiveServer(app) as live:
        client = python_socketio.Client()
        client.connect(live.url, transports=["websocket"], wait_timeout=10)
        try:
            client.emit("fail")
            answer = client.call("echo", "still here", timeout=10)
            connected = client.connected
        finally:
            client.disconnect()

    assert (answer, connected) == ("still here", True)
    wait_for(lambda: any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records))


# -- error handlers of class-based namespaces and of connects ------------------------


def test_the_error_method_of_a_namespace_answers_the_ack(extension: ModuleType, app: Flask) -> None:
    socketio = extension.SocketIO(app)

    class Orders(extension.Namespace):  # type: ignore[name-defined,misc]
        def on_order(self, item: str) -> None:
            raise ValueError("out of " + item)

        def error(self, exc: BaseException) -> dict[str, str]:
            return {"error": str(exc)}

    socketio.on_namespace(Orders("/orders"))
    client = socketio.test_client(app, namespace="/orders")

    assert client.emit("order", "tea", namespace="/orders", callback=True) == {
        "error": "out of tea"
    }


def test_a_connect_error_answered_by_the_namespace_error_method_lets_the_client_in(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)

    class Lenient(extension.Namespace):  # type: ignore[name-defined,misc]
        def on_connect(self, auth: Any = None) -> None:
            raise KeyError("profile")

        def error(self, exc: BaseException) -> str:
            return "connected without a profile"

    socketio.on_namespace(Lenient("/lenient"))
    client = socketio.test_client(app, namespace="/lenient")

    assert client.is_connected("/lenient")


@pytest.mark.parametrize(("answer", "connected"), [(None, True), (False, False)])
def test_a_connect_error_answered_by_on_error_decides_the_connect(
    extension: ModuleType, app: Flask, answer: object, connected: bool
) -> None:
    socketio = extension.SocketIO(app)

    @socketio.on("connect", namespace="/strict")
    def connect() -> None:
        raise PermissionError("no")

    @socketio.on_error("/strict")
    def on_error(error: BaseException) -> object:
        return answer

    client = socketio.test_client(app)
    client.connect(namespace="/strict")

    assert client.is_connected("/strict") is connected


# -- the managed session -----------------------------------------------------------------


def test_the_managed_session_is_kept_in_the_environ_under_saved_session(
    extension: ModuleType, app: Flask
) -> None:
    socketio = extension.SocketIO(app)

    @socketio.on("login")
    def login(name: str) -> None:
        session["user"] = name

    client = socketio.test_client(app)
    client.emit("login", "ada")

    assert socketio.server.environ[client.eio_sid]["saved_session"]["user"] == "ada"


# -- run() ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_takes_every_argument_flask_socketio_run_documents() -> None:
    parameters = inspect.signature(SocketIO.run).parameters

    for name in (
        "app",
        "host",
        "port",
        "debug",
        "use_reloader",
        "reloader_options",
        "extra_files",
        "log_output",
        "allow_unsafe_werkzeug",
    ):
        assert name in parameters


def test_run_refuses_an_unknown_keyword_naming_it_before_binding(app: Flask) -> None:
    socketio = SocketIO(app)
    port = free_port()

    with pytest.raises(TypeError, match="'threads'"):
        socketio.run(app, port=port, threads=8)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # never bound by run()


def test_run_refuses_an_unknown_reloader_option_before_binding(app: Flask) -> None:
    socketio = SocketIO(app)

    with pytest.raises(TypeError, match="'extra_file'"):
        socketio.run(app, port=free_port(), reloader_options={"extra_file": ["a.cfg"]})


def test_run_refuses_werkzeug_s_adhoc_certificate_with_how_to_make_one(app: Flask) -> None:
    socketio = SocketIO(app)

    with pytest.raises(ValueError, match="certfile"):
        socketio.run(app, port=free_port(), ssl_context="adhoc")


def test_the_async_mode_warning_is_logged_once(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="flask_sockevents"),
        pytest.warns(UserWarning, match="gevent") as caught,
    ):
        SocketIO(app, async_mode="eventlet")

    assert len(caught) == 1
    assert [r.getMessage() for r in caplog.records if "async_mode" in r.getMessage()] == [
        str(caught[0].message)
    ]


def test_debug_mode_puts_werkzeug_s_debugger_in_front_of_the_flask_app(app: Flask) -> None:
    from flask_sockevents.serving import _install_debugger

    SocketIO(app)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("view failed")

    app.debug = True
    _install_debugger(app)  # what run(app, debug=True) does before serving
    response = app.test_client().get("/boom")

    assert response.status_code == 500
    assert "Werkzeug Debugger" in response.get_data(as_text=True)
    assert app.test_client().get("/socket.io/?EIO=4&transport=polling").status_code == 200
