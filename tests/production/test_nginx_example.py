"""examples/production: the chat behind nginx with sticky sessions, two processes and Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
import socketio

from ._support import ROOT, TIMEOUT, command_or_skip, free_port, wait_for


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def proxy_url() -> Iterator[str]:
    """The example's launcher running, and the URL of its nginx.

    ``make test`` does not install nginx: on most hosts Debian's package starts
    a server on port 80. Where nginx is installed, this test runs.
    """
    command_or_skip("nginx", installed_by_make=False)
    command_or_skip("redis-server")
    redis, first, second, proxy = (free_port() for _ in range(4))
    launcher = subprocess.Popen(
        [
            sys.executable,
            "examples/production/launch.py",
            "--redis-port", str(redis),
            "--ports", str(first), str(second),
            "--proxy-port", str(proxy),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{proxy}"
    try:
        wait_for(lambda: all(_answers(f"http://127.0.0.1:{p}/") for p in (first, second, proxy)))
        yield url
    finally:
        launcher.send_signal(signal.SIGINT)
        exit_code = launcher.wait(timeout=3 * TIMEOUT)
    assert exit_code == 0, "the launcher did not stop every process cleanly"


def test_chat_messages_cross_nginx_over_both_transports(proxy_url: str) -> None:
    received: list[str] = []
    ann = socketio.Client(reconnection=False)
    bob = socketio.Client(reconnection=False)
    bob.on("chat message", lambda message: received.append(message["text"]))
    ann.connect(proxy_url, transports=["websocket"])
    bob.connect(proxy_url, transports=["polling"])
    try:
        assert ann.call("join", {"name": "ann", "room": "lobby"}, timeout=TIMEOUT)["ok"]
        assert bob.call("join", {"name": "bob", "room": "lobby"}, timeout=TIMEOUT)["ok"]

        ann.call("chat message", {"text": "through nginx"}, timeout=TIMEOUT)

        assert wait_for(lambda: received) == ["through nginx"]
    finally:
        ann.disconnect()
        bob.disconnect()
