"""How SockEvents takes its options: keywords, SOCKEVENTS_* config, init_app, pass-through."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_sockevents import Outcome, SockEvents


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_the_extension_registers_itself_on_the_app() -> None:
    app = make_app()
    sockevents = SockEvents(app)

    assert app.extensions["sockevents"] is sockevents
    assert app.extensions["socketio"] is sockevents


def test_config_keys_override_keyword_options() -> None:
    app = make_app(SOCKEVENTS_CONNECT_TIMEOUT=7, SOCKEVENTS_MAX_QUEUED_EVENTS=3)
    sockevents = SockEvents(app, connect_timeout=30, max_queued_events=50)

    assert sockevents.server.connect_timeout == 7
    assert sockevents.server.max_queued_events == 3


def test_init_app_options_override_config_keys() -> None:
    app = make_app(SOCKEVENTS_MAX_EVENT_NAME_LENGTH=10)
    sockevents = SockEvents(max_event_name_length=20)
    sockevents.init_app(app, max_event_name_length=30)

    assert sockevents.bus.max_event_name_length == 30


def test_unknown_options_pass_through_to_python_socketio_and_engineio() -> None:
    app = make_app(SOCKEVENTS_PING_INTERVAL=3)
    sockevents = SockEvents(app, ping_timeout=4, cors_allowed_origins=["https://app.example"])

    assert sockevents.server.eio.ping_interval == 3
    assert sockevents.server.eio.ping_timeout == 4
    assert sockevents.server.eio.cors_allowed_origins == ["https://app.example"]


def test_max_message_size_becomes_engineio_max_http_buffer_size() -> None:
    sockevents = SockEvents(make_app(), max_message_size=12_345)

    assert sockevents.server.eio.max_http_buffer_size == 12_345
    assert sockevents.max_message_size == 12_345


def test_the_server_runs_under_gevent() -> None:
    assert SockEvents(make_app()).server.async_mode == "gevent"


def test_an_async_mode_neither_gevent_nor_flask_socketio_s_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="gevent"):
        SockEvents(make_app(), async_mode="asyncio")


def test_decorators_work_before_init_app() -> None:
    sockevents = SockEvents()

    @sockevents.on("echo")
    def echo(value: object) -> object:
        return value

    app = make_app()
    sockevents.init_app(app)
    client = sockevents.test_client(app)

    assert client.emit("echo", 5, callback=True) == 5


def test_stats_keep_received_equal_to_the_sum_of_outcomes() -> None:
    app = make_app()
    sockevents = SockEvents(app)
    sockevents.on("ok")(lambda: "fine")
    sockevents.on("boom")(lambda: 1 / 0)
    client = sockevents.test_client(app)
    for name in ("ok", "nobody", "connect"):
        client.emit(name)
    with pytest.raises(ZeroDivisionError):  # the test client raises what no error handler answered
        client.emit("boom")

    stats = sockevents.stats()

    outcomes = sum(stats[outcome.value] for outcome in Outcome)
    assert stats["received"] == outcomes == 5  # the connect, then four events
    assert stats["rejected"] == 1
    assert stats["rejections"] == {"reserved event name 'connect'": 1}
    assert stats["connections"] == 1


def test_stats_need_an_attached_server() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        SockEvents().stats()


def always_connect_app() -> tuple[Flask, SockEvents, list[str]]:
    app = make_app()
    sockevents = SockEvents(app, always_connect=True)
    seen: list[str] = []

    @sockevents.on("connect")
    def connect(auth: dict[str, str] | None) -> bool:
        seen.append("connect handler")
        return bool(auth and auth.get("token") == "ok")

    @sockevents.on("echo")
    def echo(value: object) -> object:
        return value

    return app, sockevents, seen


def test_always_connect_admits_a_client_the_connect_handler_accepts() -> None:
    app, sockevents, seen = always_connect_app()
    client = sockevents.test_client(app, auth={"token": "ok"})

    assert client.is_connected()
    assert client.emit("echo", 7, callback=True) == 7
    assert seen == ["connect handler"]


def test_always_connect_disconnects_a_client_the_connect_handler_refuses() -> None:
    app, sockevents, seen = always_connect_app()
    client = sockevents.test_client(app, auth={"token": "wrong"})

    assert not client.is_connected()
    assert seen == ["connect handler"]
    assert sockevents.stats()["rejected"] == 1
    assert sockevents.server.manager.sid_from_eio_sid(client.eio_sid, "/") is None
