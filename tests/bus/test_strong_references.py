"""Subscribers defined inside a function keep working after it returns (no weak refs)."""

from __future__ import annotations

import gc
from typing import Any

from flask_sockevents import Bus, Event, Outcome, signals

from ._events import client_event


def test_handler_defined_inside_a_function_survives_it(bus: Bus) -> None:
    def register() -> None:
        def handler() -> str:
            return "still here"

        bus.on("chat", handler=handler)

    register()
    gc.collect()
    assert bus.publish(client_event("chat")).ack == "still here"


def test_listener_defined_inside_a_function_survives_it(bus: Bus) -> None:
    seen: list[str] = []

    def register() -> None:
        def listener(event: Event) -> None:
            seen.append(event.name)

        bus.listen("*", listener=listener)

    register()
    gc.collect()
    bus.publish(client_event("chat"))
    assert seen == ["chat"]


def test_guard_defined_inside_a_function_survives_it(bus: Bus) -> None:
    def register() -> None:
        def guard(event: Event) -> bool:
            return False

        bus.guard("*", guard=guard)

    register()
    gc.collect()
    assert bus.publish(client_event("chat")).outcome is Outcome.REJECTED


def test_route_receiver_defined_inside_a_function_survives_it(bus: Bus) -> None:
    seen: list[str] = []

    def register() -> None:
        def receiver(sender: Any, event: Event) -> None:
            seen.append(event.name)

        bus.router.route("chat").connect(receiver)

    register()
    gc.collect()
    bus.publish(client_event("chat"))
    assert seen == ["chat"]


def test_signal_receiver_defined_inside_a_function_survives_it(bus: Bus) -> None:
    seen: list[str] = []
    receiver_ids: list[int] = []

    def register() -> None:
        @signals.event_failed.connect
        def page_someone(sender: Any, event: Event) -> None:
            seen.append(event.name)

        receiver_ids.append(id(page_someone))

    register()
    gc.collect()
    bus.on("chat", handler=lambda: 1 / 0)
    try:
        bus.publish(client_event("chat"))
        assert seen == ["chat"]
    finally:
        for receiver in list(signals.event_failed.receivers_for(bus.sender)):
            if id(receiver) in receiver_ids:
                signals.event_failed.disconnect(receiver)
