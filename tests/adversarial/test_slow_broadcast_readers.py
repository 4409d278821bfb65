"""A client that stops reading broadcasts holds nobody, and gets every one of them, in order.

Packets are written to a websocket directly while the socket takes the bytes;
what it cannot take waits in the session's queue for a writer greenlet. A
client that leaves its broadcasts unread fills its socket, the rest
waits in its queue (the frame shared with every other recipient), the other
clients are served meanwhile, and once it reads it gets everything it was
sent, in the order it was sent.
"""

from __future__ import annotations

import socket
from typing import Any

from flask_sockevents import SockEvents

from ._wait import wait_for
from .conftest import Arena

PARTS = 300
PART_SIZE = 5_000  # 1.5 MB in all, against socket buffers of a few KB


def _broadcasting(sockevents: SockEvents) -> None:
    @sockevents.on("burst")
    def burst(count: int) -> None:
        for index in range(count):
            sockevents.emit("part", {"i": index, "pad": "x" * PART_SIZE})


def test_a_client_not_reading_broadcasts_holds_no_one_and_gets_all_in_order_once_it_reads(
    arena: Any,
) -> None:
    game: Arena = arena(setup=_broadcasting)
    received: list[int] = []
    game.probe_client.on("part", lambda data: received.append(data["i"]))
    sleeper = game.raw(receive_buffer=4096)
    sleeper.connect()
    session = game.server.eio.sockets[sleeper.open_packet["sid"]]
    # The kernel may buffer megabytes on loopback: a small send buffer on the
    # server's side of the connection makes the socket refuse bytes soon.
    session._direct.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    game.probe_client.emit("burst", PARTS)

    wait_for(lambda: len(received) == PARTS, message="the probe did not get every part")
    assert sorted(received) == list(range(PARTS))  # the client runs handlers in threads
    assert session.queue.qsize() > 0  # what the sleeper's socket could not take waits
    game.probe()
    parts = []
    while len(parts) < PARTS:
        text = sleeper.recv_text()
        if text.startswith('42["part"'):
            parts.append(int(text.split('"i":', 1)[1].split(",", 1)[0]))
    assert parts == list(range(PARTS))
    wait_for(lambda: session.queue.qsize() == 0, message="the sleeper's queue never emptied")
    assert sleeper.call(7, "echo", "after") == ["after"]
