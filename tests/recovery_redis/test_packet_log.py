"""The packet log: offsets, order, filtering by rooms, encoding, and its bounds."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import msgpack
import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore

from ._sessions import EVERYONE, lost, wait_for

MakeStore = Callable[..., RedisStreamRecoveryStore]


def _names(restored: object) -> list[str]:
    assert restored is not None
    _, packets = restored  # type: ignore[misc]
    return [packet.data[0] for packet in packets]


def test_missed_packets_come_back_in_order_when_they_reached_the_session_s_rooms(
    make_store: MakeStore,
) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1", sid="sid-1", rooms=("red",)))
    store.log("/", EVERYONE, EVERYONE, ["to everyone"])
    store.log("/", frozenset({"red"}), EVERYONE, ["to red"])
    store.log("/", frozenset({"blue"}), EVERYONE, ["to blue"])
    store.log("/", EVERYONE, frozenset({"red"}), ["to everyone but red"])
    store.log("/", frozenset({"sid-1"}), EVERYONE, ["to sid-1"])
    store.log("/", EVERYONE, frozenset({"sid-1"}), ["to everyone but sid-1"])
    store.log("/", frozenset({"blue", "red"}), EVERYONE, ["to blue and red"])
    store.log("/", frozenset({"red"}), frozenset({"blue"}), ["to red but blue"])
    store.log("/other", EVERYONE, EVERYONE, ["to another namespace"])

    names = _names(store.restore("pid-1", offset, "/"))

    assert names == ["to everyone", "to red", "to sid-1", "to blue and red", "to red but blue"]


def test_each_missed_packet_ends_with_its_offset_and_offsets_increase(
    make_store: MakeStore,
) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1"))
    logged = [store.log("/", EVERYONE, EVERYONE, ["news", n]) for n in range(5)]

    restored = store.restore("pid-1", offset, "/")

    assert restored is not None
    packets = restored[1]
    assert [packet.offset for packet in packets] == logged
    assert [packet.data for packet in packets] == [["news", n, logged[n]] for n in range(5)]
    assert all(packet.namespace == "/" for packet in packets)
    milliseconds_and_sequences = [tuple(map(int, o.split("-"))) for o in logged]
    assert milliseconds_and_sequences == sorted(milliseconds_and_sequences)


def test_binary_arguments_come_back_as_bytes_and_strings_as_strings(make_store: MakeStore) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1"))
    data = ["file", b"\x00\xff\x10", "\x00\xff", {"chunk": b"\x01", "name": "a.bin"}, [b"", 1.5]]
    logged = store.log("/", EVERYONE, EVERYONE, data)

    restored = store.restore("pid-1", offset, "/")

    assert restored is not None
    assert restored[1][0].data == [*data, logged]
    assert type(restored[1][0].data[1]) is bytes
    assert type(restored[1][0].data[2]) is str


def test_a_value_msgpack_cannot_encode_is_refused_with_an_error_naming_it(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store()

    with pytest.raises(TypeError, match="connection state recovery"):
        store.log("/", EVERYONE, EVERYONE, ["when", datetime.datetime(2026, 1, 1)])

    assert redis_client.xlen(f"{key_prefix}:log:/") == 0


def test_the_log_of_a_namespace_keeps_at_most_max_packets(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_packets=5)
    offsets = [store.log("/", EVERYONE, EVERYONE, ["news", n]) for n in range(8)]
    store.log("/other", EVERYONE, EVERYONE, ["elsewhere"])
    for pid in ("pid-missed-a-pushed-out-packet", "pid-missed-none", "pid-later"):
        store.keep(lost(pid))

    assert redis_client.xlen(f"{key_prefix}:log:/") == 5
    assert redis_client.xlen(f"{key_prefix}:log:/other") == 1
    # offsets[2] was pushed out, so a client that received only offsets[1] missed it.
    assert store.restore("pid-missed-a-pushed-out-packet", offsets[1], "/") is None
    assert _names(store.restore("pid-missed-none", offsets[2], "/")) == ["news"] * 5
    assert _names(store.restore("pid-later", offsets[4], "/")) == ["news"] * 3


def test_the_log_of_a_namespace_keeps_at_most_max_bytes_of_packets(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    data = ["news", "x" * 300]
    size = len(msgpack.packb([[], [], data], use_bin_type=True))
    store = make_store(max_bytes=1000)
    offsets = [store.log("/", EVERYONE, EVERYONE, data) for _ in range(10)]
    kept = 1000 // size
    store.keep(lost("pid-missed-a-pushed-out-packet"))
    store.keep(lost("pid-missed-none"))

    assert redis_client.xlen(f"{key_prefix}:log:/") == kept
    assert int(redis_client.hget(f"{key_prefix}:log:/:meta", "bytes") or 0) == kept * size
    pushed_out = offsets[-kept - 1]
    assert store.restore("pid-missed-a-pushed-out-packet", offsets[-kept - 2], "/") is None
    assert len(_names(store.restore("pid-missed-none", pushed_out, "/"))) == kept


def test_the_newest_packet_is_kept_even_when_larger_than_max_bytes(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_bytes=100)
    store.log("/", EVERYONE, EVERYONE, ["small"])
    offset = store.log("/", EVERYONE, EVERYONE, ["large", "x" * 1000])
    store.keep(lost("pid-1"))

    assert redis_client.xlen(f"{key_prefix}:log:/") == 1
    assert store.restore("pid-1", offset, "/") is not None


def test_packets_older_than_the_window_are_trimmed_at_the_next_log(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_disconnection_duration=1, heartbeat_interval=0.1, liveness_timeout=0.5)
    store.log("/", EVERYONE, EVERYONE, ["old"])
    logged_at = time.time()
    wait_for(lambda: time.time() > logged_at + 1.1)

    store.log("/", EVERYONE, EVERYONE, ["new"])

    assert [fields[b"p"] for _, fields in redis_client.xrange(f"{key_prefix}:log:/")] == [
        msgpack.packb([[], [], ["new"]], use_bin_type=True)
    ]


def test_an_offset_that_left_the_log_for_its_age_restores_the_packets_after_it(
    make_store: MakeStore,
) -> None:
    # Logged before the window, it was received by a client connected then: the
    # client missed nothing that left the log.
    store = make_store(max_disconnection_duration=1, heartbeat_interval=0.1, liveness_timeout=0.5)
    old = store.log("/", EVERYONE, EVERYONE, ["old"])
    logged_at = time.time()
    wait_for(lambda: time.time() > logged_at + 1.1)
    store.keep(lost("pid-1"))
    store.log("/", EVERYONE, EVERYONE, ["new"])

    assert _names(store.restore("pid-1", old, "/")) == ["new"]


def test_the_log_of_a_namespace_that_stays_quiet_for_the_window_disappears(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_disconnection_duration=1, heartbeat_interval=0.1, liveness_timeout=0.5)
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])

    wait_for(lambda: not redis_client.exists(f"{key_prefix}:log:/", f"{key_prefix}:log:/:meta"))
    store.keep(lost("pid-1"))

    assert _names(store.restore("pid-1", offset, "/")) == []


def test_a_long_log_is_read_in_chunks_of_read_count(
    make_store: MakeStore, redis_client: redis.Redis
) -> None:
    store = make_store(read_count=3)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1"))
    for n in range(30):
        store.log("/", EVERYONE, EVERYONE, ["news", n])
    xrange_calls = redis_client.info("commandstats")["cmdstat_xrange"]["calls"]

    restored = store.restore("pid-1", offset, "/")

    assert restored is not None
    assert [packet.data[1] for packet in restored[1]] == list(range(30))
    calls = redis_client.info("commandstats")["cmdstat_xrange"]["calls"] - xrange_calls
    assert calls >= 30 // 3


def test_the_byte_count_of_a_new_stream_starts_afresh(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    data = ["news", "hello"]
    redis_client.hset(f"{key_prefix}:log:/:meta", "bytes", 10**9)  # left by a gone stream
    store = make_store(max_bytes=1000)

    store.log("/", EVERYONE, EVERYONE, data)
    store.log("/", EVERYONE, EVERYONE, data)

    size = len(msgpack.packb([[], [], data], use_bin_type=True))
    assert redis_client.xlen(f"{key_prefix}:log:/") == 2
    assert int(redis_client.hget(f"{key_prefix}:log:/:meta", "bytes") or 0) == 2 * size
