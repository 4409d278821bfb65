"""The Monitor behind a reverse proxy on the same host: relayed visitors never get in.

A proxy on the same host relays every visitor from 127.0.0.1, which the
Monitor's default check trusts; what tells a relayed request apart is the
proxy's headers. Here the visitors come from 127.0.0.1 carrying them, as
nginx sends them, to the page, its static files and its Socket.IO namespace
over both transports, while the probe is answered; a direct local visitor
still gets in.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from flask_sockevents import SockEvents
from flask_sockevents.monitor import Monitor

from ._raw import TIMEOUT
from ._resident import settled_resident_bytes
from .conftest import Arena

NAMESPACE = "/sockevents"
ATTEMPTS = 20
RELAYED = [
    {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
    {"Forwarded": "for=203.0.113.9;proto=https"},
    {"X-Real-IP": "203.0.113.9"},
]


def monitored(arena: Any) -> Arena:
    def setup(sockevents: SockEvents) -> None:
        Monitor(sockevents)

    game: Arena = arena(setup)
    return game


def namespace_connect(url: str, transport: str, headers: dict[str, str]) -> bool:
    """Whether a python-socketio client sending ``headers`` gets into the monitor namespace.

    The client learns the answer from the namespace's connect or connect_error,
    then drops its transport at once (``abort``), so that no attempt waits on
    a long-poll to end.
    """
    client = socketio.Client(reconnection=False)
    answered = threading.Event()
    admitted: list[bool] = []

    def answer(value: bool) -> None:
        admitted.append(value)
        answered.set()

    client.on("connect", lambda: answer(True), namespace=NAMESPACE)
    client.on("connect_error", lambda data: answer(False), namespace=NAMESPACE)
    client.connect(url, namespaces=[NAMESPACE], transports=[transport], headers=headers, wait=False)
    try:
        assert answered.wait(TIMEOUT), "the monitor namespace never answered the connect"
        return admitted[0]
    finally:
        client.eio.disconnect(abort=True)


@pytest.mark.parametrize("headers", RELAYED)
def test_relayed_visitors_get_403_on_the_page_and_its_files_while_the_probe_is_answered(
    arena: Any, headers: dict[str, str]
) -> None:
    game = monitored(arena)
    before = settled_resident_bytes()

    def visit() -> list[int]:
        statuses = []
        for _ in range(ATTEMPTS):
            for path in ("/sockevents/", "/sockevents/static/monitor.js"):
                statuses.append(requests.get(game.url + path, headers=headers, timeout=TIMEOUT))
        return [response.status_code for response in statuses]

    statuses = game.probe_while(visit)

    assert set(statuses) == {403}
    assert requests.get(game.url + "/sockevents/", timeout=TIMEOUT).status_code == 200
    game.probe()
    assert settled_resident_bytes() <= before * 1.10


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("headers", RELAYED)
def test_relayed_visitors_are_refused_by_the_monitor_namespace(
    arena: Any, transport: str, headers: dict[str, str]
) -> None:
    game = monitored(arena)
    before = settled_resident_bytes()

    admitted = game.probe_while(
        lambda: [namespace_connect(game.url, transport, headers) for _ in range(ATTEMPTS // 4)]
    )

    assert admitted == [False] * (ATTEMPTS // 4)
    assert game.app.extensions["sockevents_monitor"].watchers == set()
    assert namespace_connect(game.url, transport, {})
    game.probe()
    game.settled_counts()
    assert settled_resident_bytes() <= before * 1.10
