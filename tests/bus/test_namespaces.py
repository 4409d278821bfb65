"""Namespaces accepted by route (DESIGN rule 7) and declared event names."""

from __future__ import annotations

from typing import Any

from flask_sockevents import Router


def noop(*args: Any) -> None:
    """A subscriber that does nothing."""


def test_handler_route_accepts_its_exact_namespace() -> None:
    router = Router()
    router.add_handler("chat", "/chat", noop)
    assert router.accepts_namespace("/chat")
    assert not router.accepts_namespace("/")
    assert not router.accepts_namespace("/chat/x")


def test_handler_route_namespace_pattern_accepts_dynamic_namespaces() -> None:
    router = Router()
    router.add_handler("join", "/rooms/*", noop)
    assert router.accepts_namespace("/rooms/1")
    assert router.accepts_namespace("/rooms/a/b")
    assert not router.accepts_namespace("/lobby")


def test_catch_all_namespace_accepts_every_namespace() -> None:
    router = Router()
    router.add_handler("connect", "*", noop)
    assert router.accepts_namespace("/anything")


def test_listener_and_guard_routes_do_not_accept_a_namespace() -> None:
    router = Router()
    router.add_listener("*", "*", noop)
    router.add_guard("*", "/guarded", noop)
    assert not router.accepts_namespace("/guarded")
    assert not router.accepts_namespace("/")


def test_removing_the_last_handler_of_a_namespace_stops_accepting_it() -> None:
    router = Router()
    router.add_handler("chat", "/chat", noop)
    assert router.accepts_namespace("/chat")
    router.remove(noop)
    assert not router.accepts_namespace("/chat")


def test_adding_a_handler_starts_accepting_its_namespace() -> None:
    router = Router()
    assert not router.accepts_namespace("/late")
    router.add_handler("chat", "/late", noop)
    assert router.accepts_namespace("/late")


def test_exact_event_route_declares_its_name() -> None:
    router = Router()
    router.add_listener("chat", "/", noop)
    assert router.is_declared("chat", "/")


def test_exact_event_route_in_a_namespace_pattern_declares_its_name_there() -> None:
    router = Router()
    router.add_handler("join", "/rooms/*", noop)
    assert router.is_declared("join", "/rooms/9")
    assert not router.is_declared("join", "/")


def test_event_patterns_declare_no_name() -> None:
    router = Router()
    router.add_handler("*", "*", noop)
    router.add_handler("chat*", "/", noop)
    assert not router.is_declared("chat", "/")
    assert not router.is_declared("chat message", "/")


def test_names_declared_in_another_namespace_are_not_declared_here() -> None:
    router = Router()
    router.add_handler("chat", "/chat", noop)
    assert not router.is_declared("chat", "/")
    assert not router.is_declared("other", "/chat")
