"""Long-polling POSTs carry at most ``max_packets_per_post`` packets.

A POST with more is refused with HTTP 400 before any of its packets is
decoded, and its session is closed: nothing it carried reaches the bus. Up to
the cap, every packet is taken, in order, one at a time (so the reader yields
to the other connections while it decodes a long POST).
"""

from __future__ import annotations

from typing import Any

import socketio

from flask_sockevents import EventKind, SockEvents

from ._budget import Memory
from ._raw import TIMEOUT, RawPolling
from ._wait import wait_for
from .conftest import Arena

HUGE = 330_000
TOO_MANY = "too many packets in a long-polling POST"


def counting_arena(arena: Any, **options: Any) -> tuple[Arena, list[int]]:
    """An arena whose ``n`` handler appends its argument to the list returned."""
    numbers: list[int] = []

    def setup(sockevents: SockEvents) -> None:
        sockevents.on("n")(numbers.append)

    return arena(setup, **options), numbers


def test_8_posts_of_330000_packets_are_refused_with_400_before_any_is_decoded(
    arena: Any,
) -> None:
    game, numbers = counting_arena(arena, max_message_size=1_000_000)
    baseline = game.connections()
    attackers = [RawPolling(game.url) for _ in range(8)]
    sids = [polling.connect() for polling in attackers]
    body = '42["n",1]\x1e' + "\x1e".join(["5"] * HUGE)
    memory = Memory(game)

    statuses = memory.probe_while(lambda: [polling.post(body).status_code for polling in attackers])

    assert statuses == [400] * 8
    assert game.server.protocol_errors == {TOO_MANY: 8}
    for sid in sids:
        game.disconnected(sid)
    assert numbers == []  # the event before the 330,000 upgrade packets was never decoded
    memory.assert_back_once_gone(baseline)
    game.probe()


def test_a_post_of_max_packets_per_post_events_is_dispatched_in_order(arena: Any) -> None:
    game, numbers = counting_arena(arena, max_packets_per_post=1000)
    polling = RawPolling(game.url)
    sid = polling.connect()
    body = "\x1e".join(f'42["n",{i}]' for i in range(1000))

    answer = game.probe_while(lambda: polling.post(body))

    assert answer.status_code == 200
    wait_for(lambda: len(numbers) == 1000)
    assert numbers == list(range(1000))
    assert [e.args[0] for e in game.of(EventKind.EVENT, sid) if e.name == "n"] == numbers
    game.settled_counts()


def test_one_packet_more_than_max_packets_per_post_refuses_the_whole_post(arena: Any) -> None:
    game, numbers = counting_arena(arena, max_packets_per_post=1000)
    polling = RawPolling(game.url)
    sid = polling.connect()
    body = "\x1e".join(f'42["n",{i}]' for i in range(1001))

    answer = game.probe_while(lambda: polling.post(body))

    assert answer.status_code == 400
    game.disconnected(sid)
    assert numbers == []
    assert game.server.protocol_errors == {TOO_MANY: 1}
    game.probe()
    game.settled_counts()


def test_a_burst_of_2000_emits_from_a_polling_client_fits_the_default_cap(arena: Any) -> None:
    """python-socketio's client puts everything it queued into its next POST."""
    game, numbers = counting_arena(arena)
    client = socketio.Client(reconnection=False)
    client.connect(game.url, transports=["polling"], wait_timeout=TIMEOUT)
    try:
        for number in range(2000):
            client.emit("n", number)
        assert client.call("n", 2000, timeout=TIMEOUT) is None
    finally:
        client.disconnect()
        client.shutdown()

    assert numbers == list(range(2001))
    assert game.server.protocol_errors == {}
    game.probe()


def test_packets_a_client_has_no_reason_to_send_are_ignored_without_losing_the_rest(
    arena: Any,
) -> None:
    """A ping, a stray upgrade and a noop cost their sender, and the events after them arrive."""
    game, numbers = counting_arena(arena)
    polling = RawPolling(game.url)
    polling.connect()

    answer = polling.post('2\x1e42["n",1]\x1e5\x1e42["n",2]\x1e6\x1e42["n",3]')

    assert answer.status_code == 200
    wait_for(lambda: len(numbers) == 3)
    assert numbers == [1, 2, 3]
    assert game.server.protocol_errors == {}
    game.probe()
