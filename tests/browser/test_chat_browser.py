"""The chat example in a real browser: headless Chromium, the official JS client, a real server.

The app runs as ``make run`` serves it (``python -m flask_sockevents
examples/chat/app.py``, gevent-patched) in a subprocess on an ephemeral
127.0.0.1 port; each page is a separate Chromium session driven by
selenium, so two pages are two independent Socket.IO clients.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``) and the
Socket.IO client from npm (``make node-deps``). Without Chromium the tests are
skipped, except under CI, where they must run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHAT_DIR = ROOT / "examples" / "chat"
SOCKETIO_CLIENT = CHAT_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SERVER_START_TIMEOUT = 20.0  # seconds
PAGE_TIMEOUT = 15.0  # seconds a page may take to show what a test waits for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_chat(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the chat app on a free port; return the process and its base URL once it answers.

    A port picked free can be taken before the server binds it: then the server
    exits and another port is tried (three attempts).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    env["PYTHONUNBUFFERED"] = "1"
    for _attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask_sockevents",
                    str(CHAT_DIR / "app.py"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return process, url
            except requests.ConnectionError:
                time.sleep(0.1)
        _stop(process)
    raise RuntimeError(f"the chat app did not start; its output:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the chat app, served for this module's tests."""
    assert SOCKETIO_CLIENT.is_file(), (
        f"{SOCKETIO_CLIENT} is missing: run `make node-deps` "
        "(or `npm install` in examples/chat) before the browser tests"
    )
    process, url = _serve_chat(tmp_path_factory.mktemp("chat-server") / "server.log")
    try:
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browsers(start_chromium: Callable[[], WebDriver]) -> Iterator[list[WebDriver]]:
    """Headless Chromium sessions, started on demand and shared by this module's tests."""
    started: list[WebDriver] = []
    yield started
    for driver in started:
        driver.quit()


@pytest.fixture
def open_page(
    chat_url: str, browsers: list[WebDriver], start_chromium: Callable[[], WebDriver]
) -> Iterator[Callable[[], WebDriver]]:
    """Open the chat in a fresh page per call: each page is a new Socket.IO client.

    Pages of one test are in separate browser sessions; at the end of the test
    they are left (which disconnects their clients).
    """
    used: list[WebDriver] = []

    def open_() -> WebDriver:
        if len(used) == len(browsers):
            browsers.append(start_chromium())
        driver = browsers[len(used)]
        used.append(driver)
        driver.get(chat_url)
        _wait(
            driver,
            lambda d: d.execute_script("return !!window.chat && window.chat.socket.connected"),
        )
        return driver

    yield open_
    for driver in used:
        driver.get("about:blank")


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, PAGE_TIMEOUT, poll_frequency=0.05).until(condition)


def _join(driver: WebDriver, name: str, room: str | None = None) -> None:
    driver.find_element(By.ID, "name").send_keys(name)
    if room is not None:
        room_input = driver.find_element(By.ID, "room")
        room_input.clear()
        room_input.send_keys(room)
    driver.find_element(By.ID, "join").click()
    _wait(driver, lambda d: d.find_element(By.ID, "message").is_enabled())


def _switch_room(driver: WebDriver, room: str) -> None:
    driver.find_element(By.ID, "switch-room").send_keys(room)
    driver.find_element(By.CSS_SELECTOR, "#switch-form button").click()
    _wait(driver, lambda d: d.find_element(By.ID, "room-title").text == f"#{room}")


def _say(driver: WebDriver, text: str) -> None:
    driver.find_element(By.ID, "message").send_keys(text)
    driver.find_element(By.ID, "send").click()


def _message_texts(driver: WebDriver) -> list[str]:
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#messages .message .text")]


def _members(driver: WebDriver) -> list[str]:
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#members .member-name")]


def _sid_prefix(driver: WebDriver) -> str:
    return str(driver.execute_script("return window.chat.socket.id"))[:6]


