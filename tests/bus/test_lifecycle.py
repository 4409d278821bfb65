"""What a handler receives, and connect/disconnect on the bus (DESIGN rule 3)."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents import Bus, ConnectionRefusedError, Event, EventKind, Outcome, Reject

from ._events import client_event, connect_event, disconnect_event


def test_event_pattern_handler_gets_the_concrete_name_first(bus: Bus) -> None:
    calls = []
    bus.on("chat *", handler=lambda *args: calls.append(args))
    bus.publish(client_event("chat message", "hello", 2))
    assert calls == [("chat message", "hello", 2)]


def test_catch_all_handler_gets_the_concrete_name_first(bus: Bus) -> None:
    calls = []
    bus.on("*", "*", lambda *args: calls.append(args))
    bus.publish(client_event("ping", {"n": 1}, namespace="/any"))
    assert calls == [("ping", {"n": 1})]


def test_namespace_pattern_handler_on_an_exact_event_gets_only_the_arguments(bus: Bus) -> None:
    calls = []
    bus.on("join", "/rooms/*", lambda *args: calls.append(args))
    bus.publish(client_event("join", "alice", namespace="/rooms/1"))
    assert calls == [("alice",)]


def test_connect_handler_taking_an_argument_gets_auth(bus: Bus) -> None:
    calls = []
    bus.on("connect", handler=lambda auth: calls.append(auth))
    bus.publish(connect_event({"token": "t"}))
    assert calls == [{"token": "t"}]


def test_connect_handler_taking_no_argument_is_called_without_auth(bus: Bus) -> None:
    calls = []
    bus.on("connect", handler=lambda: calls.append("connected"))
    finished = bus.publish(connect_event({"token": "t"}))
    assert calls == ["connected"]
    assert finished.outcome is Outcome.HANDLED


def test_connect_handler_with_defaulted_argument_gets_auth(bus: Bus) -> None:
    calls = []

    def connect(auth: Any = "default") -> None:
        calls.append(auth)

    bus.on("connect", handler=connect)
    bus.publish(connect_event(None))
    assert calls == [None]


def test_disconnect_handler_taking_an_argument_gets_the_reason(bus: Bus) -> None:
    calls = []
    bus.on("disconnect", handler=lambda reason: calls.append(reason))
    bus.publish(disconnect_event("ping timeout"))
    assert calls == ["ping timeout"]


def test_disconnect_handler_taking_no_argument_is_called_without_reason(bus: Bus) -> None:
    calls = []
    bus.on("disconnect", handler=lambda: calls.append("gone"))
    bus.publish(disconnect_event("ping timeout"))
    assert calls == ["gone"]


def test_connect_handler_answers_only_its_namespace(bus: Bus) -> None:
    calls = []
    bus.on("connect", "/admin", lambda: calls.append("admin"))
    assert bus.publish(connect_event()).outcome is Outcome.UNHANDLED
    assert bus.publish(connect_event(namespace="/admin")).outcome is Outcome.HANDLED
    assert calls == ["admin"]


def test_exact_connect_handler_on_a_namespace_pattern_answers(bus: Bus) -> None:
    calls = []
    bus.on("connect", "/rooms/*", lambda: calls.append("rooms"))
    assert bus.publish(connect_event(namespace="/rooms/7")).outcome is Outcome.HANDLED
    assert calls == ["rooms"]


@pytest.mark.parametrize("pattern", ["*", "conn*", "*connect", "*disconnect", "*o*"])
@pytest.mark.parametrize("namespace", ["/", "*"])
def test_event_pattern_handler_never_answers_connect_or_disconnect(
    bus: Bus, pattern: str, namespace: str
) -> None:
    calls = []
    bus.on(pattern, namespace, lambda *args: calls.append(args))
    assert bus.publish(connect_event({"token": "t"})).outcome is Outcome.UNHANDLED
    assert bus.publish(disconnect_event()).outcome is Outcome.UNHANDLED
    assert calls == []


def test_exact_connect_handler_answers_beside_a_catch_all(bus: Bus) -> None:
    bus.on("*", handler=lambda name, *args: "fallback")
    bus.on("connect", handler=lambda: "connected")
    assert bus.publish(connect_event()).ack == "connected"


def test_catch_all_listener_sees_connect_event_and_disconnect(bus: Bus) -> None:
    seen: list[Event] = []
    bus.listen("*", "*", seen.append)
    bus.publish(connect_event(namespace="/chat"))
    bus.publish(client_event("message", namespace="/chat"))
    bus.publish(disconnect_event(namespace="/chat"))
    assert [(event.kind, event.name) for event in seen] == [
        (EventKind.CONNECT, "connect"),
        (EventKind.EVENT, "message"),
        (EventKind.DISCONNECT, "disconnect"),
    ]


def test_catch_all_guard_sees_connect(bus: Bus) -> None:
    seen: list[Event] = []
    bus.guard("*", "*", seen.append)
    bus.publish(connect_event({"token": "t"}))
    assert [(event.kind, event.args) for event in seen] == [(EventKind.CONNECT, ({"token": "t"},))]


def test_guard_vetoing_a_connect_refuses_it_with_a_connect_error_payload(bus: Bus) -> None:
    def members_only(event: Event) -> None:
        raise Reject("login required")

    calls = []
    bus.guard("*", "*", members_only)
    bus.on("connect", handler=lambda: calls.append("connect"))
    finished = bus.publish(connect_event())
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "login required"
    assert finished.ack == {"message": "login required"}
    assert calls == []


def test_reject_with_data_adds_it_to_the_connect_error_payload(bus: Bus) -> None:
    def limited(event: Event) -> None:
        raise Reject("rate limited", {"retry_after": 5})

    bus.guard("connect", guard=limited)
    finished = bus.publish(connect_event())
    assert finished.ack == {"message": "rate limited", "data": {"retry_after": 5}}


def test_guard_returning_false_on_connect_gives_its_reason_as_payload(bus: Bus) -> None:
    bus.guard("connect", guard=lambda event: False)
    finished = bus.publish(connect_event())
    assert finished.outcome is Outcome.REJECTED
    assert finished.ack == {"message": finished.reason}


def test_connect_handler_returning_false_refuses_the_connection(bus: Bus) -> None:
    bus.on("connect", handler=lambda: False)
    finished = bus.publish(connect_event())
    assert finished.outcome is Outcome.REJECTED
    assert finished.ack == {"message": "Connection rejected by server"}


def test_event_handler_returning_false_acks_false(bus: Bus) -> None:
    bus.on("chat", handler=lambda: False)
    finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.HANDLED
    assert finished.ack is False


def test_connect_handler_raising_connection_refused_error_refuses_with_its_message(
    bus: Bus,
) -> None:
    def connect(auth: Any) -> None:
        raise ConnectionRefusedError("bad token")

    bus.on("connect", handler=connect)
    finished = bus.publish(connect_event({"token": "nope"}))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "bad token"
    assert finished.ack == {"message": "bad token"}


def test_connection_refused_error_with_data_adds_it_to_the_payload(bus: Bus) -> None:
    def connect() -> None:
        raise ConnectionRefusedError("bad token", {"hint": "log in"})

    bus.on("connect", handler=connect)
    finished = bus.publish(connect_event())
    assert finished.ack == {"message": "bad token", "data": {"hint": "log in"}}


def test_connection_refused_error_raised_by_an_event_handler_is_a_failure(bus: Bus) -> None:
    def chat() -> None:
        raise ConnectionRefusedError("not a connect")

    bus.on("chat", handler=chat)
    assert bus.publish(client_event("chat")).outcome is Outcome.FAILED
