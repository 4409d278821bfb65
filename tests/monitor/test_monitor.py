"""The Monitor on a real extension: page and namespace access, what it records, what it pushes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.monitor import ROOM, Monitor
from flask_sockevents.testing import SocketIOTestClient

NAMESPACE = "/sockevents"
WAIT = 10.0  # seconds a test may wait for the background push


def make_app(check: Callable[[], bool] | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Monitor(sockevents, check=check, **options)

    @sockevents.on("chat")
    def chat(text: str) -> str:
        return text.upper()

    return app


def extension(app: Flask) -> SockEvents:
    return app.extensions["sockevents"]


def monitor_of(app: Flask) -> Monitor:
    return app.extensions["sockevents_monitor"]


@pytest.fixture
def clients() -> Iterator[list[SocketIOTestClient]]:
    """Test clients, disconnected at the end of the test (so no push task outlives it)."""
    opened: list[SocketIOTestClient] = []
    yield opened
    for client in opened:
        for namespace, connected in list(client.connected.items()):
            if connected:
                client.disconnect(namespace)


def connect(app: Flask, clients: list[SocketIOTestClient], **kwargs: Any) -> SocketIOTestClient:
    client = extension(app).test_client(app, **kwargs)
    clients.append(client)
    return client


def wait_for_deltas(client: SocketIOTestClient) -> list[dict[str, Any]]:
    """The deltas pushed to ``client`` so far, waiting (bounded) for at least one."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        deltas = [item for item in client.get_received(NAMESPACE) if item["name"] == "delta"]
        if deltas:
            return [delta["args"][0] for delta in deltas]
        gevent.sleep(0.02)
    raise AssertionError("no delta was pushed")


# -- access ---------------------------------------------------------------------------


def test_the_page_is_served_at_the_url_prefix() -> None:
    response = make_app(check=lambda: True).test_client().get("/sockevents/")

    assert response.status_code == 200
    assert b"sockevents monitor" in response.data
    assert b'"/sockevents"' in response.data


def test_the_page_connects_to_the_endpoint_path_set_in_the_app_config() -> None:
    app = Flask(__name__)
    app.config["SOCKEVENTS_PATH"] = "live/events"
    Monitor(SockEvents(app), check=lambda: True)

    page = app.test_client().get("/sockevents/").get_data(as_text=True)

    assert "/live/events/" in page
    assert "/socket.io/" not in page


def test_the_page_connects_to_the_endpoint_path_given_to_the_extension() -> None:
    app = Flask(__name__)
    Monitor(SockEvents(app, path="/custom.io"), check=lambda: True)

    page = app.test_client().get("/sockevents/").get_data(as_text=True)

    assert "/custom.io/" in page


def test_the_page_and_its_client_script_need_no_other_origin() -> None:
    http = make_app(check=lambda: True).test_client()
    page = http.get("/sockevents/").get_data(as_text=True)

    script = http.get("/sockevents/static/socket.js")

    assert script.status_code == 200
    assert "EIO=4&transport=websocket" in script.get_data(as_text=True)
    assert "https://" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_a_false_check_answers_the_page_with_403() -> None:
    response = make_app(check=lambda: False).test_client().get("/sockevents/")

    assert response.status_code == 403


def test_a_false_check_answers_the_static_files_with_403() -> None:
    response = make_app(check=lambda: False).test_client().get("/sockevents/static/monitor.js")

    assert response.status_code == 403


def test_a_false_check_refuses_the_namespace_connect(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: False)

    client = connect(app, clients, namespace=NAMESPACE)

    assert not client.is_connected(NAMESPACE)
    assert monitor_of(app).watchers == set()


def test_a_true_check_accepts_the_namespace_connect(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: True)

    client = connect(app, clients, namespace=NAMESPACE)

    assert client.is_connected(NAMESPACE)


def test_the_check_runs_in_the_request_context_of_the_handshake(
    clients: list[SocketIOTestClient],
) -> None:
    from flask import request

    app = make_app(check=lambda: request.headers.get("X-Monitor") == "yes")

    refused = connect(app, clients, namespace=NAMESPACE)
    accepted = connect(app, clients, namespace=NAMESPACE, headers={"X-Monitor": "yes"})

    assert not refused.is_connected(NAMESPACE)
    assert accepted.is_connected(NAMESPACE)


