"""Cached resolution (DESIGN rule 8): resolved once, fresh after every table change."""

from __future__ import annotations

import random
import string
from typing import Any

from flask_sockevents import Bus, Event, Kind, Router

from ._events import client_event


def noop(*args: Any) -> None:
    """A subscriber that does nothing."""


def test_second_resolution_is_the_cached_one() -> None:
    router = Router()
    router.add_handler("chat", "/", noop)
    assert router.resolve("/", "chat") is router.resolve("/", "chat")


def test_names_without_subscribers_are_cached_too() -> None:
    router = Router()
    first = router.resolve("/", "nobody")
    assert first.handler is None
    assert router.resolve("/", "nobody") is first


def test_adding_a_handler_refreshes_the_resolution() -> None:
    router = Router()
    router.add_handler("*", "/", noop)
    before = router.resolve("/", "chat")

    def chat() -> None: ...

    router.add_handler("chat", "/", chat)
    after = router.resolve("/", "chat")
    assert after is not before
    assert after.handler is not None
    assert after.handler.fn is chat


def test_adding_a_listener_refreshes_the_resolution() -> None:
    router = Router()
    before = router.resolve("/", "chat")
    router.add_listener("c*", "/", noop)
    after = router.resolve("/", "chat")
    assert after is not before
    assert after.listeners == (noop,)


def test_adding_a_guard_refreshes_the_resolution() -> None:
    router = Router()
    before = router.resolve("/", "chat")
    router.add_guard("*", "*", noop)
    after = router.resolve("/", "chat")
    assert after is not before
    assert after.guards == (noop,)


def test_removing_a_subscriber_refreshes_the_resolution() -> None:
    router = Router()
    router.add_handler("chat", "/", noop)
    router.add_listener("chat", "/", noop)
    router.add_guard("chat", "/", noop)
    before = router.resolve("/", "chat")
    assert router.remove(noop) == 3
    after = router.resolve("/", "chat")
    assert after is not before
    assert (after.handler, after.guards, after.listeners) == (None, (), ())


def test_removing_one_kind_keeps_the_others() -> None:
    router = Router()
    router.add_handler("chat", "/", noop)
    router.add_listener("chat", "/", noop)
    router.resolve("/", "chat")
    assert router.remove(noop, Kind.HANDLER) == 1
    after = router.resolve("/", "chat")
    assert after.handler is None
    assert after.listeners == (noop,)


def test_connecting_a_receiver_to_a_route_signal_refreshes_the_resolution(bus: Bus) -> None:
    calls = []
    bus.publish(client_event("chat"))
    before = bus.router.resolve("/", "chat")
    bus.router.route("chat").connect(lambda sender, event: calls.append(event.name))
    assert bus.router.resolve("/", "chat") is not before
    bus.publish(client_event("chat"))
    assert calls == ["chat"]


def test_disconnecting_a_receiver_from_a_route_signal_refreshes_the_resolution(
    bus: Bus,
) -> None:
    calls = []

    def receiver(sender: Any, event: Event) -> None:
        calls.append(event.name)

    route = bus.router.route("chat")
    route.connect(receiver)
    bus.publish(client_event("chat"))
    route.disconnect(receiver)
    assert bus.router.resolve("/", "chat").listeners == ()
    bus.publish(client_event("chat"))
    assert calls == ["chat"]


def test_cache_never_holds_more_than_cache_size_resolutions() -> None:
    router = Router(cache_size=64)
    router.add_handler("*", "*", noop)
    router.add_listener("a*", "/*", noop)
    names = random.Random(7)
    for _ in range(5000):
        name = "".join(names.choices(string.ascii_letters, k=names.randint(1, 12)))
        router.resolve(names.choice(["/", "/a", "/b"]), name)
        assert len(router._cache) <= 64


def test_bus_passes_its_cache_size_to_the_router() -> None:
    bus = Bus(cache_size=8)
    for number in range(100):
        bus.publish(client_event(f"event {number}"))
    assert bus.router.cache_size == 8
    assert len(bus.router._cache) <= 8


def test_evicted_resolutions_are_resolved_again_correctly() -> None:
    router = Router(cache_size=4)

    def chat() -> None: ...

    router.add_handler("chat", "/", chat)
    router.resolve("/", "chat")
    for number in range(10):
        router.resolve("/", f"filler {number}")
    assert ("/", "chat") not in router._cache
    handler = router.resolve("/", "chat").handler
    assert handler is not None
    assert handler.fn is chat


def test_namespace_acceptance_is_bounded_by_cache_size_too() -> None:
    router = Router(cache_size=16)
    router.add_handler("*", "/rooms/*", noop)
    for number in range(200):
        assert router.accepts_namespace(f"/rooms/{number}")
    assert len(router._namespace_cache) <= 16


def test_cache_size_zero_resolves_every_time_and_keeps_nothing() -> None:
    router = Router(cache_size=0)

    def chat() -> None: ...

    router.add_handler("chat", "/", chat)
    first = router.resolve("/", "chat")
    assert first.handler is not None
    assert first.handler.fn is chat
    assert router.resolve("/", "chat") is not first
    assert router.accepts_namespace("/")
    assert router._cache == {}
    assert router._namespace_cache == {}