def _bus_rows(driver: WebDriver, sid_prefix: str) -> set[tuple[str, str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f'#bus-log .bus-row[data-sid="{sid_prefix}"]')
    return {
        (
            row.get_attribute("data-kind"),
            row.get_attribute("data-name"),
            row.get_attribute("data-outcome"),
        )
        for row in rows
    }


def test_the_app_serves_the_socketio_javascript_client(chat_url: str) -> None:
    response = requests.get(chat_url + "static/vendor/socket.io.min.js", timeout=5)

    assert response.status_code == 200
    assert response.content == SOCKETIO_CLIENT.read_bytes()


def test_a_message_sent_to_the_room_appears_on_another_members_page(
    open_page: Callable[[], WebDriver],
) -> None:
    alice, bob = open_page(), open_page()
    _join(alice, "alice")
    _join(bob, "bob")

    _say(alice, "hello from alice")

    _wait(bob, lambda d: "hello from alice" in _message_texts(d))
    author = bob.find_element(By.CSS_SELECTOR, "#messages .message:last-child .author").text
    assert author == "alice"


def test_members_of_a_room_see_each_other_in_the_members_list(
    open_page: Callable[[], WebDriver],
) -> None:
    alice, bob = open_page(), open_page()
    _join(alice, "alice", room="members-list")
    _join(bob, "bob", room="members-list")

    _wait(alice, lambda d: _members(d) == ["alice", "bob"])
    assert bob.find_element(By.ID, "members-count").text == "2"


def test_a_message_stays_in_the_room_it_was_sent_to(open_page: Callable[[], WebDriver]) -> None:
    alice, carol = open_page(), open_page()
    _join(alice, "alice", room="porch")
    _join(carol, "carol", room="kitchen")

    _say(alice, "only for the porch")
    _wait(alice, lambda d: "only for the porch" in _message_texts(d))
    _switch_room(alice, "kitchen")
    _say(alice, "hello kitchen")

    _wait(carol, lambda d: "hello kitchen" in _message_texts(d))
    assert "only for the porch" not in _message_texts(carol)


def test_switching_room_moves_the_member_between_member_lists(
    open_page: Callable[[], WebDriver],
) -> None:
    alice, bob, carol = open_page(), open_page(), open_page()
    _join(alice, "alice", room="hall")
    _join(bob, "bob", room="hall")
    _join(carol, "carol", room="garden")

    _switch_room(alice, "garden")

    _wait(bob, lambda d: _members(d) == ["bob"])
    _wait(carol, lambda d: _members(d) == ["alice", "carol"])


def test_leaving_the_page_removes_the_member_from_the_room(
    open_page: Callable[[], WebDriver],
) -> None:
    alice, bob = open_page(), open_page()
    _join(alice, "alice", room="doorway")
    _join(bob, "bob", room="doorway")
    _wait(bob, lambda d: _members(d) == ["alice", "bob"])

    alice.get("about:blank")

    _wait(bob, lambda d: _members(d) == ["bob"])
    assert "alice left" in [n.text for n in bob.find_elements(By.CSS_SELECTOR, "#messages .notice")]


def test_a_blank_name_is_refused_with_a_reason(open_page: Callable[[], WebDriver]) -> None:
    page = open_page()

    page.find_element(By.ID, "name").send_keys("   ")
    page.find_element(By.ID, "join").click()

    _wait(page, lambda d: d.find_element(By.ID, "join-error").text == "pick a name")
    assert page.find_element(By.ID, "join-overlay").is_displayed()


def test_the_bus_panel_shows_another_pages_connect_and_chat_event(
    open_page: Callable[[], WebDriver],
) -> None:
    bob = open_page()
    alice = open_page()
    alice_sid = _sid_prefix(alice)
    _join(alice, "alice", room="bus-watch")

    _say(alice, "watch the bus")

    expected = {("connect", "connect", "handled"), ("event", "chat message", "handled")}
    _wait(bob, lambda d: expected <= _bus_rows(d, alice_sid))


def test_the_bus_panel_shows_how_long_each_event_took(open_page: Callable[[], WebDriver]) -> None:
    page = open_page()
    _join(page, "timer", room="bus-timing")

    row = _wait(
        page,
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'#bus-log .bus-row[data-sid="{_sid_prefix(d)}"][data-name="join"]'
        ),
    )
    microseconds = row.find_element(By.CSS_SELECTOR, ".num").text.replace(",", "")
    assert microseconds.isdigit()


def test_a_screenshot_of_a_conversation_is_written(
    open_page: Callable[[], WebDriver], tmp_path: Path
) -> None:
    alice, bob = open_page(), open_page()
    _join(alice, "alice", room="gallery")
    _join(bob, "bob", room="gallery")
    _say(alice, "every packet is an Event on the bus")
    _wait(bob, lambda d: "every packet is an Event on the bus" in _message_texts(d))
    _say(bob, "and the panel on the right shows them")
    _wait(bob, lambda d: "and the panel on the right shows them" in _message_texts(d))

    screenshot = tmp_path / "chat.png"
    assert bob.save_screenshot(str(screenshot))

    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
