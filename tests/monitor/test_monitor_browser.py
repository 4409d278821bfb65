"""The monitor page in headless Chromium, served by a real server, watching a real client.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``).
Without them the test is skipped, except under CI, where it must run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from flask_sockevents import SockEvents
from flask_sockevents.monitor import Monitor
from flask_sockevents.testing import LiveServer

pytestmark = pytest.mark.browser

PAGE_TIMEOUT = 15.0  # seconds the page may take to show what the test waits for


def make_app() -> Flask:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Monitor(sockevents, check=lambda: True)

    @sockevents.on("chat message")
    def chat(text: str) -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with LiveServer(make_app()) as live:
        yield live


@pytest.fixture
def browser(start_chromium: Callable[[], WebDriver]) -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def client() -> Iterator[socketio.Client]:
    sio = socketio.Client(reconnection=False)
    yield sio
    if sio.connected:
        sio.disconnect()


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, PAGE_TIMEOUT, poll_frequency=0.05).until(condition)


def client_count(driver: WebDriver, namespace: str) -> str | None:
    rows = driver.find_elements(By.CSS_SELECTOR, f'#clients tr[data-namespace="{namespace}"]')
    return rows[0].find_element(By.CSS_SELECTOR, ".count").text if rows else None


def event_rows(driver: WebDriver, sid_prefix: str) -> set[tuple[str, str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f'#events tr[data-sid="{sid_prefix}"]')
    return {
        (
            str(row.get_attribute("data-kind")),
            str(row.get_attribute("data-name")),
            str(row.get_attribute("data-outcome")),
        )
        for row in rows
    }


def test_the_page_shows_a_connected_client_and_its_event_live(
    server: LiveServer, browser: WebDriver, client: socketio.Client, tmp_path: Path
) -> None:
    browser.get(server.url + "/sockevents/")
    wait(browser, lambda d: d.find_element(By.ID, "link").get_attribute("data-state") == "live")

    client.connect(server.url, transports=["websocket"])
    assert client.call("chat message", "hello monitor", timeout=5) == {"ok": True}
    sid_prefix = str(client.get_sid("/"))[:8]

    wait(browser, lambda d: client_count(d, "/") == "1")
    expected = {("connect", "connect", "unhandled"), ("event", "chat message", "handled")}
    wait(browser, lambda d: expected <= event_rows(d, sid_prefix))

    screenshot = tmp_path / "monitor.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
