"""Isolation (DESIGN rule 5): no subscriber's failure stops another."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flask_sockevents import Bus, Event, Outcome, signals

from ._events import client_event


def fail(*args: Any) -> Any:
    """A subscriber of any kind that raises."""
    raise RuntimeError("boom")


def test_raising_listener_does_not_stop_the_following_listeners(bus: Bus) -> None:
    seen = []
    bus.listen("*", listener=lambda event: seen.append("before"))
    bus.listen("*", listener=fail)
    bus.listen("*", listener=lambda event: seen.append("after"))
    bus.publish(client_event("chat"))
    assert seen == ["before", "after"]


def test_raising_listener_is_counted(bus: Bus) -> None:
    bus.listen("*", listener=fail)
    bus.publish(client_event("a"))
    bus.publish(client_event("b"))
    assert bus.listener_errors == 2


def test_raising_listener_is_logged(bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    bus.listen("*", listener=fail)
    with caplog.at_level(logging.ERROR, logger="flask_sockevents"):
        bus.publish(client_event("chat"))
    assert [record.exc_info[1].args for record in caplog.records if record.exc_info] == [("boom",)]


def test_raising_listener_does_not_change_the_outcome(bus: Bus) -> None:
    bus.on("chat", handler=lambda: "ack")
    bus.listen("*", listener=fail)
    finished = bus.publish(client_event("chat"))
    assert (finished.outcome, finished.ack) == (Outcome.HANDLED, "ack")


def test_raising_handler_fails_the_event(bus: Bus) -> None:
    bus.on("chat", handler=fail)
    finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.FAILED
    assert finished.reason == "RuntimeError"
    assert isinstance(finished.error, RuntimeError)
    assert finished.replied is False


def test_a_failure_reason_names_the_exception_but_not_its_text_by_default(bus: Bus) -> None:
    def leaky(data: dict[str, str]) -> None:
        raise ValueError(f"bad password {data['password']!r}")

    bus.on("login", handler=leaky)
    finished = bus.publish(client_event("login", {"password": "hunter2"}))

    assert finished.reason == "ValueError"
    assert "hunter2" in str(finished.error)


def test_with_error_text_the_failure_reason_carries_the_exception_text() -> None:
    bus = Bus(error_text=True)
    bus.on("chat", handler=fail)

    assert bus.publish(client_event("chat")).reason == "RuntimeError: boom"


def test_raising_handler_is_logged_when_no_error_handler_answers(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.on("chat", handler=fail)
    with caplog.at_level(logging.ERROR, logger="flask_sockevents"):
        bus.publish(client_event("chat"))
    assert any(record.exc_info and record.exc_info[0] is RuntimeError for record in caplog.records)


def test_failed_event_is_sent_on_event_failed_with_its_error(bus: Bus, sent: Any) -> None:
    bus.on("chat", handler=fail)
    bus.publish(client_event("chat"))
    [failed] = sent.of(signals.event_failed)
    assert failed.outcome is Outcome.FAILED
    assert isinstance(failed.error, RuntimeError)


def test_listeners_see_a_failed_event(bus: Bus) -> None:
    seen: list[Event] = []
    bus.on("chat", handler=fail)
    bus.listen("chat", listener=seen.append)
    bus.publish(client_event("chat"))
    assert [event.outcome for event in seen] == [Outcome.FAILED]


def test_namespace_error_handler_answers_with_the_ack(bus: Bus) -> None:
    errors: list[BaseException] = []
    bus.on("chat", "/chat", fail)
    bus.error_handlers["/chat"] = lambda error: errors.append(error) or "sorry"
    finished = bus.publish(client_event("chat", namespace="/chat"))
    assert finished.outcome is Outcome.FAILED
    assert finished.ack == "sorry"
    assert finished.replied is True
    assert [type(error) for error in errors] == [RuntimeError]


def test_error_handler_of_the_route_namespace_pattern_answers(bus: Bus) -> None:
    bus.on("join", "/rooms/*", fail)
    bus.error_handlers["/rooms/*"] = lambda error: "rooms"
    assert bus.publish(client_event("join", namespace="/rooms/1")).ack == "rooms"


def test_error_handler_of_another_namespace_does_not_answer(bus: Bus) -> None:
    bus.on("chat", handler=fail)
    bus.error_handlers["/other"] = lambda error: "other"
    finished = bus.publish(client_event("chat"))
    assert finished.ack is None
    assert finished.replied is False


def test_namespace_error_handler_comes_before_the_default(bus: Bus) -> None:
    bus.on("chat", handler=fail)
    bus.error_handlers["/"] = lambda error: "namespace"
    bus.default_error_handler = lambda error: "default"
    bus.namespace_error_handlers["/"] = lambda error: "class-based"
    assert bus.publish(client_event("chat")).ack == "namespace"


def test_default_error_handler_comes_before_the_class_based_namespace(bus: Bus) -> None:
    bus.on("chat", handler=fail)
    bus.default_error_handler = lambda error: "default"
    bus.namespace_error_handlers["/"] = lambda error: "class-based"
    assert bus.publish(client_event("chat")).ack == "default"


def test_class_based_namespace_error_handler_answers_last(bus: Bus) -> None:
    bus.on("chat", handler=fail)
    bus.namespace_error_handlers["/"] = lambda error: "class-based"
    finished = bus.publish(client_event("chat"))
    assert (finished.ack, finished.replied) == ("class-based", True)


def test_raising_error_handler_leaves_the_event_failed_without_an_ack(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.on("chat", handler=fail)
    bus.default_error_handler = fail
    with caplog.at_level(logging.ERROR, logger="flask_sockevents"):
        finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.FAILED
    assert finished.replied is False
    assert any("error handler" in record.getMessage() for record in caplog.records)


def test_raising_signal_receiver_does_not_stop_other_receivers(bus: Bus) -> None:
    calls = []

    def good(sender: Any, event: Event) -> None:
        calls.append(event.name)

    with signals.event_received.connected_to(fail), signals.event_received.connected_to(good):
        bus.publish(client_event("chat"))
    assert calls == ["chat"]
    assert bus.listener_errors == 1


def test_raising_signal_receiver_does_not_stop_dispatch(bus: Bus) -> None:
    bus.on("chat", handler=lambda: "ack")
    seen: list[Event] = []
    bus.listen("chat", listener=seen.append)
    with signals.event_received.connected_to(fail):
        finished = bus.publish(client_event("chat"))
    assert finished.ack == "ack"
    assert len(seen) == 1


def test_raising_receiver_on_a_route_signal_does_not_stop_listeners(bus: Bus) -> None:
    seen = []
    bus.router.route("chat").connect(fail)
    bus.listen("chat", listener=lambda event: seen.append(event.name))
    bus.publish(client_event("chat"))
    assert seen == ["chat"]
    assert bus.listener_errors == 1
