"""Connection state recovery in headless Chromium, with the official client's browser bundle.

A browser cannot destroy its own TCP socket, so the server does it:
``GET /break/<sid>`` shuts the socket under the client's websocket down
without a close frame, and the page sees its transport close. While it is
away the server emits the gap's events (see :mod:`._app`); then the page
reconnects (``socket.connect()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Serve

from ._app import MISSED, make_app

pytestmark = pytest.mark.browser

BUNDLE = (
    Path(__file__).resolve().parents[2]
    / "examples/chat/node_modules/socket.io-client/dist/socket.io.min.js"
)
PAGE_TIMEOUT = 15.0

PAGE = """<!doctype html>
<html><head><script src="/client.js"></script></head><body><script>
window.report = { news: [], state: "connecting" };
const socket = window.sock = io({ transports: ["websocket"], reconnection: false });
socket.on("news", (...args) => report.news.push(args[0]));
socket.on("disconnect", (reason) => { report.reason = reason; report.state = "lost"; });
socket.on("connect", async () => {
  if (report.firstSid === undefined) {
    report.firstSid = socket.id;
    await socket.emitWithAck("join", "r");
    socket.emit("hello");
  } else {
    report.secondSid = socket.id;
    report.recovered = socket.recovered;
  }
  report.state = "connected";
});
</script></body></html>
"""


@pytest.fixture
def browser(start_chromium: Callable[[], WebDriver]) -> Iterator[WebDriver]:
    """A headless Chromium session for one test."""
    if not BUNDLE.is_file():
        pytest.skip(f"{BUNDLE} is missing: `make node-deps` installs socket.io-client")
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def _page_app(**recovery: Any) -> tuple[Any, Any]:
    app, sockevents = make_app(recovery or True)
    app.add_url_rule("/page", "page", lambda: PAGE)
    app.add_url_rule(
        "/client.js",
        "client",
        lambda: (BUNDLE.read_bytes(), 200, {"Content-Type": "text/javascript"}),
    )
    return app, sockevents


def _report(driver: WebDriver, predicate: str) -> dict[str, Any]:
    """Wait until ``predicate`` (JavaScript, about ``report``) holds; return ``report``."""
    WebDriverWait(driver, PAGE_TIMEOUT).until(
        lambda d: d.execute_script(f"return {predicate};"),
        message=f"the page never showed {predicate}",
    )
    report: dict[str, Any] = driver.execute_script("return window.report;")
    return report


def _barrier(driver: WebDriver) -> list[str]:
    """Ask the server for an ack: every event sent before it has then reached the page."""
    rooms: list[str] = driver.execute_async_script(
        "const done = arguments[0]; window.sock.emitWithAck('join', 'barrier').then(done);"
    )
    return rooms


def _lose_and_come_back(driver: WebDriver, url: str, wait_past: float | None = None) -> None:
    report = _report(driver, "report.news.length === 1")
    sid = report["firstSid"]
    assert requests.get(f"{url}/break/{sid}", timeout=10).text == "broken"
    _report(driver, "report.state === 'lost'")
    assert requests.get(f"{url}/gap/{sid}", timeout=10).text == "sent"
    if wait_past is not None:
        driver.execute_async_script(
            "setTimeout(arguments[1], arguments[0]);", int(wait_past * 1000)
        )
    driver.execute_script("window.sock.connect();")
    _report(driver, "report.secondSid !== undefined")
    requests.get(f"{url}/emit/r/after", timeout=10)


def test_a_page_recovers_its_sid_rooms_and_every_missed_event_once_in_order(
    serve: Serve, browser: WebDriver
) -> None:
    app, _ = _page_app()
    url = serve(app).url
    browser.set_script_timeout(PAGE_TIMEOUT)
    browser.get(f"{url}/page")
    _lose_and_come_back(browser, url)
    rooms = _barrier(browser)
    report = _report(browser, "true")
    assert report["reason"] == "transport close"
    assert report["recovered"] is True
    assert report["secondSid"] == report["firstSid"]
    assert report["news"] == ["first", *MISSED, "after"]
    assert sorted(rooms) == sorted(["r", "barrier", report["firstSid"]])


def test_a_page_coming_back_after_the_window_is_a_new_session(
    serve: Serve, browser: WebDriver
) -> None:
    app, _ = _page_app(max_disconnection_duration=1)
    url = serve(app).url
    browser.set_script_timeout(PAGE_TIMEOUT)
    browser.get(f"{url}/page")
    _lose_and_come_back(browser, url, wait_past=1.5)
    rooms = _barrier(browser)
    report = _report(browser, "true")
    assert report["recovered"] is False
    assert report["secondSid"] != report["firstSid"]
    assert report["news"] == ["first"]
    assert sorted(rooms) == sorted(["barrier", report["secondSid"]])
