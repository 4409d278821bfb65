"""Cheap-packet floods: every packet costs its sender, whatever its kind and transport.

A client streaming packets the server handles without dispatching anything
(Engine.IO upgrade and pong packets, acknowledgements nobody asked for) or
CONNECTs to a namespace no route accepts, without ever reading the answers:
the reader yields to the other connections every few packets and stops while
the attacker leaves its answers unread, so the probe is answered within 1 s
throughout, nothing queues without bound, and the memory is back to where it
was once the attacker is gone.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests

from flask_sockevents import Event, EventKind, SockEvents

from ._budget import ATTACK_SECONDS, Memory, abort, stream
from ._raw import OPCODE_PING, RawPolling, frame
from ._wait import wait_for
from .conftest import SMALL_MESSAGE_SIZE, Arena

CHEAP = {"upgrade": "5", "pong": "3", "unasked-ack": "431[1]"}
FRAMES = {
    **{name: frame(packet.encode()) for name, packet in CHEAP.items()},
    "websocket-ping": frame(b"", OPCODE_PING),  # answered with a pong frame by the websocket
}
REFUSED_CONNECT = "40/nope,"


def stream_sampling_the_queue(game: Arena, ws: Any, block: bytes) -> tuple[int, int, Memory]:
    """Stream ``block`` on ``ws`` while probing; at each probe, sample the
    memory and the packets queued. Returns the bytes sent, the most packets
    seen queued, and the memory samples."""
    memory = Memory(game)
    queued: list[int] = []

    def sample() -> None:
        memory.sample()
        queued.append(game.server.connection_stats()["queued"])

    sent = game.probe_while(lambda: stream(ws.sock, block), on_probe=sample)
    return sent, max(queued), memory


@pytest.mark.parametrize("one_frame", list(FRAMES.values()), ids=list(FRAMES))
def test_a_websocket_streaming_cheap_packets_without_reading_never_holds_the_probe(
    arena: Any, one_frame: bytes
) -> None:
    game: Arena = arena()
    baseline = game.connections()
    ws = game.raw()
    ws.connect()
    block = one_frame * 4096
    memory = Memory(game)

    sent = memory.probe_while(lambda: stream(ws.sock, block))

    assert sent > 0
    assert game.server.protocol_errors == {}
    abort(ws.sock)
    memory.assert_back_once_gone(baseline)
    game.probe()


@pytest.mark.parametrize("packet", list(CHEAP.values()), ids=list(CHEAP))
def test_long_polling_posts_of_cheap_packets_never_hold_the_probe(arena: Any, packet: str) -> None:
    game: Arena = arena()
    baseline = game.connections()
    polling = RawPolling(game.url)
    polling.connect()
    fits = min(game.server.max_packets_per_post, SMALL_MESSAGE_SIZE // (len(packet) + 1))
    body = "\x1e".join([packet] * fits)
    memory = Memory(game)

    def attack() -> Counter[int]:
        statuses: Counter[int] = Counter()
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            statuses[polling.post(body).status_code] += 1
        return statuses

    statuses = memory.probe_while(attack)

    assert set(statuses) == {200}
    assert game.server.protocol_errors == {}
    assert polling.post("1").status_code == 200  # Engine.IO CLOSE: the attacker leaves
    memory.assert_back_once_gone(baseline)
    game.probe()


def test_a_websocket_streaming_refused_connects_is_slowed_and_every_one_is_refused(
    arena: Any,
) -> None:
    """The CONNECTs queue like events: bounded, in order, each one refused on the bus."""
    game: Arena = arena()
    baseline = game.connections()
    ws = game.raw()
    ws.connect()
    block = frame(REFUSED_CONNECT.encode()) * 4096
    game.recording = False  # tens of thousands of refused connects: counted, not kept
    sent, most_queued, memory = stream_sampling_the_queue(game, ws, block)

    assert sent > 0
    assert most_queued <= game.server.max_queued_events + 1  # the probe's own event
    abort(ws.sock)
    wait_for(lambda: game.connections() == baseline)
    counts = game.settled_counts()
    assert game.sockevents.bus.rejections == {"Invalid namespace": counts["rejected"]}
    assert counts["rejected"] > 0
    memory.assert_back_once_gone(baseline)
    game.probe()


def test_long_polling_posts_of_refused_connects_wait_for_the_client_to_read_its_answers(
    arena: Any,
) -> None:
    """A polling client that never polls stops being read once its answers pile up."""
    game: Arena = arena()
    baseline = game.connections()
    polling = RawPolling(game.url)
    polling.connect()
    body = "\x1e".join([REFUSED_CONNECT] * 1000)
    memory = Memory(game)

    def attack() -> int:
        for posted in range(100):
            try:
                polling.post(body)
            except requests.Timeout:
                return posted
        return 100

    answered_posts = memory.probe_while(attack)

    assert answered_posts == 0  # its first POST waits for a GET that never comes
    refused = [e for e in game.of(EventKind.CONNECT) if e.namespace == "/nope"]
    assert 0 < len(refused) <= 2 * game.server.max_queued_events + 2
    assert polling.post("1").status_code == 200  # a CLOSE is never held back
    memory.assert_back_once_gone(baseline)
    game.probe()


def test_a_websocket_connecting_and_disconnecting_in_a_loop_is_bounded_like_events(
    arena: Any,
) -> None:
    """Each CONNECT and DISCONNECT is dispatched in order: every connect gets its disconnect."""
    lifecycle: Counter[str] = Counter()

    def setup(sockevents: SockEvents) -> None:
        @sockevents.listen("*")
        def count(event: Event) -> None:
            if event.kind is not EventKind.EVENT:
                lifecycle[f"{event.kind.value} {event.outcome.value}"] += 1

    game: Arena = arena(setup)
    baseline = game.connections()
    ws = game.raw()
    ws.connect()
    block = (frame(b"41") + frame(b"40")) * 2048
    game.recording = False  # tens of thousands of connects: counted, not kept
    sent, most_queued, memory = stream_sampling_the_queue(game, ws, block)

    assert sent > 0
    assert most_queued <= game.server.max_queued_events + 1  # the probe's own event
    abort(ws.sock)
    wait_for(lambda: game.connections() == baseline)
    game.settled_counts()
    connects = lifecycle["connect unhandled"]
    assert connects > 2
    assert set(lifecycle) == {"connect unhandled", "disconnect unhandled"}
    assert lifecycle["disconnect unhandled"] == connects - 1  # the probe is still connected
    assert game.server.protocol_errors == {}
    memory.assert_back_once_gone(baseline)
    game.probe()
