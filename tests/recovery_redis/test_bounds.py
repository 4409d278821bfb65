"""Many sessions lost at once, and clients that never come back: Redis memory stays bounded."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgpack
import redis

from flask_sockevents.recovery_redis import SESSION_OVERHEAD_BYTES, RedisStreamRecoveryStore

from ._sessions import EVERYONE, lost, wait_for

MakeStore = Callable[..., RedisStreamRecoveryStore]
LOST = 10_000


def _used_memory(redis_client: redis.Redis) -> int:
    return int(redis_client.info("memory")["used_memory"])


def _session_keys(redis_client: redis.Redis, key_prefix: str) -> int:
    return sum(1 for _ in redis_client.scan_iter(f"{key_prefix}:session:*", count=1000))


def test_10000_sessions_lost_at_once_take_the_documented_memory_and_are_each_restorable(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    sessions = [
        lost(f"pid-{n:06d}", sid=f"sid-{n:06d}", rooms=("team",), saved_session={"user": n})
        for n in range(LOST)
    ]
    before = _used_memory(redis_client)

    for session in sessions:
        store.keep(session)

    per_session = (_used_memory(redis_client) - before) / LOST
    encoded = sum(
        len(msgpack.packb([s.sid, sorted(s.rooms), s.saved_session])) + len(s.pid) for s in sessions
    )
    documented = SESSION_OVERHEAD_BYTES + encoded / LOST
    print(f"{per_session:.0f} bytes per session, documented {documented:.0f}")
    assert per_session <= 1.5 * documented, (per_session, documented)
    assert _session_keys(redis_client, key_prefix) == LOST
    other = make_store()
    for session in sessions[:: LOST // 100]:
        assert other.restore(session.pid, offset, "/") == (session, [])


def test_sessions_whose_clients_never_come_back_leave_nothing_after_the_window(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_disconnection_duration=2, heartbeat_interval=0.1, liveness_timeout=1)
    store.log("/", EVERYONE, EVERYONE, ["news"])
    for n in range(LOST):
        store.keep(lost(f"pid-{n}", sid=f"sid-{n}"))
    store.close()

    wait_for(lambda: _session_keys(redis_client, key_prefix) == 0)
    wait_for(lambda: not redis_client.keys(f"{key_prefix}:*"))


def test_at_most_max_sessions_lost_sessions_are_kept_the_first_lost_leaving_first(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_sessions=100)
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])
    now = time.time()

    for n in range(150):
        store.keep(lost(f"pid-{n}", sid=f"sid-{n}", lost_at=now - 150 + n))

    assert _session_keys(redis_client, key_prefix) == 100
    assert redis_client.zcard(f"{key_prefix}:lost") == 100
    assert store.restore("pid-49", offset, "/") is None
    assert store.restore("pid-50", offset, "/") is not None
    assert store.restore("pid-149", offset, "/") is not None
    assert redis_client.zcard(f"{key_prefix}:lost") == 98


def test_restored_and_forgotten_sessions_leave_the_index_of_lost_sessions(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])
    for n in range(3):
        store.keep(lost(f"pid-{n}", sid=f"sid-{n}"))

    store.forget("pid-0")
    store.restore("pid-1", offset, "/")

    assert redis_client.zrange(f"{key_prefix}:lost", 0, -1) == [b"pid-2"]
