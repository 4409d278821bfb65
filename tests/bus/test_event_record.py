"""The Event record: immutable, slotted, and finished into a new record."""

from __future__ import annotations

import time

import pytest

from flask_sockevents import Bus, Event, EventKind, Outcome

from ._events import client_event


def test_event_fields_are_set_from_the_packet() -> None:
    event = Event(
        EventKind.EVENT, "/chat", "message", sid="abc", args=("hi", 1), ack_requested=True
    )
    assert event.kind is EventKind.EVENT
    assert event.namespace == "/chat"
    assert event.name == "message"
    assert event.sid == "abc"
    assert event.args == ("hi", 1)
    assert event.ack_requested is True


def test_a_received_event_has_no_dispatch_result_yet() -> None:
    event = client_event("message")
    assert event.outcome is None
    assert event.reason is None
    assert event.duration is None
    assert event.ack is None
    assert event.replied is False
    assert event.error is None
    assert event.dispatched is False


def test_received_at_is_taken_from_the_monotonic_clock() -> None:
    before = time.monotonic()
    event = client_event("message")
    after = time.monotonic()
    assert before <= event.received_at <= after


@pytest.mark.parametrize("field", ["name", "outcome", "ack", "args", "kind"])
def test_assigning_a_field_raises(field: str) -> None:
    event = client_event("message")
    with pytest.raises(AttributeError):
        setattr(event, field, "changed")


def test_assigning_a_new_attribute_raises() -> None:
    event = client_event("message")
    with pytest.raises(AttributeError):
        event.extra = 1  # type: ignore[attr-defined]


def test_event_is_slotted_without_an_instance_dict() -> None:
    event = client_event("message")
    assert not hasattr(event, "__dict__")


def test_finished_returns_a_new_event_with_the_result() -> None:
    event = client_event("message", "hi")
    error = ValueError("boom")
    finished = event.finished(
        Outcome.FAILED, reason="ValueError: boom", ack="sorry", replied=True, error=error
    )
    assert finished is not event
    assert finished.outcome is Outcome.FAILED
    assert finished.reason == "ValueError: boom"
    assert finished.ack == "sorry"
    assert finished.replied is True
    assert finished.error is error
    assert finished.dispatched is True


def test_finished_leaves_the_original_untouched() -> None:
    event = client_event("message", "hi")
    before = tuple(event)
    event.finished(Outcome.HANDLED, ack=1, replied=True)
    assert tuple(event) == before
    assert event.outcome is None


def test_finished_keeps_every_receipt_field() -> None:
    event = Event(
        EventKind.EMIT, "/chat", "news", args=(1,), remote_addr="127.0.0.1", size=42, to="room"
    )
    finished = event.finished(Outcome.HANDLED)
    for field in ["kind", "namespace", "name", "sid", "args", "ack_requested", "received_at",
                  "remote_addr", "size", "to"]:  # fmt: skip
        assert getattr(finished, field) == getattr(event, field), field


def test_finished_duration_defaults_to_the_time_since_receipt() -> None:
    event = Event(EventKind.EVENT, "/", "old", received_at=time.monotonic() - 5.0)
    assert event.finished(Outcome.HANDLED).duration >= 5.0  # type: ignore[operator]


def test_finished_takes_an_explicit_duration() -> None:
    assert client_event("x").finished(Outcome.HANDLED, duration=0.25).duration == 0.25


def test_published_event_comes_back_finished_with_a_duration(bus: Bus) -> None:
    bus.on("x", handler=lambda: 1)
    finished = bus.publish(client_event("x"))
    assert finished.duration is not None
    assert finished.duration >= 0


def test_event_kind_and_outcome_compare_equal_to_their_names() -> None:
    assert EventKind.CONNECT == "connect"
    assert Outcome.REJECTED == "rejected"
    assert str(Outcome.HANDLED) == "handled"


@pytest.mark.parametrize(
    ("outcome", "ack", "replied", "accepted"),
    [
        (Outcome.HANDLED, None, True, True),
        (Outcome.UNHANDLED, None, False, True),
        (Outcome.REJECTED, {"message": "no"}, False, False),
        (Outcome.FAILED, None, False, False),
        (Outcome.FAILED, {"fallback": True}, True, True),
        (Outcome.FAILED, False, True, False),
    ],
    ids=[
        "handled",
        "unhandled",
        "rejected",
        "failed",
        "failed-answered-by-an-error-handler",
        "failed-answered-false",
    ],
)
def test_a_finished_connect_is_accepted_as_flask_socketio_would_let_the_client_in(
    outcome: Outcome, ack: object, replied: bool, accepted: bool
) -> None:
    connect = Event(EventKind.CONNECT, "/", "connect", "sid")

    finished = connect.finished(outcome, ack=ack, replied=replied)

    assert finished.accepted is accepted
    assert connect.accepted is False  # not dispatched yet
