"""What a restore reads of the log: up to its end as the restore's last read found it.

A restore takes the session, then reads the packets it missed in chunks; each
read yields to other greenlets, one of which may handle an emit logged
meanwhile by another process, arriving through the message queue, and drop
it (the client is not back in its rooms yet). So the packets a restore
returns run to the end of the log as its last read found it: the server
re-enters the rooms right after, without yielding, and what is logged later
reaches the client through the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore

from ._sessions import EVERYONE, lost

MakeStore = Callable[..., RedisStreamRecoveryStore]


@pytest.mark.parametrize("already_logged", [0, 5], ids=["nothing-missed", "five-missed"])
def test_packets_logged_after_the_session_was_taken_are_among_those_a_restore_returns(
    make_store: MakeStore, already_logged: int
) -> None:
    store = make_store(read_count=2)  # several reads for five packets
    other_process = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    for number in range(already_logged):
        other_process.log("/", frozenset({"r"}), EVERYONE, [f"missed-{number}"])
    store.keep(lost("pid-1", rooms=("r",)))
    take = store._take  # the store's Lua script (private): run it, then have an emit logged

    def take_then_log(**kwargs: Any) -> Any:
        taken = take(**kwargs)
        other_process.log("/", frozenset({"r"}), EVERYONE, ["logged-meanwhile"])
        return taken

    store._take = take_then_log  # type: ignore[method-assign]

    restored = store.restore("pid-1", offset, "/")

    assert restored is not None
    missed = [f"missed-{number}" for number in range(already_logged)]
    assert [packet.data[0] for packet in restored[1]] == [*missed, "logged-meanwhile"]
