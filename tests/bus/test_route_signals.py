"""Every route is a blinker signal; plain blinker receivers take part in dispatch."""

from __future__ import annotations

from typing import Any

import blinker

from flask_sockevents import Bus, Event, Outcome, signals

from ._events import client_event


def test_every_route_is_a_blinker_named_signal(bus: Bus) -> None:
    route = bus.router.route("chat *", "/rooms/*")
    assert isinstance(route, blinker.NamedSignal)
    assert (route.event, route.namespace) == ("chat *", "/rooms/*")


def test_a_route_is_created_once_per_event_and_namespace(bus: Bus) -> None:
    assert bus.router.route("chat", "/") is bus.router.route("chat", "/")
    assert bus.router.route("chat", "/") is not bus.router.route("chat", "/admin")


def test_registering_a_subscriber_declares_its_route(bus: Bus) -> None:
    bus.on("chat", handler=lambda: None)
    bus.listen("c*", "/a", lambda event: None)
    bus.guard("*", "*", lambda event: None)
    assert [(route.event, route.namespace) for route in bus.router.routes] == [
        ("chat", "/"),
        ("c*", "/a"),
        ("*", "*"),
    ]


def test_a_bus_listener_is_a_receiver_of_its_route_signal(bus: Bus) -> None:
    bus.listen("chat", listener=lambda event: None)
    assert len(bus.router.route("chat").receivers) == 1


def test_plain_receiver_on_a_route_signal_gets_the_sender_and_the_event(
    bus: Bus, app: object
) -> None:
    calls: list[tuple[Any, Event]] = []

    def receiver(sender: Any, event: Event) -> None:
        calls.append((sender, event))

    bus.router.route("chat *").connect(receiver)
    finished = bus.publish(client_event("chat hello", "text"))
    assert calls == [(app, finished)]
    assert calls[0][1].outcome is Outcome.UNHANDLED


def test_plain_receiver_on_event_received_gets_the_sender_and_the_event(
    bus: Bus, app: object
) -> None:
    calls: list[tuple[Any, Event]] = []

    def receiver(sender: Any, event: Event) -> None:
        calls.append((sender, event))

    received = client_event("chat", "text")
    with signals.event_received.connected_to(receiver):
        bus.publish(received)
    assert calls == [(app, received)]


def test_plain_receiver_connected_for_another_sender_is_not_called(bus: Bus) -> None:
    calls = []
    bus.router.route("chat").connect(lambda sender, event: calls.append(event), sender=object())
    bus.publish(client_event("chat"))
    assert calls == []


def test_plain_receiver_connected_for_the_bus_sender_is_called(bus: Bus, app: object) -> None:
    calls = []
    bus.router.route("chat").connect(lambda sender, event: calls.append(sender), sender=app)
    bus.publish(client_event("chat"))
    assert calls == [app]


def test_plain_receivers_and_listeners_run_together_in_connection_order(bus: Bus) -> None:
    order = []
    bus.listen("chat", listener=lambda event: order.append("listener 1"))
    bus.router.route("c*").connect(lambda sender, event: order.append("receiver"))
    bus.listen("*", listener=lambda event: order.append("listener 2"))
    bus.publish(client_event("chat"))
    assert order == ["listener 1", "receiver", "listener 2"]


def test_plain_receiver_disconnected_from_its_route_stops_receiving(bus: Bus) -> None:
    calls = []

    def receiver(sender: Any, event: Event) -> None:
        calls.append(event.name)

    route = bus.router.route("chat")
    route.connect(receiver)
    bus.publish(client_event("chat"))
    route.disconnect(receiver)
    bus.publish(client_event("chat"))
    assert calls == ["chat"]


def test_route_connected_to_context_manager_adds_a_receiver_for_the_block(bus: Bus) -> None:
    calls = []

    def receiver(sender: Any, event: Event) -> None:
        calls.append(event.args)

    with bus.router.route("chat").connected_to(receiver):
        bus.publish(client_event("chat", 1))
    bus.publish(client_event("chat", 2))
    assert calls == [(1,)]


def test_changing_the_bus_sender_reaches_route_receivers(bus: Bus) -> None:
    senders = []
    bus.router.route("chat").connect(lambda sender, event: senders.append(sender))
    bus.publish(client_event("chat"))
    new_app = object()
    bus.sender = new_app
    bus.publish(client_event("chat"))
    assert senders[1] is new_app
    assert senders[0] is not new_app


def test_router_lists_each_listener_once_as_it_was_given(bus: Bus) -> None:
    def audit(event: Event) -> None: ...

    def plain(sender: object, event: Event) -> None: ...

    bus.listen("a*", "/", audit)
    bus.listen("*", "*", audit)
    bus.router.route("b", "/").connect(plain)

    assert bus.router.listeners() == [audit, plain]
