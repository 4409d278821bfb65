"""Signals: every event is received, then has exactly one outcome signal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flask_sockevents import Bus, ConnectionRefusedError, Event, Reject, signals

from ._events import client_event, connect_event, disconnect_event
from .conftest import SignalLog


def raise_(error: Exception) -> Callable[..., Any]:
    """A subscriber that raises ``error``."""

    def subscriber(*args: Any) -> Any:
        raise error

    return subscriber


OUTCOME_CASES: dict[str, tuple[Callable[[Bus], Any], str]] = {
    "handled": (lambda bus: bus.on("chat", handler=lambda: "ack"), "event-handled"),
    "unhandled": (lambda bus: None, "event-unhandled"),
    "rejected by guard": (
        lambda bus: bus.guard("*", guard=raise_(Reject("no"))),
        "event-rejected",
    ),
    "failed": (lambda bus: bus.on("chat", handler=raise_(ValueError())), "event-failed"),
}


@pytest.mark.parametrize("case", OUTCOME_CASES)
def test_every_event_is_received_then_gets_exactly_one_outcome_signal(
    bus: Bus, sent: SignalLog, case: str
) -> None:
    subscribe, outcome_signal = OUTCOME_CASES[case]
    subscribe(bus)
    bus.publish(client_event("chat"))
    assert sent.names == ["event-received", outcome_signal]


def test_rejected_name_is_received_then_rejected(bus: Bus, sent: SignalLog) -> None:
    bus.publish(client_event("disconnect"))
    assert sent.names == ["event-received", "event-rejected"]


def test_event_received_carries_the_event_before_dispatch(bus: Bus, sent: SignalLog) -> None:
    received = client_event("chat")
    bus.on("chat", handler=lambda: "ack")
    bus.publish(received)
    assert sent.of(signals.event_received) == [received]
    assert sent.of(signals.event_received)[0].outcome is None


def test_event_received_is_sent_before_guards_and_handler_run(bus: Bus) -> None:
    order = []
    bus.guard("chat", guard=lambda event: order.append("guard"))
    bus.on("chat", handler=lambda: order.append("handler"))
    with signals.event_received.connected_to(lambda sender, event: order.append("received")):
        bus.publish(client_event("chat"))
    assert order == ["received", "guard", "handler"]


def test_outcome_signal_is_sent_after_the_listeners(bus: Bus) -> None:
    order = []
    bus.listen("chat", listener=lambda event: order.append("listener"))
    with signals.event_unhandled.connected_to(lambda sender, event: order.append("signal")):
        bus.publish(client_event("chat"))
    assert order == ["listener", "signal"]


def test_outcome_signal_carries_the_finished_event(bus: Bus, sent: SignalLog) -> None:
    bus.on("add", handler=lambda a, b: a + b)
    finished = bus.publish(client_event("add", 1, 2))
    assert sent.of(signals.event_handled) == [finished]
    assert finished.ack == 3


def test_signals_are_sent_by_the_bus_sender(bus: Bus, sent: SignalLog, app: object) -> None:
    bus.publish(connect_event())
    bus.publish(client_event("chat"))
    bus.publish(disconnect_event())
    assert len(sent) == 8
    assert all(entry.sender is app for entry in sent)


def test_handled_connect_sends_client_connected(bus: Bus, sent: SignalLog) -> None:
    bus.on("connect", handler=lambda: None)
    finished = bus.publish(connect_event())
    assert sent.names == ["event-received", "event-handled", "client-connected"]
    assert sent.of(signals.client_connected) == [finished]


def test_unhandled_connect_sends_client_connected(bus: Bus, sent: SignalLog) -> None:
    bus.publish(connect_event())
    assert sent.names == ["event-received", "event-unhandled", "client-connected"]


REFUSALS: dict[str, Callable[[Bus], Any]] = {
    "guard returns False": lambda bus: bus.guard("connect", guard=lambda event: False),
    "guard raises Reject": lambda bus: bus.guard("connect", guard=raise_(Reject("no"))),
    "handler returns False": lambda bus: bus.on("connect", handler=lambda: False),
    "handler raises ConnectionRefusedError": lambda bus: bus.on(
        "connect", handler=raise_(ConnectionRefusedError("no"))
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_refused_connect_sends_no_client_connected(bus: Bus, sent: SignalLog, refusal: str) -> None:
    REFUSALS[refusal](bus)
    bus.publish(connect_event())
    assert sent.names == ["event-received", "event-rejected"]


def test_failed_connect_handler_sends_no_client_connected(bus: Bus, sent: SignalLog) -> None:
    bus.on("connect", handler=raise_(RuntimeError()))
    bus.publish(connect_event())
    assert sent.names == ["event-received", "event-failed"]


def test_disconnect_sends_client_disconnected(bus: Bus, sent: SignalLog) -> None:
    bus.on("disconnect", handler=lambda: None)
    finished = bus.publish(disconnect_event("transport close"))
    assert sent.names == ["event-received", "event-handled", "client-disconnected"]
    assert sent.of(signals.client_disconnected) == [finished]
    assert finished.args == ("transport close",)


def test_unhandled_disconnect_sends_client_disconnected(bus: Bus, sent: SignalLog) -> None:
    bus.publish(disconnect_event())
    assert sent.names == ["event-received", "event-unhandled", "client-disconnected"]


def test_client_events_send_no_lifecycle_signal(bus: Bus, sent: SignalLog) -> None:
    bus.on("chat", handler=lambda: None)
    bus.publish(client_event("chat"))
    assert sent.of(signals.client_connected) == []
    assert sent.of(signals.client_disconnected) == []


def test_failed_event_signal_event_carries_the_handler_error(bus: Bus, sent: SignalLog) -> None:
    error = KeyError("missing")
    bus.on("chat", handler=raise_(error))
    bus.publish(client_event("chat"))
    failed: list[Event] = sent.of(signals.event_failed)
    assert [event.error for event in failed] == [error]
