"""Redis going away and coming back: nothing the store was told is silently lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore
from tests.production._support import Process, free_port, redis_server_or_skip

from ._sessions import EVERYONE, connected


def _redis_on(port: int, logs: Path, name: str) -> Process:
    argv = [redis_server_or_skip(), "--bind", "127.0.0.1", "--port", str(port)]
    return Process(name, [*argv, "--save", "", "--appendonly", "no"], port, logs)


def test_tracked_states_noted_while_redis_is_away_are_written_once_it_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    first = _redis_on(port, tmp_path, "redis-first")
    # Intervals long enough that only the test's flush() calls write.
    store = RedisStreamRecoveryStore(
        url,
        track_interval=60,
        heartbeat_interval=30,
        liveness_timeout=60,
        max_disconnection_duration=120,
        redis_options={"socket_timeout": 5},
    )
    first.terminate()
    second = None
    try:
        store.track(connected("pid-1", rooms=("red",)))
        with pytest.raises(redis.ConnectionError):
            store.flush()

        second = _redis_on(port, tmp_path, "redis-second")
        store.flush()

        record = redis.Redis.from_url(url).hgetall(f"{store.key_prefix}:session:pid-1")
        assert record[b"n"] == b"/" and record[b"l"] == b""
        offset = store.log("/", EVERYONE, EVERYONE, ["news"])
        store.close()
        other = RedisStreamRecoveryStore(url)
        restored = other.restore("pid-1", offset, "/")
        other.close()
        assert restored is not None and restored[0].rooms == {"sid-1", "red"}
    finally:
        if second is not None:
            second.terminate()
