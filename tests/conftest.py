"""Fixtures shared by the test suites."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from flask_sockevents.testing import LiveServer

#: ``serve(app) -> LiveServer``: ``app`` served on 127.0.0.1 until the test ends.
Serve = Callable[[Flask], LiveServer]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def start_chromium() -> Callable[[], WebDriver]:
    """A function starting a headless Chromium session (the caller quits it).

    Uses Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``),
    with an explicit driver path so selenium-manager never downloads one.
    Without them the test is skipped, except under CI, where it fails.
    """
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        message = f"headless Chromium is not installed ({', '.join(missing)} missing)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests")
        pytest.skip(f"{message}: `make system-deps` installs chromium and chromium-driver")

    def start() -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1440,900",
        ):
            options.add_argument(argument)
        return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))

    return start


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve an app on 127.0.0.1 and an ephemeral port until the test ends."""
    servers: list[LiveServer] = []

    def start(app: Flask) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