def test_the_default_check_lets_the_loopback_in() -> None:
    http = make_app().test_client()

    assert http.get("/sockevents/", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert http.get("/sockevents/", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_the_default_check_refuses_other_addresses_outside_debug_mode() -> None:
    http = make_app().test_client()

    response = http.get("/sockevents/", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 403


def test_the_default_check_lets_anyone_in_in_debug_mode() -> None:
    app = make_app()
    app.debug = True

    response = app.test_client().get("/sockevents/", environ_base={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 200


def test_the_default_check_accepts_a_namespace_connect_from_the_loopback(
    clients: list[SocketIOTestClient],
) -> None:
    app = make_app()
    http = app.test_client()  # its handshakes come from 127.0.0.1

    client = connect(app, clients, namespace=NAMESPACE, flask_test_client=http)

    assert client.is_connected(NAMESPACE)


def test_the_default_check_refuses_a_namespace_connect_from_another_address(
    clients: list[SocketIOTestClient],
) -> None:
    app = make_app()
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = "10.1.2.3"

    client = connect(app, clients, namespace=NAMESPACE, flask_test_client=http)

    assert not client.is_connected(NAMESPACE)


PROXIED = [
    {"X-Forwarded-For": "203.0.113.9"},
    {"Forwarded": "for=203.0.113.9;proto=https"},
    {"X-Real-IP": "203.0.113.9"},
    {"X-Forwarded-Proto": "https"},
]


@pytest.mark.parametrize("headers", PROXIED)
def test_the_default_check_refuses_the_page_relayed_by_a_proxy_on_the_loopback(
    headers: dict[str, str],
) -> None:
    http = make_app().test_client()

    response = http.get("/sockevents/", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})

    assert response.status_code == 403


def test_the_default_check_refuses_the_static_files_relayed_by_a_proxy() -> None:
    http = make_app().test_client()

    response = http.get("/sockevents/static/monitor.js", headers=PROXIED[0])

    assert response.status_code == 403


def test_the_default_check_refuses_a_relayed_request_even_in_debug_mode() -> None:
    app = make_app()
    app.debug = True

    assert app.test_client().get("/sockevents/", headers=PROXIED[0]).status_code == 403


@pytest.mark.parametrize("headers", PROXIED)
def test_the_default_check_refuses_a_namespace_connect_relayed_by_a_proxy(
    clients: list[SocketIOTestClient], headers: dict[str, str]
) -> None:
    app = make_app()
    http = app.test_client()  # from 127.0.0.1

    client = connect(app, clients, namespace=NAMESPACE, flask_test_client=http, headers=headers)

    assert not client.is_connected(NAMESPACE)


def test_behind_proxyfix_an_explicit_check_sees_the_client_address(
    clients: list[SocketIOTestClient],
) -> None:
    from flask import request
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = make_app(check=lambda: request.remote_addr == "198.51.100.7")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    http = app.test_client()

    admin = http.get("/sockevents/", headers={"X-Forwarded-For": "198.51.100.7"})
    other = http.get("/sockevents/", headers={"X-Forwarded-For": "203.0.113.9"})

    assert (admin.status_code, other.status_code) == (200, 403)


def test_init_app_attaches_a_monitor_created_without_the_extension() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    monitor = Monitor(check=lambda: True, url_prefix="/watch")

    monitor.init_app(sockevents)

    assert app.test_client().get("/watch/").status_code == 200


def test_init_app_without_a_flask_app_says_how_to_fix_it() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        Monitor(SockEvents())


# -- what it records ---------------------------------------------------------------------------


def test_the_snapshot_shows_clients_per_namespace_and_the_latest_event(
    clients: list[SocketIOTestClient],
) -> None:
    app = make_app(check=lambda: True)
    user = connect(app, clients)
    user.emit("chat", "hello")
    watcher = connect(app, clients, namespace=NAMESPACE)

    snapshot = watcher.emit("snapshot", namespace=NAMESPACE, callback=True)

    assert snapshot["clients"] == {"/": 1}
    assert snapshot["watchers"] == 1
    last = snapshot["events"][-1]
    assert (last["kind"], last["name"], last["outcome"]) == ("event", "chat", "handled")


def test_the_monitor_namespace_traffic_is_not_shown(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: True)
    watcher = connect(app, clients, namespace=NAMESPACE)
    watcher.emit("snapshot", namespace=NAMESPACE, callback=True)

    snapshot = watcher.emit("snapshot", namespace=NAMESPACE, callback=True)

    assert snapshot["total"] == 0
    assert snapshot["clients"] == {}


def test_a_client_leaving_lowers_the_connected_count(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: True)
    first, second = connect(app, clients), connect(app, clients)
    assert monitor_of(app).state.snapshot()["clients"] == {"/": 2}

    first.disconnect()

    assert monitor_of(app).state.snapshot()["clients"] == {"/": 1}
    second.disconnect()
    assert monitor_of(app).state.snapshot()["clients"] == {}


def test_undeclared_event_names_are_charted_as_undeclared(
    clients: list[SocketIOTestClient],
) -> None:
    app = make_app(check=lambda: True)
    user = connect(app, clients)
    user.emit("chat", "hi")
    user.emit("invented-name-1")
    user.emit("invented-name-2")

    counts = monitor_of(app).state.per_second()["counts"]

    assert set(counts) == {"connect", "chat", "<undeclared>"}


# -- what it pushes ----------------------------------------------------------------------------


def test_nothing_is_pushed_before_a_page_connects() -> None:
    app = make_app(check=lambda: True, interval=0.01)

    assert monitor_of(app)._pushing is False


def test_a_connected_page_receives_deltas_with_new_events(
    clients: list[SocketIOTestClient],
) -> None:
    app = make_app(check=lambda: True, interval=0.01)
    watcher = connect(app, clients, namespace=NAMESPACE)
    user = connect(app, clients)

    user.emit("chat", "pushed")

    rows = [row for delta in wait_for_deltas(watcher) for row in delta["events"]]
    assert ("event", "chat") in {(row["kind"], row["name"]) for row in rows}


def test_pages_are_in_the_monitor_room(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: True)
    watcher = connect(app, clients, namespace=NAMESPACE)
    sid = extension(app).server.manager.sid_from_eio_sid(watcher.eio_sid, NAMESPACE)  # type: ignore[union-attr]

    assert ROOM in extension(app).rooms(sid, namespace=NAMESPACE)


def test_pushing_stops_when_the_last_page_leaves(clients: list[SocketIOTestClient]) -> None:
    app = make_app(check=lambda: True, interval=0.01)
    watcher = connect(app, clients, namespace=NAMESPACE)
    wait_for_deltas(watcher)

    watcher.disconnect(NAMESPACE)

    deadline = time.monotonic() + WAIT
    while monitor_of(app)._pushing and time.monotonic() < deadline:
        gevent.sleep(0.02)
    assert monitor_of(app)._pushing is False
