"""Handlers, listeners and guards: three kinds of subscriber on one table (rules 1, 2)."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest

from flask_sockevents import Bus, Event, Outcome, Reject

from ._events import client_event, disconnect_event


def test_handler_return_value_is_the_ack(bus: Bus) -> None:
    bus.on("add", handler=lambda a, b: a + b)
    finished = bus.publish(client_event("add", 2, 3))
    assert finished.outcome is Outcome.HANDLED
    assert finished.ack == 5
    assert finished.replied is True


def test_handler_returning_none_still_replies(bus: Bus) -> None:
    bus.on("ping", handler=lambda: None)
    finished = bus.publish(client_event("ping"))
    assert finished.outcome is Outcome.HANDLED
    assert finished.ack is None
    assert finished.replied is True


def test_exact_handler_gets_the_event_arguments(bus: Bus) -> None:
    calls = []
    bus.on("move", handler=lambda *args: calls.append(args))
    bus.publish(client_event("move", 1, {"x": 2}, [3]))
    assert calls == [(1, {"x": 2}, [3])]


def test_only_the_most_specific_handler_runs(bus: Bus) -> None:
    calls = []
    bus.on("*", handler=lambda name: calls.append("fallback"))
    bus.on("chat", handler=lambda: calls.append("chat"))
    bus.publish(client_event("chat"))
    assert calls == ["chat"]


def test_event_with_no_matching_handler_is_unhandled(bus: Bus) -> None:
    bus.on("chat", handler=lambda: "ack")
    finished = bus.publish(client_event("other"))
    assert finished.outcome is Outcome.UNHANDLED
    assert finished.ack is None
    assert finished.replied is False


def test_every_matching_listener_runs_in_registration_order(bus: Bus) -> None:
    seen = []
    bus.listen("c*", listener=lambda event: seen.append("c*"))
    bus.listen("chat", listener=lambda event: seen.append("chat"))
    bus.listen("*", "*", listener=lambda event: seen.append("*"))
    bus.listen("other", listener=lambda event: seen.append("other"))
    bus.publish(client_event("chat"))
    assert seen == ["c*", "chat", "*"]


def test_listener_runs_once_when_several_of_its_routes_match(bus: Bus) -> None:
    seen = []

    def audit(event: Event) -> None:
        seen.append(event.name)

    for event, namespace in [("chat", "/"), ("c*", "/"), ("*", "*"), ("chat", "/*")]:
        bus.listen(event, namespace, audit)
    bus.publish(client_event("chat"))
    assert seen == ["chat"]


def test_listener_order_is_its_earliest_matching_registration(bus: Bus) -> None:
    seen = []

    def first(event: Event) -> None:
        seen.append("first")

    def second(event: Event) -> None:
        seen.append("second")

    bus.listen("x", listener=first)
    bus.listen("*", listener=second)
    bus.listen("*", listener=first)
    bus.publish(client_event("x"))
    assert seen == ["first", "second"]
    seen.clear()
    bus.publish(client_event("y"))
    assert seen == ["second", "first"]


def test_listeners_receive_the_finished_event(bus: Bus) -> None:
    seen: list[Event] = []
    bus.on("add", handler=lambda a, b: a + b)
    bus.listen("add", listener=seen.append)
    returned = bus.publish(client_event("add", 1, 2))
    assert seen == [returned]
    assert seen[0].outcome is Outcome.HANDLED
    assert seen[0].ack == 3


def test_listeners_see_unhandled_events(bus: Bus) -> None:
    seen: list[Event] = []
    bus.listen("*", listener=seen.append)
    bus.publish(client_event("nobody answers"))
    assert [event.outcome for event in seen] == [Outcome.UNHANDLED]


def test_every_matching_guard_runs_once_in_registration_order(bus: Bus) -> None:
    ran = []

    def first(event: Event) -> None:
        ran.append("first")

    def second(event: Event) -> None:
        ran.append("second")

    bus.guard("c*", guard=first)
    bus.guard("*", "*", guard=second)
    bus.guard("chat", guard=first)
    bus.guard("other", guard=second)
    bus.publish(client_event("chat"))
    assert ran == ["first", "second"]


def test_guards_run_before_the_handler_with_the_undispatched_event(bus: Bus) -> None:
    order = []
    bus.guard("chat", guard=lambda event: order.append(("guard", event.outcome)))
    bus.on("chat", handler=lambda: order.append(("handler", None)))
    bus.publish(client_event("chat"))
    assert order == [("guard", None), ("handler", None)]


@pytest.mark.parametrize("verdict", [None, True, 0, "", [], "allow"])
def test_guard_returning_anything_but_false_allows(bus: Bus, verdict: Any) -> None:
    bus.guard("chat", guard=lambda event: verdict)
    bus.on("chat", handler=lambda: "answered")
    assert bus.publish(client_event("chat")).ack == "answered"


def test_guard_raising_reject_vetoes_with_its_reason(bus: Bus) -> None:
    def members_only(event: Event) -> None:
        raise Reject("login required")

    bus.guard("*", guard=members_only)
    finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "login required"
    assert isinstance(finished.error, Reject)


def test_guard_returning_false_vetoes(bus: Bus) -> None:
    bus.guard("*", guard=lambda event: False)
    finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "rejected by guard"


def test_guard_raising_another_exception_rejects(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Event) -> None:
        raise KeyError("user")

    bus.guard("*", guard=broken)
    with caplog.at_level(logging.ERROR, logger="flask_sockevents"):
        finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.REJECTED
    assert "KeyError" in (finished.reason or "")
    assert isinstance(finished.error, KeyError)
    assert any(record.exc_info and record.exc_info[0] is KeyError for record in caplog.records)


def test_vetoed_event_does_not_reach_the_handler(bus: Bus) -> None:
    calls = []
    bus.guard("*", guard=lambda event: False)
    bus.on("chat", handler=lambda: calls.append("handler"))
    bus.publish(client_event("chat"))
    assert calls == []


def test_guards_after_a_veto_do_not_run(bus: Bus) -> None:
    ran = []
    bus.guard("*", guard=lambda event: False)
    bus.guard("*", guard=lambda event: ran.append("later guard"))
    bus.publish(client_event("chat"))
    assert ran == []


def test_listeners_see_a_vetoed_event(bus: Bus) -> None:
    seen: list[Event] = []
    bus.guard("*", guard=lambda event: False)
    bus.on("chat", handler=lambda: None)
    bus.listen("chat", listener=seen.append)
    bus.publish(client_event("chat"))
    assert [(event.outcome, event.reason) for event in seen] == [
        (Outcome.REJECTED, "rejected by guard")
    ]


def test_guards_do_not_run_for_disconnects(bus: Bus) -> None:
    ran = []

    def deny(event: Event) -> bool:
        ran.append(event.kind)
        return False

    bus.guard("*", "*", deny)
    finished = bus.publish(disconnect_event())
    assert ran == []
    assert finished.outcome is Outcome.UNHANDLED


def test_handler_raising_reject_rejects_the_event(bus: Bus) -> None:
    def handler() -> None:
        raise Reject("not now")

    bus.on("chat", handler=handler)
    finished = bus.publish(client_event("chat"))
    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "not now"


def test_one_function_may_be_handler_listener_and_guard(bus: Bus) -> None:
    calls: list[Any] = []

    def everything(arg: Any) -> str:
        calls.append(arg)
        return "ack"

    bus.on("chat", handler=everything)
    bus.listen("chat", listener=everything)
    bus.guard("chat", guard=everything)
    finished = bus.publish(client_event("chat", "payload"))
    assert calls[1] == "payload"
    assert [type(arg) for arg in calls] == [Event, str, Event]
    assert finished.ack == "ack"


def test_removing_a_subscriber_stops_every_kind_of_it(bus: Bus) -> None:
    calls: list[Any] = []

    def everything(arg: Any) -> None:
        calls.append(arg)

    bus.on("chat", handler=everything)
    bus.listen("*", listener=everything)
    bus.guard("c*", guard=everything)
    assert bus.remove(everything) == 3
    finished = bus.publish(client_event("chat", "payload"))
    assert calls == []
    assert finished.outcome is Outcome.UNHANDLED


def test_listener_removed_from_one_route_keeps_its_order_on_the_others(bus: Bus) -> None:
    seen = []

    def first(event: Event) -> None:
        seen.append("first")

    def second(event: Event) -> None:
        seen.append("second")

    bus.listen("x", listener=first)
    bus.listen("*", listener=second)
    bus.listen("x*", listener=first)
    bus.remove(first, event="x", namespace="/")
    bus.publish(client_event("x"))
    assert seen == ["second", "first"]


def test_a_removed_listener_is_not_kept_alive_by_the_router(bus: Bus) -> None:
    def make_listener() -> Any:
        def listener(event: Event) -> None:
            pass

        return listener

    listener = make_listener()
    bus.listen("a", listener=listener)
    bus.listen("b*", namespace="/x", listener=listener)
    bus.publish(client_event("a"))
    released = weakref.ref(listener)
    assert bus.remove(listener) == 2
    del listener
    gc.collect()
    assert released() is None


def test_a_listener_removed_from_one_route_still_runs_on_the_others(bus: Bus) -> None:
    seen: list[str] = []

    def listener(event: Event) -> None:
        seen.append(event.name)

    bus.listen("a", listener=listener)
    bus.listen("b", listener=listener)
    bus.remove(listener, event="a")
    bus.publish(client_event("a"))
    bus.publish(client_event("b"))
    assert seen == ["b"]
