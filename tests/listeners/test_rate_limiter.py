"""RateLimiter: token buckets per transport and per address, escalation, bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents.bus import Bus
from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.exceptions import Reject
from flask_sockevents.guards import RateLimiter

from .conftest import FakeSockEvents, MakeEvent


class Clock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter_with(clock: Clock, **options: Any) -> RateLimiter:
    return RateLimiter(clock=clock, **options)


def passes(limiter: RateLimiter, event: Event) -> bool:
    try:
        limiter(event)
    except Reject:
        return False
    return True


def count_passing(limiter: RateLimiter, event: Event, attempts: int) -> int:
    return sum(passes(limiter, event) for _ in range(attempts))


def received(make_event: MakeEvent, name: str = "chat message", *args: Any, **fields: Any) -> Event:
    """An event as the guards see it: received, not yet dispatched."""
    return make_event(name, *args, outcome=None, **fields)


def test_lets_a_burst_through_then_rejects(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=5)

    assert count_passing(limiter, received(make_event), 8) == 5


def test_rejection_says_rate_limited(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1)
    limiter(received(make_event))

    with pytest.raises(Reject) as rejected:
        limiter(received(make_event))
    assert rejected.value.reason == "rate limited"
    assert rejected.value.disconnect is False


def test_bucket_refills_at_the_rate(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=2, burst=4)
    count_passing(limiter, received(make_event), 4)

    clock.advance(1.5)

    assert count_passing(limiter, received(make_event), 10) == 3


def test_refill_never_exceeds_the_burst(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=10, burst=3)
    limiter(received(make_event))
    clock.advance(10)

    assert count_passing(limiter, received(make_event), 10) == 3


def test_rejected_events_do_not_use_up_tokens(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1)
    limiter(received(make_event))
    count_passing(limiter, received(make_event), 50)

    clock.advance(1)

    assert passes(limiter, received(make_event))


def test_transports_have_separate_buckets(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=2, per="transport")
    count_passing(limiter, received(make_event, transport="t1", remote_addr="10.0.0.1"), 2)

    assert passes(limiter, received(make_event, transport="t2", remote_addr="10.0.0.1"))


def test_namespaces_of_one_transport_share_its_bucket(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=3, per="transport")
    namespaces = [("/games/1", "s1"), ("/games/2", "s2"), ("/games/3", "s3"), ("/games/4", "s4")]

    results = [
        passes(limiter, received(make_event, namespace=ns, sid=sid, transport="t1"))
        for ns, sid in namespaces
    ]

    assert results == [True, True, True, False]


def test_a_new_namespace_sid_on_the_same_transport_gets_no_fresh_bucket(
    clock: Clock, make_event: MakeEvent
):
    limiter = limiter_with(clock, events_per_second=1, burst=2, per="transport")
    count_passing(limiter, received(make_event, sid="before", transport="t1"), 2)
    limiter(received(make_event, kind=EventKind.DISCONNECT, sid="before", transport="t1"))

    assert not passes(limiter, received(make_event, sid="after", transport="t1"))


def test_without_a_transport_the_namespace_sid_is_the_key(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1, per="transport")
    limiter(received(make_event, sid="a"))

    assert not passes(limiter, received(make_event, sid="a"))
    assert passes(limiter, received(make_event, sid="b"))


def test_by_default_one_address_gets_one_budget_whatever_its_transports(
    clock: Clock, make_event: MakeEvent
):
    limiter = limiter_with(clock, events_per_second=1, burst=2)
    count_passing(limiter, received(make_event, transport="t1", remote_addr="10.0.0.1"), 2)

    assert not passes(limiter, received(make_event, transport="t2", remote_addr="10.0.0.1"))
    assert passes(limiter, received(make_event, transport="t3", remote_addr="10.0.0.2"))


def test_an_address_may_be_given_a_larger_budget_than_a_transport(
    clock: Clock, make_event: MakeEvent
):
    limiter = limiter_with(clock, events_per_second=1, burst=2, address_burst=4)
    count_passing(limiter, received(make_event, transport="t1", remote_addr="10.0.0.1"), 5)

    assert (
        count_passing(limiter, received(make_event, transport="t2", remote_addr="10.0.0.1"), 5) == 2
    )


def test_byte_limit_rejects_heavy_traffic(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(
        clock, events_per_second=100, burst=100, bytes_per_second=1000, bytes_burst=1000
    )

    assert count_passing(limiter, received(make_event, size=300), 10) == 3


def test_byte_burst_defaults_to_twice_the_byte_rate(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=100, burst=100, bytes_per_second=100)

    assert count_passing(limiter, received(make_event, size=50), 10) == 4


def test_packet_larger_than_the_byte_burst_is_always_rejected(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, bytes_per_second=100, bytes_burst=200)
    clock.advance(3600)

    assert not passes(limiter, received(make_event, size=201))


def test_per_address_shares_one_bucket_between_connections(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=3, per="address")
    sids = ["a", "b", "c", "d"]

    results = [passes(limiter, received(make_event, sid=s, remote_addr="10.0.0.1")) for s in sids]

    assert results == [True, True, True, False]


def test_per_address_keeps_addresses_apart(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1, per="address")
    limiter(received(make_event, sid="a", remote_addr="10.0.0.1"))

    assert passes(limiter, received(make_event, sid="b", remote_addr="10.0.0.2"))


def test_per_address_without_an_address_limits_the_connection(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1, per="address")
    limiter(received(make_event, sid="a", remote_addr=None))

    assert not passes(limiter, received(make_event, sid="a", remote_addr=None))
    assert passes(limiter, received(make_event, sid="b", remote_addr=None))


def test_per_both_applies_the_connection_and_the_address_buckets(
    clock: Clock, make_event: MakeEvent
):
    limiter = limiter_with(clock, events_per_second=1, burst=2, per="both")
    one_connection = received(make_event, sid="a", remote_addr="10.0.0.1")

    assert count_passing(limiter, one_connection, 3) == 2
    assert not passes(limiter, received(make_event, sid="fresh", remote_addr="10.0.0.1"))


def test_connects_cost_an_event(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=3)
    connect = received(make_event, kind=EventKind.CONNECT, transport="t1", remote_addr="10.0.0.1")

    assert count_passing(limiter, connect, 2) == 2
    assert passes(limiter, received(make_event, transport="t1", remote_addr="10.0.0.1"))
    assert not passes(limiter, received(make_event, transport="t1", remote_addr="10.0.0.1"))


def test_connects_past_the_burst_are_refused(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=3)
    connects = [
        received(make_event, kind=EventKind.CONNECT, namespace=f"/games/{n}", transport="t1")
        for n in range(5)
    ]

    assert [passes(limiter, connect) for connect in connects] == [True, True, True, False, False]


def test_connect_rate_per_address_when_configured(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, connects_per_second=1, connect_burst=2)

    results = [
        passes(limiter, received(make_event, kind=EventKind.CONNECT, sid=s, remote_addr="10.0.0.9"))
        for s in ("a", "b", "c")
    ]

    assert results == [True, True, False]


def test_disconnects_are_never_rejected(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1)
    count_passing(limiter, received(make_event, sid="a"), 5)

    assert passes(limiter, received(make_event, kind=EventKind.DISCONNECT, sid="a"))


def test_server_to_server_events_are_never_charged(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1)
    server_events = [received(make_event, kind=EventKind.SERVER, sid=None) for _ in range(5)]

    assert all(passes(limiter, event) for event in server_events)
    assert passes(limiter, received(make_event, sid="a"))


def test_memory_does_not_grow_with_transport_churn(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=2, disconnect_after=5, window=10)
    for n in range(5000):
        event = received(make_event, transport=f"t{n}", remote_addr=f"10.0.{n % 256}.1")
        count_passing(limiter, event, 3)

    clock.advance(31)
    limiter(received(make_event, transport="late", remote_addr="10.9.9.9"))

    assert limiter.tracked == 2


def test_address_buckets_expire_once_refilled(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=2, per="address", sweep_interval=30)
    for n in range(100):
        limiter(received(make_event, sid=f"s{n}", remote_addr=f"10.1.0.{n}"))
    assert limiter.tracked == 100

    clock.advance(31)
    limiter(received(make_event, sid="late", remote_addr="10.2.0.1"))

    assert limiter.tracked == 1


def test_buckets_still_in_use_survive_the_sweep(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=0.01, burst=2, per="address", sweep_interval=30)
    count_passing(limiter, received(make_event, remote_addr="10.0.0.1"), 2)

    clock.advance(31)

    assert not passes(limiter, received(make_event, remote_addr="10.0.0.1"))


def test_sustained_abuse_across_namespaces_asks_for_a_disconnect(
    clock: Clock, make_event: MakeEvent
):
    limiter = limiter_with(clock, events_per_second=1, burst=1, disconnect_after=3, window=10)
    limiter(received(make_event, namespace="/a", sid="s1", transport="t1"))
    count_passing(limiter, received(make_event, namespace="/b", sid="s2", transport="t1"), 2)

    with pytest.raises(Reject) as rejected:
        limiter(received(make_event, namespace="/c", sid="s3", transport="t1"))
    assert rejected.value.disconnect is True


def test_sustained_abuse_asks_for_a_disconnect(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1, disconnect_after=3, window=10)
    limiter(received(make_event))
    count_passing(limiter, received(make_event), 2)

    with pytest.raises(Reject) as rejected:
        limiter(received(make_event))
    assert rejected.value.reason == "rate limited"
    assert rejected.value.disconnect is True


def test_rejections_spread_beyond_the_window_do_not_disconnect(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=0.01, burst=1, disconnect_after=3, window=10)
    limiter(received(make_event))
    for _ in range(5):
        clock.advance(6)
        with pytest.raises(Reject) as rejected:
            limiter(received(make_event))
        assert rejected.value.disconnect is False


def test_no_disconnect_unless_configured(clock: Clock, make_event: MakeEvent):
    limiter = limiter_with(clock, events_per_second=1, burst=1)
    limiter(received(make_event))
    disconnects = []
    for _ in range(100):
        with pytest.raises(Reject) as rejected:
            limiter(received(make_event))
        disconnects.append(rejected.value.disconnect)

    assert not any(disconnects)


@pytest.mark.parametrize(
    "options",
    [{"per": "everyone"}, {"burst": 0}, {"events_per_second": 0}, {"disconnect_after": 0}],
)
def test_refuses_impossible_settings(options: dict[str, Any]):
    with pytest.raises(ValueError):
        RateLimiter(**options)


def test_init_app_guards_every_event(sockevents: FakeSockEvents):
    limiter = RateLimiter(sockevents)

    assert sockevents.guards == [("*", "*", limiter)]


def test_init_app_on_one_event_also_guards_connects(sockevents: FakeSockEvents):
    limiter = RateLimiter()
    limiter.init_app(sockevents, "chat", namespace="/chat")

    assert sockevents.guards == [("chat", "/chat", limiter), ("connect", "/chat", limiter)]


def test_on_the_bus_a_limited_event_is_rejected_and_never_handled(
    clock: Clock, make_event: MakeEvent
):
    bus = Bus()
    handled: list[str] = []
    bus.on("chat message", "/")(handled.append)
    RateLimiter(bus, events_per_second=1, burst=1, clock=clock)

    first = bus.publish(received(make_event, "chat message", "one"))
    second = bus.publish(received(make_event, "chat message", "two"))

    assert (first.outcome, second.outcome) == (Outcome.HANDLED, Outcome.REJECTED)
    assert second.reason == "rate limited"
    assert handled == ["one"]


def test_an_unknown_per_is_refused_naming_every_choice():
    with pytest.raises(ValueError) as refused:
        RateLimiter(per="room")  # type: ignore[arg-type]
    for choice in ("'transport'", "'address'", "'both'", "'connection'", "'room'"):
        assert choice in str(refused.value)
