"""Fuzzing the path from an Engine.IO message to an event on the bus.

Each example opens an in-process connection on a fresh app, feeds it what a
client might send (see :mod:`._strategies`) straight into
``server._handle_eio_message``, closes it, and checks the protocol model of
:mod:`._harness` after every message: no exception escapes the server, every
message either closes the connection or publishes what the protocol says (one
event, or nothing for acks and pending binary packets), handlers only see
string names that are not reserved, and the bus's counts add up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._harness import PacketHarness, check_totals
from ._strategies import deep_event, deep_packets, packet_sequences, packets, raw_messages

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def harness() -> Iterator[PacketHarness]:
    """A fresh app for one example; the totals are checked when it ends."""
    fixture = PacketHarness()
    try:
        yield fixture
        check_totals(fixture)
    finally:
        fixture.close()


# Packets nested thousands of levels deep are refused (the transport closes);
# when the interpreter later fails to *print* a RecursionError raised while
# discarding such an object, pytest reports it as an unraisable exception.
# The protocol's answers are what this test checks; that report is not.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@FUZZ
@given(packet_sequences())
def test_structured_packets_follow_the_protocol(sent: list[str | bytes]) -> None:
    with harness() as fixture:
        connection = fixture.connect()
        for data in sent:
            connection.feed(data)
        connection.close()


@FUZZ
@given(st.lists(raw_messages, min_size=1, max_size=8))
def test_random_messages_close_the_connection_or_follow_the_protocol(
    sent: list[str | bytes],
) -> None:
    with harness() as fixture:
        connection = fixture.connect()
        for data in sent:
            connection.feed(data)
        connection.close()


@settings(FUZZ, max_examples=60)
@given(deep_packets())
def test_deeply_nested_payloads_close_the_connection_or_are_dispatched(
    sent: list[str | bytes],
) -> None:
    with harness() as fixture:
        connection = fixture.connect()
        for data in sent:
            connection.feed(data)
        connection.close()


@FUZZ
@given(packets())
def test_a_first_packet_other_than_connect_closes_the_connection(data: str) -> None:
    with harness() as fixture:
        connection = fixture.open()
        connection.feed(data)
        connection.close()


@settings(FUZZ, max_examples=80)
@given(st.lists(packets(), min_size=1, max_size=6))
def test_many_connections_leave_nothing_behind(batches: list[str]) -> None:
    with harness() as fixture:
        connections = [fixture.connect() for _ in batches]
        for connection, data in zip(connections, batches, strict=True):
            connection.feed(data)
        for connection in connections:
            connection.close()
        assert fixture.server.connection_stats() == {"connections": 0, "queued": 0}


def test_a_binary_placeholder_nested_past_the_stack_closes_the_connection() -> None:
    # Shallow enough for the JSON decoder, too deep to rebuild recursively.
    with harness() as fixture:
        connection = fixture.connect()
        for data in deep_event(depth=sys.getrecursionlimit() * 3 // 4, binary=True):
            connection.feed(data)
        connection.close()
        assert fixture.server.protocol_errors["bad binary attachment"] == 1
