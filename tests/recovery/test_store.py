"""The in-memory store and the options of connection state recovery, in-process."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents.recovery import (
    MemoryRecoveryStore,
    RecoveryOptions,
    make_store,
    recovery_options,
)
from flask_sockevents.recovery_store import RecoveryStore, SessionState

NOW = 1_000_000.0


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _session(pid: str = "pid-1", rooms: tuple[str, ...] = ("r",), **fields: Any) -> SessionState:
    values: dict[str, Any] = {
        "sid": "sid-1",
        "namespace": "/",
        "saved_session": {},
        "lost_at": NOW,
        **fields,
    }
    return SessionState(pid, rooms=frozenset({values["sid"], *rooms}), **values)


def _store(**options: Any) -> tuple[MemoryRecoveryStore, Clock]:
    clock = Clock()
    return MemoryRecoveryStore(clock=clock, **options), clock


def _log(store: MemoryRecoveryStore, text: str, rooms: tuple[str, ...] = (), **kw: Any) -> str:
    return store.log(
        kw.get("namespace", "/"), frozenset(rooms), frozenset(kw.get("skip", ())), ["news", text]
    )


def test_the_memory_store_keeps_the_recovery_store_contract() -> None:
    assert isinstance(MemoryRecoveryStore(), RecoveryStore)


def test_a_logged_packet_keeps_its_offset_as_last_argument() -> None:
    store, _ = _store()
    first = _log(store, "a")
    store.keep(_session())
    offset = _log(store, "b")
    restored = store.restore("pid-1", first, "/")
    assert restored is not None
    assert restored[1][0].data == ["news", "b", offset]
    assert offset != first


def test_restore_gives_the_packets_after_the_offset_that_reached_the_rooms_in_order() -> None:
    store, _ = _store()
    offset = _log(store, "seen")
    store.keep(_session(rooms=("r",)))
    _log(store, "to-r", ("r",))
    _log(store, "to-other", ("other",))
    _log(store, "to-all")
    _log(store, "all-but-it", skip=("sid-1",))
    _log(store, "to-it", ("sid-1",))
    _log(store, "other-namespace", namespace="/chat")
    restored = store.restore("pid-1", offset, "/")
    assert restored is not None
    session, missed = restored
    assert session.sid == "sid-1"
    assert [p.data[1] for p in missed] == ["to-r", "to-all", "to-it"]


def test_a_session_is_restored_once() -> None:
    store, _ = _store()
    offset = _log(store, "a")
    store.keep(_session())
    assert store.restore("pid-1", offset, "/") is not None
    assert store.restore("pid-1", offset, "/") is None


def test_a_session_is_restored_in_its_own_namespace_only() -> None:
    store, _ = _store()
    offset = _log(store, "a", namespace="/chat")
    store.keep(_session())
    assert store.restore("pid-1", offset, "/chat") is None


def test_a_forgotten_session_is_not_restored() -> None:
    store, _ = _store()
    offset = _log(store, "a")
    store.keep(_session())
    store.forget("pid-1")
    assert store.restore("pid-1", offset, "/") is None


@pytest.mark.parametrize("offset", ["", "nonsense", "{token}", "{token}-zz", "{token}-5", "x-0"])
def test_an_offset_this_store_never_gave_restores_nothing(offset: str) -> None:
    store, _ = _store()
    token = _log(store, "a").partition("-")[0]
    store.keep(_session())
    assert store.restore("pid-1", offset.format(token=token), "/") is None


def test_an_offset_from_another_store_restores_nothing() -> None:
    store, _ = _store()
    other, _ = _store()
    _log(store, "a")
    store.keep(_session())
    assert store.restore("pid-1", _log(other, "a"), "/") is None


def test_a_session_expires_after_max_disconnection_duration() -> None:
    store, clock = _store(max_disconnection_duration=1)
    offset = _log(store, "a")
    store.keep(_session())
    clock.now = NOW + 1.5
    assert store.restore("pid-1", offset, "/") is None


def test_a_client_that_never_comes_back_is_freed_by_the_next_call() -> None:
    store, clock = _store(max_disconnection_duration=1)
    store.keep(_session())
    assert store.session_count() == 1
    clock.now = NOW + 1.5
    _log(store, "anything")
    assert store.session_count() == 0


def test_purge_drops_expired_sessions_packets_and_empty_logs() -> None:
    store, clock = _store(max_disconnection_duration=1)
    _log(store, "a")
    store.keep(_session())
    clock.now = NOW + 1.5
    store.purge()
    assert store.session_count() == 0
    assert store.packet_count("/") == 0


def test_packets_older_than_the_window_leave_the_log() -> None:
    store, clock = _store(max_disconnection_duration=10)
    for text in "abc":
        _log(store, text)
    clock.now = NOW + 11
    _log(store, "d")
    assert store.packet_count("/") == 1


def test_the_log_at_its_count_cap_drops_the_oldest_packets() -> None:
    store, _ = _store(max_packets=100)
    offsets = [_log(store, str(i)) for i in range(150)]
    assert store.packet_count("/") == 100
    store.keep(_session())
    assert store.restore("pid-1", offsets[10], "/") is None  # fell off: a new session
    store.keep(_session())
    restored = store.restore("pid-1", offsets[49], "/")  # the newest packet that left
    assert restored is not None
    assert [p.data[1] for p in restored[1]] == [str(i) for i in range(50, 150)]


def test_the_log_at_its_byte_cap_drops_the_oldest_packets() -> None:
    store, _ = _store(max_bytes=10_000)
    offsets = [
        store.log("/", frozenset(), frozenset(), ["news", str(i) + "x" * 1000]) for i in range(30)
    ]
    assert store.packet_bytes("/") <= 10_000
    assert store.packet_count("/") == 9
    store.keep(_session())
    assert store.restore("pid-1", offsets[0], "/") is None


def test_binary_data_is_counted_by_its_length() -> None:
    store, _ = _store()
    store.log("/", frozenset(), frozenset(), ["blob", b"\x00" * 50_000])
    assert 50_000 <= store.packet_bytes("/") < 50_100


def test_the_oldest_sessions_leave_past_max_sessions() -> None:
    store, _ = _store(max_sessions=2)
    for n in range(3):
        store.keep(_session(f"pid-{n}", sid=f"sid-{n}"))
    assert store.session_count() == 2
    offset = _log(store, "a")
    assert store.restore("pid-0", offset, "/") is None
    assert store.restore("pid-2", offset, "/") is not None


def test_a_client_whose_last_packet_aged_out_of_the_log_still_recovers() -> None:
    store, clock = _store(max_disconnection_duration=10)
    offset = _log(store, "long ago")
    clock.now = NOW + 30  # the packet aged out; the client was connected all along
    store.purge()
    assert store.packet_count("/") == 0
    store.keep(_session(lost_at=clock.now))
    clock.now += 5
    restored = store.restore("pid-1", offset, "/")
    assert restored is not None and restored[1] == []


def test_packets_logged_after_an_aged_out_one_are_replayed() -> None:
    store, clock = _store(max_disconnection_duration=10)
    offset = _log(store, "long ago")
    clock.now = NOW + 30
    store.keep(_session(lost_at=clock.now))
    _log(store, "during the gap", ("r",))
    restored = store.restore("pid-1", offset, "/")
    assert restored is not None
    assert [p.data[1] for p in restored[1]] == ["during the gap"]


# -- options ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, False])
def test_recovery_is_off_by_default(value: Any) -> None:
    assert recovery_options(value) is None


def test_true_turns_recovery_on_with_the_defaults() -> None:
    assert recovery_options(True) == RecoveryOptions(
        max_disconnection_duration=120,
        skip_guards=True,
        max_packets=10_000,
        max_bytes=5_000_000,
        max_sessions=100_000,
    )


def test_a_dict_sets_the_options() -> None:
    options = recovery_options({"max_disconnection_duration": 2, "skip_guards": False})
    assert options == RecoveryOptions(max_disconnection_duration=2.0, skip_guards=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yes", "must be True, False or a dict"),
        ({"max_disconnection": 1}, "unknown option.*'max_disconnection'"),
        ({"max_disconnection_duration": 0}, "max_disconnection_duration must be a positive"),
        ({"max_disconnection_duration": "1"}, "max_disconnection_duration must be a positive"),
        ({"max_packets": 0}, "max_packets must be a positive integer"),
        ({"max_bytes": 1.5}, "max_bytes must be a positive integer"),
        ({"max_sessions": True}, "max_sessions must be a positive integer"),
        ({"skip_guards": "no"}, "skip_guards must be True or False"),
        ({"store": object()}, "store must implement RecoveryStore"),
    ],
)
def test_a_bad_option_is_refused_saying_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recovery_options(value)


def test_a_given_store_is_used() -> None:
    store = MemoryRecoveryStore()
    options = recovery_options({"store": store})
    assert options is not None
    assert make_store(options, "redis://localhost") is store


def test_without_a_message_queue_the_store_is_in_memory_with_the_options() -> None:
    store = make_store(RecoveryOptions(max_disconnection_duration=3, max_packets=7))
    assert isinstance(store, MemoryRecoveryStore)
    assert (store.max_disconnection_duration, store.max_packets) == (3, 7)


def test_the_config_key_turns_recovery_on() -> None:
    from flask import Flask

    from flask_sockevents import SockEvents

    app = Flask(__name__)
    app.config["SOCKEVENTS_CONNECTION_STATE_RECOVERY"] = {"max_disconnection_duration": 5}
    sockevents = SockEvents(app)
    assert sockevents.server is not None and sockevents.server.recovery is not None
    assert sockevents.server.recovery.options.max_disconnection_duration == 5


def test_a_bad_option_fails_at_init_app() -> None:
    from flask import Flask

    from flask_sockevents import SockEvents

    with pytest.raises(ValueError, match="connection_state_recovery"):
        SockEvents(Flask(__name__), connection_state_recovery={"max_packets": -1})


def test_another_message_queue_needs_a_shared_store() -> None:
    with pytest.raises(ValueError, match="needs a store shared by every process"):
        make_store(RecoveryOptions(), "amqp://guest@localhost//")


def test_a_redis_message_queue_asks_for_the_redis_streams_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flask_sockevents import recovery

    asked: list[tuple[str, str]] = []

    def redis_store(url: str, options: RecoveryOptions, channel: str) -> MemoryRecoveryStore:
        asked.append((url, channel))
        return MemoryRecoveryStore()

    monkeypatch.setattr(recovery, "redis_recovery_store", redis_store)
    make_store(RecoveryOptions(), "redis+sentinel://localhost:26379", "chan")
    make_store(RecoveryOptions(), "rediss://localhost:6380/0")
    assert asked == [
        ("redis+sentinel://localhost:26379", "chan"),
        ("rediss://localhost:6380/0", "flask-socketio"),
    ]


def test_packet_size_is_the_compact_json_length() -> None:
    from flask_sockevents.recovery_memory import packet_size

    assert packet_size(["news", {"text": "hi", "n": 1}]) == len('["news",{"text":"hi","n":1}]')


def test_packet_size_of_what_json_cannot_encode_is_still_counted() -> None:
    from flask_sockevents.recovery_memory import packet_size

    circular: list[Any] = ["news"]
    circular.append(circular)
    assert packet_size(circular) > 0
    assert packet_size(["news", {1: object()}]) > 0
