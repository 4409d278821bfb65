"""blinker's ``muted()`` silences our signals and route signals too."""

from __future__ import annotations

from typing import Any

from flask_sockevents import Bus, Event, signals

from ._events import client_event


def test_a_muted_lifecycle_signal_calls_no_receiver(bus: Bus) -> None:
    received: list[Event] = []

    def receiver(sender: Any, event: Event) -> None:
        received.append(event)

    signals.event_unhandled.connect(receiver)
    try:
        with signals.event_unhandled.muted():
            bus.publish(client_event("nobody-answers"))
        bus.publish(client_event("after"))
    finally:
        signals.event_unhandled.disconnect(receiver)

    assert [event.name for event in received] == ["after"]


def test_a_muted_route_skips_its_listeners_only_inside_the_block(bus: Bus) -> None:
    seen: list[str] = []
    bus.listen("chat", "/", lambda event: seen.append("chat:" + str(event.args[0])))
    bus.listen("*", "/", lambda event: seen.append("all:" + str(event.args[0])))
    bus.publish(client_event("chat", 1))  # resolved and cached before muting

    with bus.router.route("chat", "/").muted():
        bus.publish(client_event("chat", 2))
    bus.publish(client_event("chat", 3))

    assert seen == ["chat:1", "all:1", "all:2", "chat:3", "all:3"]


def test_muting_a_route_leaves_its_handler_answering(bus: Bus) -> None:
    bus.on("echo", "/", lambda value: value)

    with bus.router.route("echo", "/").muted():
        finished = bus.publish(client_event("echo", "still here"))

    assert finished.ack == "still here"
