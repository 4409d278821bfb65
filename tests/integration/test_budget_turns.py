"""A session's reader yields after PACKETS_PER_TURN packets in one turn, and only then.

A turn is what a greenlet does between two switches to the hub: a reader
that waited for its client (the loop polled meanwhile) starts a new turn, so a
client pipelining a few events per write costs no extra switch, while one
streaming packets gives the others a turn every :data:`PACKETS_PER_TURN`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace

import gevent
import pytest
from engineio import packet as eio_packet

from flask_sockevents.budget import PACKETS_PER_TURN, BudgetedEngineIOServer, BudgetedSocket


@pytest.fixture
def session() -> Iterator[BudgetedSocket]:
    """A budgeted Engine.IO session with no transport (its packets are charged all the same)."""
    server = BudgetedEngineIOServer(async_mode="gevent")
    server.limits = SimpleNamespace(  # type: ignore[assignment]
        max_queued_events=100, max_packets_per_post=100, protocol_errors=Counter()
    )
    yield BudgetedSocket(server, "session")


def _ping(session: BudgetedSocket) -> None:
    """A packet the client has no reason to send: charged, then ignored."""
    session.receive(eio_packet.Packet(eio_packet.PING))


def _other_greenlet_ran_during(action: object) -> bool:
    ran: list[bool] = []
    other = gevent.spawn(ran.append, True)  # runs at the reader's next switch, if any
    assert callable(action)
    action()
    other.kill()
    return bool(ran)


def test_packets_past_the_turns_budget_give_the_other_greenlets_a_turn(
    session: BudgetedSocket,
) -> None:
    gevent.sleep(0.001)  # a fresh turn

    def one_turn() -> None:
        for _ in range(PACKETS_PER_TURN):
            _ping(session)

    assert not _other_greenlet_ran_during(one_turn)
    assert _other_greenlet_ran_during(lambda: _ping(session))
    assert session.packets_read == PACKETS_PER_TURN + 1


def test_a_reader_that_waited_between_packets_starts_a_new_turn(
    session: BudgetedSocket,
) -> None:
    for _ in range(PACKETS_PER_TURN - 1):
        _ping(session)
    gevent.sleep(0.001)  # waits: the loop polls, every other greenlet runs

    def a_whole_turn() -> None:
        for _ in range(PACKETS_PER_TURN):
            _ping(session)

    assert not _other_greenlet_ran_during(a_whole_turn)
    assert _other_greenlet_ran_during(lambda: _ping(session))
