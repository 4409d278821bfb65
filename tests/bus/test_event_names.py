"""Reserved and malformed names (DESIGN rule 4) are rejected before any handler."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents import Bus, Event, EventKind, Outcome, check_event_name

from ._events import client_event

RESERVED = ["connect", "disconnect", "connect_error", "error"]


@pytest.fixture
def answered(bus: Bus) -> list[Any]:
    """Handlers for every name: exact ones for the reserved names and a catch-all."""
    calls: list[Any] = []
    for name in RESERVED:
        bus.on(name, handler=lambda *args, _name=name: calls.append(_name))
    bus.on("*", "*", lambda *args: calls.append(args))
    return calls


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_name_sent_as_a_client_event_is_rejected(
    bus: Bus, answered: list[Any], name: str
) -> None:
    finished = bus.publish(client_event(name, "forged"))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == f"reserved event name {name!r}"
    assert answered == []


@pytest.mark.parametrize("raw", [42, None, ["chat"], {"name": "chat"}, b"chat", 1.5, True])
def test_non_string_name_is_rejected_with_its_type(
    bus: Bus, answered: list[Any], raw: object
) -> None:
    reason = check_event_name(raw)
    assert reason == f"event name must be a string, not {type(raw).__name__}"
    event = Event(EventKind.EVENT, "/", repr(raw)[:64])
    finished = bus.publish(event, rejection=reason)
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == reason
    assert answered == []


def test_empty_name_is_rejected(bus: Bus, answered: list[Any]) -> None:
    finished = bus.publish(client_event(""))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "event name must not be empty"
    assert answered == []


def test_name_at_the_default_length_limit_is_accepted(bus: Bus, answered: list[Any]) -> None:
    assert bus.publish(client_event("x" * 256)).outcome is Outcome.HANDLED


def test_name_over_the_default_length_limit_is_rejected(bus: Bus, answered: list[Any]) -> None:
    finished = bus.publish(client_event("x" * 257))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "event name longer than 256 characters"
    assert answered == []


def test_name_length_limit_is_configurable() -> None:
    bus = Bus(max_event_name_length=8)
    bus.on("*", handler=lambda *args: "ok")
    assert bus.publish(client_event("x" * 8)).outcome is Outcome.HANDLED
    finished = bus.publish(client_event("x" * 9))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "event name longer than 8 characters"


def test_ordinary_names_pass_the_check() -> None:
    for name in ["chat", "chat message", "a*", "connected", "error!", "ü"]:
        assert check_event_name(name) is None


def test_str_subclass_name_is_rejected() -> None:
    class Sneaky(str):
        pass

    assert check_event_name(Sneaky("chat")) == "event name must be a string, not Sneaky"


def test_rejection_decided_before_the_bus_skips_guards_and_handler(bus: Bus) -> None:
    ran = []
    bus.guard("*", guard=lambda event: ran.append("guard"))
    bus.on("chat", handler=lambda: ran.append("handler"))
    finished = bus.publish(client_event("chat"), rejection="unknown namespace")
    assert (finished.outcome, finished.reason) == (Outcome.REJECTED, "unknown namespace")
    assert ran == []


def test_listeners_see_rejected_names(bus: Bus) -> None:
    seen: list[Event] = []
    bus.listen("*", listener=seen.append)
    bus.publish(client_event("error"))
    assert [(event.name, event.outcome) for event in seen] == [("error", Outcome.REJECTED)]


def test_reserved_names_are_not_checked_for_lifecycle_kinds(bus: Bus) -> None:
    bus.on("connect", handler=lambda: "welcome")
    finished = bus.publish(Event(EventKind.CONNECT, "/", "connect", args=(None,)))
    assert finished.outcome is Outcome.HANDLED


def test_counts_tally_received_events_and_outcomes(bus: Bus) -> None:
    bus.on("ok", handler=lambda: None)
    bus.on("bad", handler=lambda: 1 / 0)
    for name in ["ok", "ok", "bad", "nobody", "error", "", "x" * 300]:
        bus.publish(client_event(name))
    assert bus.counts == {
        "received": 7,
        "handled": 2,
        "failed": 1,
        "unhandled": 1,
        "rejected": 3,
    }


def test_rejections_tally_reasons(bus: Bus) -> None:
    for name in ["error", "error", "connect", ""]:
        bus.publish(client_event(name))
    assert bus.rejections == {
        "reserved event name 'error'": 2,
        "reserved event name 'connect'": 1,
        "event name must not be empty": 1,
    }


def test_rejection_reasons_beyond_a_hundred_are_tallied_as_other(bus: Bus) -> None:
    for number in range(150):
        bus.publish(client_event("x"), rejection=f"reason {number}")
    assert len(bus.rejections) == 101
    assert bus.rejections["other"] == 50
    assert sum(bus.rejections.values()) == 150
