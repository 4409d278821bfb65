"""Sessions tracked by a process that dies: restorable through another, for one window.

The owning store runs in a real child process (``_owner.py``) that tracks
sessions of connected clients; the test kills or stops it and restores
through a store of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore

from ._sessions import EVERYONE, SESSIONS_OF_AN_OWNER, TIMEOUT, wait_for

MakeStore = Callable[..., RedisStreamRecoveryStore]
SESSIONS = SESSIONS_OF_AN_OWNER


def _kill(child: subprocess.Popen[bytes], how: signal.Signals = signal.SIGKILL) -> None:
    os.kill(child.pid, how)
    if how == signal.SIGKILL:
        child.wait(TIMEOUT)


def test_sessions_of_a_process_killed_with_kill_9_are_restored_through_another(
    make_store: MakeStore, start_owner: Callable[..., subprocess.Popen[bytes]]
) -> None:
    child = start_owner(heartbeat=0.2, liveness=10, window=60)
    store = make_store(max_disconnection_duration=60)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.log("/", frozenset({"team"}), EVERYONE, ["to the team"])
    store.log("/", frozenset({"others"}), EVERYONE, ["to others"])
    assert store.restore("pid-0", offset, "/") is None  # its process is alive

    _kill(child)
    killed_at = time.time()
    # Well within the 10 s liveness timeout: Redis saw the process's connection close.
    restored = wait_for(lambda: store.restore("pid-0", offset, "/"), timeout=5)

    session, packets = restored
    assert (session.sid, session.rooms, session.saved_session) == (
        "sid-0",
        {"sid-0", "team"},
        {"n": 0},
    )
    assert session.lost_at is not None and session.lost_at <= killed_at
    assert [packet.data[0] for packet in packets] == ["to the team"]
    others = [store.restore(f"pid-{n}", offset, "/") for n in range(1, SESSIONS)]
    assert [result[0].sid for result in others if result] == [
        f"sid-{n}" for n in range(1, SESSIONS)
    ]
    assert make_store().restore("pid-1", offset, "/") is None  # once only


def test_sessions_of_a_killed_process_are_restored_once_its_liveness_key_expires(
    make_store: MakeStore,
    start_owner: Callable[..., subprocess.Popen[bytes]],
    redis_client: redis.Redis,
) -> None:
    child = start_owner(heartbeat=0.2, liveness=1, window=60)
    store = make_store(max_disconnection_duration=60, detect_closed_connections=False)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    alive_keys = redis_client.keys(f"{store.key_prefix}:process:*:alive")
    alive_keys.remove(f"{store.key_prefix}:process:{store.owner}:alive".encode())

    _kill(child)
    restored = wait_for(lambda: store.restore("pid-0", offset, "/"))

    assert restored[0].sid == "sid-0"
    assert not redis_client.exists(*alive_keys)


def test_sessions_of_a_hung_process_are_restored_once_its_liveness_key_expires(
    make_store: MakeStore,
    start_owner: Callable[..., subprocess.Popen[bytes]],
    redis_client: redis.Redis,
) -> None:
    child = start_owner(heartbeat=0.2, liveness=3, window=60)
    store = make_store(max_disconnection_duration=60)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    alive_keys = redis_client.keys(f"{store.key_prefix}:process:*:alive")
    alive_keys.remove(f"{store.key_prefix}:process:{store.owner}:alive".encode())

    _kill(child, signal.SIGSTOP)  # its connections stay open; its heartbeats stop
    assert store.restore("pid-0", offset, "/") is None
    restored = wait_for(lambda: store.restore("pid-0", offset, "/"))

    assert restored[0].sid == "sid-0"
    assert not redis_client.exists(*alive_keys)


def test_sessions_of_a_process_dead_for_longer_than_the_window_are_not_restored(
    make_store: MakeStore,
    start_owner: Callable[..., subprocess.Popen[bytes]],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    child = start_owner(heartbeat=0.1, liveness=0.5, window=1.5)
    store = make_store(max_disconnection_duration=1.5, heartbeat_interval=0.1, liveness_timeout=0.5)
    seen_keys = redis_client.keys(f"{key_prefix}:process:*:seen")
    seen_keys.remove(f"{key_prefix}:process:{store.owner}:seen".encode())

    _kill(child)
    wait_for(lambda: not redis_client.exists(*seen_keys))
    offset = store.log("/", EVERYONE, EVERYONE, ["after the window"])

    assert store.restore("pid-0", offset, "/") is None
    assert not redis_client.exists(f"{key_prefix}:session:pid-0")
