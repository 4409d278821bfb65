"""The ``recovered`` field of the :class:`~flask_sockevents.Event` record."""

from __future__ import annotations

from flask_sockevents import Event, EventKind, Outcome


def test_an_event_is_not_recovered_by_default() -> None:
    assert Event(EventKind.CONNECT, "/", "connect").recovered is False


def test_a_finished_event_keeps_its_recovered_flag() -> None:
    event = Event(EventKind.CONNECT, "/", "connect", "sid", recovered=True)
    finished = event.finished(Outcome.HANDLED, ack="ok")
    assert finished.recovered is True
    assert (finished.outcome, finished.ack, finished.sid) == (Outcome.HANDLED, "ok", "sid")


def test_the_fields_before_recovered_keep_their_places() -> None:
    event = Event(EventKind.EVENT, "/", "chat", "sid", ("hi",), True, 1.0, "addr", 5, None, "t")
    assert event[:11] == (
        EventKind.EVENT,
        "/",
        "chat",
        "sid",
        ("hi",),
        True,
        1.0,
        "addr",
        5,
        None,
        "t",
    )
    assert event._replace(recovered=True)[-1] is True
    assert len(event) == len(Event._fields)
