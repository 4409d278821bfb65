"""Sessions: kept, tracked, forgotten, and restored exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore
from flask_sockevents.recovery_store import RecoveryStore, SessionState

from ._sessions import EVERYONE, connected, lost, wait_for

MakeStore = Callable[..., RedisStreamRecoveryStore]


def test_the_store_keeps_the_recovery_store_contract(make_store: MakeStore) -> None:
    assert isinstance(make_store(), RecoveryStore)


def test_a_kept_session_is_restored_with_its_sid_rooms_and_managed_session(
    make_store: MakeStore,
) -> None:
    store = make_store()
    offset = store.log("/chat", EVERYONE, EVERYONE, ["before"])
    session = lost(
        "pid-1",
        sid="sid-1",
        rooms=("red", "blue"),
        namespace="/chat",
        saved_session={"user": "ada", "cart": [1, 2], "token": b"\x00"},
    )
    store.keep(session)

    restored = make_store().restore("pid-1", offset, "/chat")

    assert restored == (session, [])


def test_a_session_is_restored_once_only(make_store: MakeStore) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1"))

    assert store.restore("pid-1", offset, "/") is not None
    assert store.restore("pid-1", offset, "/") is None


def test_two_processes_racing_restore_each_session_exactly_once(make_store: MakeStore) -> None:
    writer = make_store()
    offset = writer.log("/", EVERYONE, EVERYONE, ["before"])
    pids = [f"pid-{n}" for n in range(300)]
    for n, pid in enumerate(pids):
        writer.keep(lost(pid, sid=f"sid-{n}"))
    writer.log("/", EVERYONE, EVERYONE, ["missed"])
    restored: dict[str, list[str]] = {"a": [], "b": []}

    def restore_all(name: str, store: RedisStreamRecoveryStore) -> None:
        for pid in pids:
            result = store.restore(pid, offset, "/")
            if result is not None:
                assert [packet.data[0] for packet in result[1]] == ["missed"]
                restored[name].append(pid)

    racers = [threading.Thread(target=restore_all, args=(name, make_store())) for name in restored]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert sorted(restored["a"] + restored["b"]) == sorted(pids)
    assert not set(restored["a"]) & set(restored["b"])


def test_a_kept_session_expires_after_the_window(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_disconnection_duration=1, heartbeat_interval=0.1, liveness_timeout=0.5)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1"))
    store.log("/", EVERYONE, EVERYONE, ["keeps the log alive"])

    wait_for(lambda: not redis_client.exists(f"{key_prefix}:session:pid-1"))

    assert store.restore("pid-1", offset, "/") is None


def test_a_session_lost_longer_ago_than_the_window_is_not_kept(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(max_disconnection_duration=10, heartbeat_interval=0.1, liveness_timeout=0.5)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])

    store.keep(lost("pid-1", lost_at=time.time() - 11))

    assert not redis_client.exists(f"{key_prefix}:session:pid-1")
    assert store.restore("pid-1", offset, "/") is None


@pytest.mark.parametrize(
    "offset", ["99999999999999-0", "1-99999999999999999999", "not-an-offset", "1-2-3", ""]
)
def test_an_offset_that_was_never_given_restores_nothing(
    make_store: MakeStore, offset: str
) -> None:
    store = make_store()
    store.log("/", EVERYONE, EVERYONE, ["news"])
    store.keep(lost("pid-1"))

    assert store.restore("pid-1", offset, "/") is None


def test_an_offset_among_the_logged_ones_that_was_never_given_restores_nothing(
    make_store: MakeStore,
) -> None:
    store = make_store()
    first = store.log("/", EVERYONE, EVERYONE, ["news"])
    store.log("/", EVERYONE, EVERYONE, ["news"])
    store.keep(lost("pid-1"))
    milliseconds, sequence = first.split("-")

    assert store.restore("pid-1", f"{milliseconds}-{int(sequence) + 1000}", "/") is None


def test_an_unknown_pid_restores_nothing(make_store: MakeStore) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])

    assert store.restore("pid-unknown", offset, "/") is None


def test_a_session_asked_for_in_another_namespace_stays_for_its_own(make_store: MakeStore) -> None:
    store = make_store()
    chat = store.log("/chat", EVERYONE, EVERYONE, ["news"])
    other = store.log("/other", EVERYONE, EVERYONE, ["news"])
    store.keep(lost("pid-1", namespace="/chat"))

    assert store.restore("pid-1", other, "/other") is None
    assert store.restore("pid-1", chat, "/chat") is not None


@pytest.mark.parametrize("state", ["kept", "tracked"])
def test_a_forgotten_session_is_not_restored(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str, state: str
) -> None:
    store = make_store()
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])
    if state == "kept":
        store.keep(lost("pid-1"))
    else:
        store.track(connected("pid-1"))
        store.flush()

    store.forget("pid-1")
    store.close()

    assert not redis_client.exists(f"{key_prefix}:session:pid-1")
    assert make_store().restore("pid-1", offset, "/") is None


def test_the_session_of_a_client_connected_to_a_live_process_is_not_restored(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    owner = make_store()
    offset = owner.log("/", EVERYONE, EVERYONE, ["news"])
    owner.track(connected("pid-1"))
    owner.flush()

    assert make_store().restore("pid-1", offset, "/") is None
    assert redis_client.exists(f"{key_prefix}:session:pid-1")


def test_tracked_states_are_written_within_track_interval(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    store = make_store(track_interval=0.05)
    store.track(connected("pid-1"))

    wait_for(lambda: redis_client.exists(f"{key_prefix}:session:pid-1"))


def test_repeated_track_calls_for_a_pid_coalesce_into_one_write_of_the_last_state(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    # Intervals long enough that the background thread writes nothing during the test.
    store = make_store(
        track_interval=60,
        heartbeat_interval=30,
        liveness_timeout=60,
        max_disconnection_duration=120,
    )
    hset_calls = redis_client.info("commandstats")["cmdstat_hset"]["calls"]
    for n in range(100):
        store.track(connected("pid-1", rooms=(f"room-{n}",)))

    store.flush()

    assert redis_client.info("commandstats")["cmdstat_hset"]["calls"] - hset_calls == 1
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])
    store.close()
    restored = make_store().restore("pid-1", offset, "/")
    assert restored is not None
    assert restored[0].rooms == {"sid-1", "room-99"}


def test_keep_overrides_a_tracked_state_not_yet_written(make_store: MakeStore) -> None:
    store = make_store(track_interval=60)
    offset = store.log("/", EVERYONE, EVERYONE, ["news"])
    store.track(connected("pid-1"))
    session = lost("pid-1", saved_session={"user": "ada"})

    store.keep(session)
    store.flush()

    assert make_store().restore("pid-1", offset, "/") == (session, [])


def test_closing_a_store_makes_the_sessions_it_tracked_restorable_at_once(
    make_store: MakeStore,
) -> None:
    owner = make_store()
    offset = owner.log("/", EVERYONE, EVERYONE, ["before"])
    owner.track(connected("pid-1", rooms=("red",)))
    owner.log("/", frozenset({"red"}), EVERYONE, ["to red"])
    closed_at = time.time()

    owner.close()
    restored = make_store().restore("pid-1", offset, "/")

    assert restored is not None
    session, packets = restored
    assert session == SessionState(
        "pid-1", "sid-1", "/", frozenset({"sid-1", "red"}), {"user": "ada"}, session.lost_at
    )
    assert session.lost_at is not None and session.lost_at >= closed_at
    assert [packet.data[0] for packet in packets] == ["to red"]


def test_a_managed_session_msgpack_cannot_encode_is_refused_with_an_error(
    make_store: MakeStore,
) -> None:
    store = make_store()

    with pytest.raises(TypeError, match="connection state recovery"):
        store.keep(lost("pid-1", saved_session={"thing": object()}))
    with pytest.raises(TypeError, match="connection state recovery"):
        store.track(SessionState("pid-2", "sid-2", "/", frozenset({"sid-2"}), {"n": 2**70}))


@pytest.mark.parametrize(
    "options",
    [
        {"heartbeat_interval": 5, "liveness_timeout": 2},
        {"liveness_timeout": 200},
        {"max_packets": 0},
        {"max_bytes": 0},
        {"max_sessions": 0},
    ],
)
def test_bounds_that_do_not_fit_together_are_refused(make_store: MakeStore, options: dict) -> None:
    with pytest.raises(ValueError):
        make_store(**options)


def test_an_unsupported_url_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported Redis URL scheme"):
        RedisStreamRecoveryStore("amqp://localhost")


def test_redis_options_asking_for_decoded_responses_change_nothing(make_store: MakeStore) -> None:
    store = make_store(redis_options={"decode_responses": True})
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-1", saved_session={"token": b"\xff"}))
    store.log("/", EVERYONE, EVERYONE, ["missed", b"\xff"])

    restored = store.restore("pid-1", offset, "/")

    assert restored is not None
    assert restored[0].saved_session == {"token": b"\xff"}
    assert restored[1][0].data[:2] == ["missed", b"\xff"]


def test_stores_on_different_channels_keep_apart(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    chat = make_store(channel="chat")
    game = make_store(channel="game")
    offset = chat.log("/", EVERYONE, EVERYONE, ["news"])
    chat.keep(lost("pid-1"))

    assert game.restore("pid-1", offset, "/") is None
    assert redis_client.exists(f"{key_prefix}:chat:session:pid-1")
    assert chat.restore("pid-1", offset, "/") is not None


def test_a_live_process_renews_its_tracked_sessions_beyond_their_ttl(
    make_store: MakeStore, redis_client: redis.Redis, key_prefix: str
) -> None:
    # Tracked sessions live 1.5 windows + the liveness timeout (2 s here) unless renewed.
    store = make_store(max_disconnection_duration=1, heartbeat_interval=0.1, liveness_timeout=0.5)
    store.track(connected("pid-1"))
    store.flush()
    tracked_at = time.time()

    wait_for(lambda: time.time() > tracked_at + 4)

    assert redis_client.pttl(f"{key_prefix}:session:pid-1") > 0
