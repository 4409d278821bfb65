"""MonitorState: what the monitor page shows, aggregated from finished events in bounded memory."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.monitor import OTHER, UNDECLARED, MonitorState


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finished(
    name: str = "chat",
    *,
    kind: EventKind = EventKind.EVENT,
    namespace: str = "/",
    sid: str | None = "sid-0001-abcdef",
    outcome: Outcome = Outcome.HANDLED,
    reason: str | None = None,
    duration: float = 0.000250,
) -> Event:
    """A dispatched event, as a listener receives it."""
    if kind is EventKind.CONNECT:
        name = "connect"
    elif kind is EventKind.DISCONNECT:
        name = "disconnect"
    event = Event(kind, namespace, name, sid)
    return event.finished(outcome, reason=reason, duration=duration)


def connect(namespace: str = "/", sid: str = "a", outcome: Outcome = Outcome.HANDLED) -> Event:
    return finished(kind=EventKind.CONNECT, namespace=namespace, sid=sid, outcome=outcome)


def disconnect(namespace: str = "/", sid: str = "a") -> Event:
    return finished(kind=EventKind.DISCONNECT, namespace=namespace, sid=sid)


def declares(*names: str) -> Any:
    return lambda name, namespace: name in names


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> MonitorState:
    return MonitorState(declares("chat", "join"), exclude_namespace="/sockevents", clock=clock)


# -- counts ---------------------------------------------------------------------


def test_events_are_counted_by_outcome(state: MonitorState) -> None:
    for outcome in (Outcome.HANDLED, Outcome.HANDLED, Outcome.REJECTED, Outcome.FAILED):
        state(finished(outcome=outcome))
    state(finished("nobody", outcome=Outcome.UNHANDLED))

    snapshot = state.snapshot()

    assert snapshot["outcomes"] == {"handled": 2, "rejected": 1, "failed": 1, "unhandled": 1}
    assert snapshot["total"] == 5


def test_an_event_row_carries_kind_namespace_name_sid_prefix_outcome_reason_and_microseconds(
    state: MonitorState,
) -> None:
    state(
        finished(
            "join",
            namespace="/game",
            sid="0123456789abcdef",
            outcome=Outcome.REJECTED,
            reason="room is full",
            duration=0.001234,
        )
    )

    (row,) = state.snapshot()["events"]

    assert row["kind"] == "event"
    assert row["namespace"] == "/game"
    assert row["name"] == "join"
    assert row["sid"] == "01234567"
    assert row["outcome"] == "rejected"
    assert row["reason"] == "room is full"
    assert row["duration_us"] == 1234


def test_rejections_are_counted_by_reason_most_frequent_first(state: MonitorState) -> None:
    for reason in ("rate limited", "not logged in", "rate limited"):
        state(finished(outcome=Outcome.REJECTED, reason=reason))

    rejections = state.snapshot()["rejections"]

    assert rejections["by_reason"] == [["rate limited", 2], ["not logged in", 1]]
    assert [row["reason"] for row in rejections["latest"]] == [
        "rate limited",
        "not logged in",
        "rate limited",
    ]


def test_failures_are_counted_by_reason_apart_from_rejections(state: MonitorState) -> None:
    state(finished(outcome=Outcome.FAILED, reason="ValueError: bad"))
    state(finished(outcome=Outcome.REJECTED, reason="rate limited"))

    snapshot = state.snapshot()

    assert snapshot["failures"]["by_reason"] == [["ValueError: bad", 1]]
    assert [row["outcome"] for row in snapshot["failures"]["latest"]] == ["failed"]
    assert snapshot["rejections"]["by_reason"] == [["rate limited", 1]]


def test_a_snapshot_since_a_seq_holds_only_newer_rows(state: MonitorState) -> None:
    state(finished("chat"))
    since = state.snapshot()["seq"]
    state(finished("join", outcome=Outcome.FAILED, reason="boom"))

    delta = state.snapshot(since=since)

    assert [row["name"] for row in delta["events"]] == ["join"]
    assert [row["name"] for row in delta["failures"]["latest"]] == ["join"]
    assert delta["total"] == 2


# -- connected clients ------------------------------------------------------------


def test_connected_clients_are_counted_per_namespace(state: MonitorState) -> None:
    state(connect("/", "a"))
    state(connect("/", "b"))
    state(connect("/admin", "c"))

    assert state.snapshot()["clients"] == {"/": 2, "/admin": 1}


def test_a_disconnect_lowers_its_namespace_and_the_last_one_removes_it(
    state: MonitorState,
) -> None:
    state(connect("/", "a"))
    state(connect("/admin", "c"))
    state(connect("/admin", "d"))

    state(disconnect("/admin", "c"))
    assert state.snapshot()["clients"] == {"/": 1, "/admin": 1}
    state(disconnect("/admin", "d"))
    assert state.snapshot()["clients"] == {"/": 1}


def test_a_rejected_connect_is_not_a_connected_client(state: MonitorState) -> None:
    state(connect("/", "a", outcome=Outcome.REJECTED))

    assert state.snapshot()["clients"] == {}


# -- per-second buckets --------------------------------------------------------------


def test_events_are_bucketed_per_second_by_name(state: MonitorState, clock: FakeClock) -> None:
    start = int(clock.now)
    state(finished("chat"))
    state(finished("chat"))
    clock.now += 1
    state(finished("join"))
    clock.now += 1

    series = state.per_second()

    assert series["end"] == start + 2
    assert series["counts"]["chat"][-3:] == [2, 0, 0]
    assert series["counts"]["join"][-3:] == [0, 1, 0]


def test_seconds_older_than_the_window_drop_out_of_the_chart(
    clock: FakeClock,
) -> None:
    state = MonitorState(declares("chat"), window=10, clock=clock)
    state(finished("chat"))
    clock.now += 10

    assert state.per_second()["counts"] == {}


def test_the_buckets_never_exceed_the_window(clock: FakeClock) -> None:
    state = MonitorState(declares("chat"), window=5, clock=clock)
    for _ in range(50):
        state(finished("chat"))
        clock.now += 1

    assert len(state.buckets) == 5


def test_connect_and_disconnect_keep_their_names_in_the_chart(state: MonitorState) -> None:
    state(connect())
    state(disconnect())

    assert set(state.per_second()["counts"]) == {"connect", "disconnect"}


# -- bounded under a flood of names ---------------------------------------------------------


def test_names_no_route_declares_are_charted_as_undeclared(state: MonitorState) -> None:
    state(finished("chat"))
    state(finished("made-up"))
    state(finished("another made-up", outcome=Outcome.UNHANDLED))

    counts = state.per_second()["counts"]

    assert set(counts) == {"chat", UNDECLARED}
    assert sum(counts[UNDECLARED]) == 2


def test_a_flood_of_random_names_and_reasons_keeps_memory_bounded(clock: FakeClock) -> None:
    state = MonitorState(
        declares("chat"), max_events=100, max_problems=20, max_reasons=10, clock=clock
    )
    rng = random.Random(7)

    def random_text(length: int) -> str:
        return "".join(rng.choices(string.ascii_letters, k=length))

    for index in range(5_000):
        outcome = (Outcome.UNHANDLED, Outcome.REJECTED, Outcome.FAILED)[index % 3]
        state(finished(random_text(200), outcome=outcome, reason=random_text(500)))
        clock.now += 0.01

    snapshot = state.snapshot()
    assert set(snapshot["series"]["counts"]) == {UNDECLARED}
    assert len(snapshot["events"]) == 100
    assert len(snapshot["rejections"]["latest"]) == 20
    assert len(snapshot["failures"]["latest"]) == 20
    assert len(snapshot["rejections"]["by_reason"]) <= 11
    assert dict(snapshot["rejections"]["by_reason"])[OTHER] > 0
    assert max(len(row["name"]) for row in snapshot["events"]) <= 64
    assert max(len(row["reason"]) for row in snapshot["events"]) <= 160
    assert snapshot["total"] == 5_000


def test_declared_names_past_the_series_cap_are_charted_as_other(clock: FakeClock) -> None:
    state = MonitorState(None, max_series=3, clock=clock)
    for name in ("a", "b", "c", "d", "e"):
        state(finished(name))

    assert set(state.per_second()["counts"]) == {"a", "b", "c", OTHER}


# -- its own namespace ------------------------------------------------------------------------


def test_events_of_the_excluded_namespace_are_ignored(state: MonitorState) -> None:
    state(connect("/sockevents", "watcher"))
    state(finished("snapshot", namespace="/sockevents"))
    state(disconnect("/sockevents", "watcher"))

    snapshot = state.snapshot()

    assert snapshot["total"] == 0
    assert snapshot["clients"] == {}
    assert snapshot["events"] == []
    assert snapshot["series"]["counts"] == {}


def test_an_event_before_dispatch_is_ignored(state: MonitorState) -> None:
    state(Event(EventKind.EVENT, "/", "chat", "a"))

    assert state.snapshot()["total"] == 0


# -- what the page may show of a failure and of a payload ------------------------------


def failed_login(error_text_in_reason: bool = False) -> Event:
    error = ValueError("bad password 'hunter2'")
    reason = f"ValueError: {error}" if error_text_in_reason else "ValueError"
    event = Event(EventKind.EVENT, "/", "login", "sid-1", ({"password": "hunter2"},), size=40)
    return event.finished(Outcome.FAILED, reason=reason, error=error)


def test_a_failure_shows_its_exception_class_but_not_its_text_by_default() -> None:
    state = MonitorState()
    state(failed_login(error_text_in_reason=True))  # even when the bus publishes the text

    snapshot = state.snapshot()
    assert snapshot["failures"]["latest"][0]["reason"] == "ValueError"
    assert snapshot["failures"]["by_reason"] == [["ValueError", 1]]
    assert "hunter2" not in repr(snapshot)


def test_with_error_text_a_failure_shows_its_exception_text() -> None:
    state = MonitorState(error_text=True)
    state(failed_login())

    assert state.snapshot()["failures"]["latest"][0]["reason"] == (
        "ValueError: bad password 'hunter2'"
    )


def test_payloads_are_not_shown_by_default() -> None:
    state = MonitorState()
    state(failed_login())

    assert "args" not in state.snapshot()["events"][0]


def test_with_payloads_the_arguments_are_shown_redacted() -> None:
    state = MonitorState(payloads=True)
    event = Event(EventKind.EVENT, "/", "login", "s", ({"user": "ann", "token": "t0k"},), size=50)
    state(event.finished(Outcome.HANDLED))

    assert state.snapshot()["events"][0]["args"] == '[{"user": "ann", "token": "[redacted]"}]'


def test_with_payloads_a_large_body_is_shown_by_its_size_only() -> None:
    state = MonitorState(payloads=True)
    event = Event(EventKind.EVENT, "/", "upload", "s", ("x" * 100_000,), size=100_012)
    state(event.finished(Outcome.HANDLED))

    assert state.snapshot()["events"][0]["args"] == "[100012 bytes]"
