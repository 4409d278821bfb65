"""Routes and specificity (DESIGN routing rule 1): which handler answers an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flask_sockevents import Bus, Outcome

from ._events import client_event


def answering(name: str) -> Callable[..., str]:
    """A handler whose ack says which handler it is."""

    def handler(*args: Any) -> str:
        return name

    return handler


def ack_of(bus: Bus, event: str, namespace: str = "/") -> Any:
    """The ack of ``event`` in ``namespace``, or its outcome if no handler answered."""
    finished = bus.publish(client_event(event, namespace=namespace))
    return finished.ack if finished.outcome is Outcome.HANDLED else finished.outcome


def test_exact_route_answers_its_name_only(bus: Bus) -> None:
    bus.on("chat", handler=answering("chat"))
    assert ack_of(bus, "chat") == "chat"
    assert ack_of(bus, "chats") is Outcome.UNHANDLED
    assert ack_of(bus, "cha") is Outcome.UNHANDLED


def test_route_namespace_defaults_to_root(bus: Bus) -> None:
    bus.on("chat", handler=answering("chat"))
    assert ack_of(bus, "chat", "/") == "chat"
    assert ack_of(bus, "chat", "/admin") is Outcome.UNHANDLED


def test_exact_namespace_answers_that_namespace_only(bus: Bus) -> None:
    bus.on("chat", "/admin", answering("admin"))
    assert ack_of(bus, "chat", "/admin") == "admin"
    assert ack_of(bus, "chat", "/") is Outcome.UNHANDLED
    assert ack_of(bus, "chat", "/admins") is Outcome.UNHANDLED


def test_star_in_event_pattern_matches_any_run_of_characters(bus: Bus) -> None:
    bus.on("chat.*.sent", handler=answering("pattern"))
    assert ack_of(bus, "chat.room 1.sent") == "pattern"
    assert ack_of(bus, "chat.a.b.sent") == "pattern"
    assert ack_of(bus, "chat.x.sent!") is Outcome.UNHANDLED
    assert ack_of(bus, "xchat.x.sent") is Outcome.UNHANDLED


@pytest.mark.parametrize(
    ("pattern", "name"),
    [("chat*", "chat"), ("*chat", "chat"), ("a*b", "ab"), ("a**b", "ab"), ("*", "x")],
)
def test_star_matches_the_empty_run(bus: Bus, pattern: str, name: str) -> None:
    bus.on(pattern, handler=answering(pattern))
    assert ack_of(bus, name) == pattern


def test_star_in_namespace_pattern_matches_any_run_of_characters(bus: Bus) -> None:
    bus.on("join", "/rooms/*", answering("rooms"))
    assert ack_of(bus, "join", "/rooms/42") == "rooms"
    assert ack_of(bus, "join", "/rooms/a/b") == "rooms"
    assert ack_of(bus, "join", "/rooms/") == "rooms"
    assert ack_of(bus, "join", "/rooms") is Outcome.UNHANDLED
    assert ack_of(bus, "join", "/lobby") is Outcome.UNHANDLED


def test_star_alone_matches_every_event_in_every_namespace(bus: Bus) -> None:
    bus.on("*", "*", answering("everything"))
    assert ack_of(bus, "chat", "/") == "everything"
    assert ack_of(bus, "x", "/deep/name/space") == "everything"


def test_the_four_specificity_tiers_answer_in_order(bus: Bus) -> None:
    # Registered least specific first, so registration order cannot explain the result.
    tiers = [
        ("*", "/*", "namespace pattern + event pattern"),
        ("chat", "/*", "namespace pattern + exact event"),
        ("*", "/room", "exact namespace + event pattern"),
        ("chat", "/room", "exact namespace + exact event"),
    ]
    handlers = {}
    for event, namespace, tier in tiers:
        handlers[tier] = bus.on(event, namespace, answering(tier))
    for event, namespace, tier in reversed(tiers):
        assert ack_of(bus, "chat", "/room") == tier
        assert bus.remove(handlers[tier], event=event, namespace=namespace) == 1
    assert ack_of(bus, "chat", "/room") is Outcome.UNHANDLED


def test_tier_outranks_literal_characters(bus: Bus) -> None:
    bus.on("a-very-long-exact-event-name", "/*", answering("namespace pattern + exact event"))
    bus.on("*", "/", answering("exact namespace + event pattern"))
    assert ack_of(bus, "a-very-long-exact-event-name") == "exact namespace + event pattern"


def test_more_literal_event_characters_win_within_a_tier(bus: Bus) -> None:
    bus.on("a*", handler=answering("a*"))
    bus.on("ab*", handler=answering("ab*"))
    bus.on("*", handler=answering("*"))
    assert ack_of(bus, "abc") == "ab*"
    assert ack_of(bus, "acb") == "a*"
    assert ack_of(bus, "cab") == "*"


def test_more_literal_namespace_characters_win_within_a_tier(bus: Bus) -> None:
    bus.on("join", "/r*", answering("/r*"))
    bus.on("join", "/rooms/*", answering("/rooms/*"))
    assert ack_of(bus, "join", "/rooms/1") == "/rooms/*"
    assert ack_of(bus, "join", "/rx") == "/r*"


def test_literal_characters_of_event_and_namespace_count_together(bus: Bus) -> None:
    bus.on("ab*", "*", answering("3 literal characters"))
    bus.on("a*", "/r*", answering("4 literal characters"))
    assert ack_of(bus, "abc", "/rooms") == "4 literal characters"


def test_equally_specific_routes_go_to_the_earlier_registration(bus: Bus) -> None:
    bus.on("a*", handler=answering("first"))
    bus.on("*b", handler=answering("second"))
    assert ack_of(bus, "ab") == "first"


def test_second_handler_on_the_identical_route_replaces_the_first(bus: Bus) -> None:
    bus.on("chat", handler=answering("first"))
    bus.on("chat", handler=answering("second"))
    assert ack_of(bus, "chat") == "second"


def test_replacing_handler_takes_the_later_registration_order(bus: Bus) -> None:
    bus.on("a*", handler=answering("a* first"))
    bus.on("*b", handler=answering("*b"))
    bus.on("a*", handler=answering("a* again"))
    assert ack_of(bus, "ab") == "*b"
    assert ack_of(bus, "ax") == "a* again"


def test_client_name_containing_star_is_matched_as_text(bus: Bus) -> None:
    bus.on("abc", handler=answering("abc"))
    assert ack_of(bus, "a*") is Outcome.UNHANDLED
    assert ack_of(bus, "*") is Outcome.UNHANDLED


def test_client_name_containing_star_matches_a_pattern_as_any_other_character(bus: Bus) -> None:
    bus.on("a*", handler=answering("a*"))
    assert ack_of(bus, "a*") == "a*"
    assert ack_of(bus, "*a") is Outcome.UNHANDLED


@pytest.mark.parametrize(
    ("route", "matching", "not_matching"),
    [
        ("a.c", "a.c", "abc"),
        ("a.*", "a.x", "abx"),
        ("[ab]*", "[ab]x", "ax"),
        ("a\\*", "a\\z", "az"),
        ("x+*", "x+y", "xxy"),
        ("^a$*", "^a$!", "a"),
        ("(a|b)*", "(a|b)", "a"),
        ("a?*", "a?", "ab"),
    ],
)
def test_regex_metacharacters_in_routes_and_names_are_literal(
    bus: Bus, route: str, matching: str, not_matching: str
) -> None:
    bus.on(route, handler=answering(route))
    assert ack_of(bus, matching) == route
    assert ack_of(bus, not_matching) is Outcome.UNHANDLED


def test_regex_metacharacters_in_namespace_patterns_are_literal(bus: Bus) -> None:
    bus.on("join", "/r.*", answering("/r.*"))
    assert ack_of(bus, "join", "/r.1") == "/r.*"
    assert ack_of(bus, "join", "/rx1") is Outcome.UNHANDLED


def test_pattern_matches_names_spanning_lines(bus: Bus) -> None:
    bus.on("a*z", handler=answering("a*z"))
    assert ack_of(bus, "a\nz") == "a*z"
