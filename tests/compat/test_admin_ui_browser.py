"""The official Socket.IO Admin UI, in headless Chromium, against ``server.instrument()``.

The UI is the npm package ``@socket.io/admin-ui`` (its built front-end in
``ui/dist``, installed by ``make node-deps`` in ``tests/admin_ui``), served by a
tiny Flask app on 127.0.0.1; the Socket.IO server is a SockEvents app on
another loopback port, instrumented with ``sockevents.server.instrument()``.
A test logs in through the UI's connection form and reads what the UI shows:
the connected sockets, their rooms and the live events.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, send_from_directory
from integration._support import TIMEOUT, Clients
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from flask_sockevents import SockEvents
from flask_sockevents.testing import LiveServer

pytestmark = pytest.mark.browser

ADMIN_UI = Path(__file__).resolve().parents[1] / "admin_ui"
UI_DIST = ADMIN_UI / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
CREDENTIALS = {"username": "admin", "password": "s3cret"}
PAGE_TIMEOUT = 15.0  # seconds a page may take to show what a test waits for
# The UI's page links fonts and icons from public CDNs; the test stays on loopback.
_REMOTE_STYLESHEET = re.compile(r'<link rel="stylesheet" href="https://[^"]*">')


def _ui_app() -> Flask:
    """A Flask app serving the Admin UI's built files, without its remote stylesheets."""
    app = Flask(__name__, static_folder=None)

    @app.get("/")
    def index() -> Response:
        page = _REMOTE_STYLESHEET.sub("", (UI_DIST / "index.html").read_text())
        return Response(page, mimetype="text/html")

    @app.get("/<path:path>")
    def asset(path: str) -> Response:
        return send_from_directory(UI_DIST, path)

    return app


@pytest.fixture
def ui_url() -> Iterator[str]:
    """The Admin UI, served on 127.0.0.1."""
    assert (UI_DIST / "index.html").is_file(), (
        f"{UI_DIST} is missing: run `make node-deps` (or `npm install` in tests/admin_ui)"
    )
    with LiveServer(_ui_app()) as server:
        yield server.url


@pytest.fixture
def make_server(ui_url: str) -> Iterator[Callable[..., tuple[SockEvents, str]]]:
    """Serve a SockEvents app instrumented for the Admin UI: ``make_server(**options)``."""
    started: list[tuple[LiveServer, Any]] = []

    def start(**options: Any) -> tuple[SockEvents, str]:
        app = Flask(__name__)
        sockevents = SockEvents(app, cors_allowed_origins=[ui_url], ping_interval=1, **options)
        assert sockevents.server is not None
        admin = sockevents.server.instrument(auth=CREDENTIALS, server_stats_interval=0.5)
        live = LiveServer(app).start()
        started.append((live, admin))
        return sockevents, live.url

    yield start
    for live, admin in reversed(started):
        live.stop()
        admin.uninstrument()


@pytest.fixture
def browser(start_chromium: Callable[[], WebDriver]) -> Iterator[WebDriver]:
    """A headless Chromium session."""
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def clients() -> Iterator[Clients]:
    """python-socketio clients, disconnected at the end of the test.

    Over long-polling: websocket-client sends an ``Origin`` header (the
    server's own), which ``cors_allowed_origins`` (the UI's origin) refuses.
    """
    made = Clients(["polling"])
    yield made
    made.close_all()


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, PAGE_TIMEOUT, poll_frequency=0.1).until(condition)


def _log_in(driver: WebDriver, ui_url: str, server_url: str, password: str) -> None:
    """Fill the UI's connection form (server URL, username, password) and submit it."""
    driver.get(ui_url + "/")
    fields = _wait(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".v-dialog form input")[:3] or None
    )
    server_field, username_field, password_field = fields
    server_field.clear()
    server_field.send_keys(server_url)
    username_field.send_keys(CREDENTIALS["username"])
    password_field.send_keys(password)
    driver.find_element(By.CSS_SELECTOR, ".v-dialog form button[type=submit]").click()


def _show(driver: WebDriver, view: str) -> None:
    driver.execute_script("window.location.hash = arguments[0]", f"#/{view}/")


def _page_shows(text: str) -> Callable[[WebDriver], bool]:
    return lambda d: text in d.find_element(By.TAG_NAME, "main").text


def _event_names(driver: WebDriver) -> set[str]:
    """The event names in the events table (received and sent)."""
    return {code.text for code in driver.find_elements(By.CSS_SELECTOR, "main td code")}


def test_admin_ui_shows_the_connected_sockets_their_rooms_and_live_events(
    make_server: Callable[..., tuple[SockEvents, str]],
    ui_url: str,
    browser: WebDriver,
    clients: Clients,
) -> None:
    sockevents, server_url = make_server()

    @sockevents.on("join")
    def join(room: str) -> None:
        from flask import request

        sockevents.join_room(room, request.sid)  # type: ignore[attr-defined]

    @sockevents.on("chat")
    def chat(text: str) -> None:
        sockevents.emit("said", text, to="lobby-of-the-test")

    user = clients.connect(server_url)
    user.call("join", "lobby-of-the-test", timeout=TIMEOUT)
    sid = user.get_sid()

    _log_in(browser, ui_url, server_url, CREDENTIALS["password"])
    _wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".v-dialog--active"))

    _show(browser, "sockets")
    _wait(browser, _page_shows(sid))
    _show(browser, "rooms")
    _wait(browser, _page_shows("lobby-of-the-test"))

    user.call("chat", "live-message-from-the-test", timeout=TIMEOUT)
    _show(browser, "events")
    _wait(browser, lambda d: {"chat", "said"} <= _event_names(d))


@pytest.mark.parametrize("namespaces", [None, "*"], ids=["default", "any"])
def test_admin_ui_refuses_a_wrong_password(
    make_server: Callable[..., tuple[SockEvents, str]],
    ui_url: str,
    browser: WebDriver,
    namespaces: Any,
) -> None:
    _, server_url = make_server(namespaces=namespaces)

    _log_in(browser, ui_url, server_url, "wrong")

    _wait(browser, lambda d: "authentication failed" in d.find_element(By.TAG_NAME, "body").text)
    assert browser.find_elements(By.CSS_SELECTOR, ".v-dialog--active")
