"""RateLimiter on a live server: a flooder is rejected, then disconnected; others are not."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from flask import Flask

from flask_sockevents import Event, EventKind, Outcome, SockEvents
from flask_sockevents.guards import RateLimiter
from flask_sockevents.testing import LiveServer

from ._support import wait_for

BURST = 5
DISCONNECT_AFTER = 100
FLOOD = 400
REJECTED = {"error": "rejected", "reason": "rate limited"}


class Live:
    """A live rate-limited app and every event its bus finished, in order."""

    def __init__(self) -> None:
        self.url = ""
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, sid: str) -> list[Event]:
        """The events of client ``sid``, in the order they were dispatched."""
        return [event for event in list(self.events) if event.sid == sid]


@pytest.fixture
def live(serve: Callable[[Flask], LiveServer]) -> Live:
    """An ``echo`` app limited to a connect and 5 events per transport, refilled so slowly
    it never matters (every client here shares 127.0.0.1, so the address is not limited)."""
    app = Flask(__name__)
    sockevents = SockEvents(app)
    RateLimiter(
        sockevents,
        events_per_second=0.001,
        burst=BURST + 1,
        per="transport",
        disconnect_after=DISCONNECT_AFTER,
        window=3600,
    )
    live = Live()
    sockevents.listen("*", namespace="*")(live)

    @sockevents.on("echo")
    def echo(data: Any = None) -> Any:
        return data

    live.url = serve(app).url
    return live


def disconnected(client: socketio.Client) -> threading.Event:
    """Set when the server disconnects ``client``."""
    gone = threading.Event()
    client.on("disconnect", lambda *reason: gone.set())
    return gone


def test_events_past_the_burst_are_rejected_with_the_reason(live, clients) -> None:
    client = clients.connect(live.url)

    acks = [client.call("echo", n, timeout=5) for n in range(BURST + 3)]

    assert acks == [*range(BURST), REJECTED, REJECTED, REJECTED]


def test_a_flooding_client_is_disconnected_while_another_keeps_its_acks(live, clients) -> None:
    flooder = clients.new()
    gone = disconnected(flooder)
    clients.connect(live.url, client=flooder)
    flooder_sid = flooder.get_sid()
    polite = clients.connect(live.url)

    probes = []
    for n in range(FLOOD):
        try:
            flooder.emit("echo", n)
        except socketio.exceptions.BadNamespaceError:
            break  # the server has disconnected the flooder
        if n in (20, 60):
            probes.append(polite.call("echo", f"probe {n}", timeout=5))
    assert gone.wait(5), "the flooding client was not disconnected"
    probes.append(polite.call("echo", "after", timeout=5))

    assert probes == ["probe 20", "probe 60", "after"]
    assert polite.connected
    [gone_event] = wait_for(
        lambda: [e for e in live.of(flooder_sid) if e.kind is EventKind.DISCONNECT]
    )
    assert gone_event.args == (SockEvents.reason.SERVER_DISCONNECT,)
    events = [e for e in live.of(flooder_sid) if e.kind is EventKind.EVENT]
    assert [e.outcome for e in events[:BURST]] == [Outcome.HANDLED] * BURST
    assert [e.outcome for e in events[BURST:]] == [Outcome.REJECTED] * (len(events) - BURST)
    limited = [e for e in events[BURST:] if e.reason == "rate limited"]
    assert len(limited) >= DISCONNECT_AFTER
