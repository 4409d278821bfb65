"""Metrics on a live server, scraped over HTTP: counts match the traffic, labels stay bounded."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from flask_sockevents import Event, Reject, SockEvents
from flask_sockevents.listeners import Metrics
from flask_sockevents.listeners.metrics import UNDECLARED
from flask_sockevents.testing import LiveServer

from ._support import scrape, wait_for

EVENTS = "sockevents_events_total"
CONNECTED = "sockevents_connected_clients"
RECEIVED = "sockevents_received_bytes_total"


@pytest.fixture
def url(serve: Callable[[Flask], LiveServer]) -> str:
    """The URL of a live app with Metrics at /metrics, an ``echo`` and a guarded ``secret``."""
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Metrics(sockevents)

    @sockevents.on("echo")
    def echo(data: Any = None) -> Any:
        return data

    @sockevents.on("secret")
    def secret() -> str:
        return "leaked"

    @sockevents.guard("secret")
    def no_secrets(event: Event) -> None:
        raise Reject("no secrets")

    return serve(app).url


def test_events_total_counts_each_event_by_outcome(url, clients) -> None:
    client = clients.connect(url)
    for n in range(3):
        client.call("echo", n, timeout=5)
    for _ in range(2):
        client.call("secret", timeout=5)

    metrics = scrape(url)
    assert metrics.value(EVENTS, namespace="/", event="echo", outcome="handled") == 3
    assert metrics.value(EVENTS, namespace="/", event="secret", outcome="rejected") == 2
    assert metrics.value(EVENTS, namespace="/", event="connect", outcome="unhandled") == 1
    assert metrics.value("sockevents_rejections_total", namespace="/", reason="no secrets") == 2


def test_connected_clients_gauge_rises_with_connects_and_falls_with_disconnects(
    url, clients
) -> None:
    first = clients.connect(url)
    second = clients.connect(url)
    assert scrape(url).value(CONNECTED, namespace="/") == 2

    first.disconnect()
    wait_for(lambda: scrape(url).value(CONNECTED, namespace="/") == 1)
    second.disconnect()
    wait_for(lambda: scrape(url).value(CONNECTED, namespace="/") == 0)
    assert scrape(url).value(EVENTS, namespace="/", event="disconnect", outcome="unhandled") == 2


def test_received_bytes_grow_by_at_least_the_payload_sent(url, clients) -> None:
    client = clients.connect(url)
    before = scrape(url).value(RECEIVED, namespace="/")
    client.call("echo", "x" * 10_000, timeout=5)
    after = scrape(url).value(RECEIVED, namespace="/")

    assert before > 0
    assert after - before >= 10_000


def test_a_flood_of_made_up_event_names_leaves_the_series_bounded(url, clients) -> None:
    client = clients.connect(url)
    rng = random.Random(7)
    names = {"".join(rng.choices(string.ascii_letters, k=12)) for _ in range(500)}
    for name in names:
        client.emit(name, 1)
    client.call("echo", timeout=5)  # events of a connection are dispatched in order

    metrics = scrape(url)
    series = {(s["event"], s["outcome"]) for s in metrics.series(EVENTS)}
    assert series == {
        ("connect", "unhandled"),
        ("echo", "handled"),
        (UNDECLARED, "unhandled"),
    }
    assert metrics.value(EVENTS, namespace="/", event=UNDECLARED, outcome="unhandled") == len(names)
    durations = {s["event"] for s in metrics.series("sockevents_handler_duration_seconds_count")}
    assert durations <= {"connect", "echo", UNDECLARED}
    assert not any(name in metrics.text for name in names)
