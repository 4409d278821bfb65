"""Which manager a message queue URL gets, and that queue messages are only ever read as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from flask_sockevents import SockEvents
from flask_sockevents.queues import (
    CheckedRedisManager,
    JSONKombuManager,
    message_problem,
    queue_manager,
)

unpickled: list[str] = []


def _record_unpickling(marker: str) -> str:
    unpickled.append(marker)
    return marker


class Exploit:
    """Unpickling it calls a function: what an attacker's pickle on the queue would do."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_record_unpickling, ("unpickled",))


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://cache:6380", "unix:///run/redis.sock", "valkey://v"],
)
def test_redis_and_valkey_urls_get_the_checked_redis_manager(url: str) -> None:
    manager = queue_manager(url)

    assert type(manager) is CheckedRedisManager
    assert isinstance(manager, socketio.RedisManager)


def test_other_urls_get_the_json_only_kombu_manager() -> None:
    pytest.importorskip("kombu")
    assert type(queue_manager("memory://")) is JSONKombuManager


def test_an_app_less_extension_only_publishes() -> None:
    sockevents = SockEvents(message_queue="redis://127.0.0.1:1/0")
    assert sockevents.server is not None
    assert sockevents.server.manager.write_only is True


@pytest.fixture
def pickle_enabled() -> Iterator[None]:
    """Kombu as a Celery app accepting pickle leaves it: insecure serializers enabled."""
    serialization = pytest.importorskip("kombu.serialization")
    serialization.enable_insecure_serializers()
    yield
    serialization.disable_insecure_serializers()


def test_the_kombu_manager_drops_a_pickled_message_without_unpickling_it(
    pickle_enabled: None,
) -> None:
    import kombu

    manager = JSONKombuManager("memory://", channel=f"test-{uuid.uuid4().hex}")
    queue = kombu.Queue(f"reader-{uuid.uuid4().hex}", manager._exchange(), durable=False)
    manager._queue = lambda: queue  # type: ignore[method-assign]
    message = {"method": "emit", "event": "news", "data": ["hi"], "host_id": "other"}
    with kombu.Connection("memory://") as connection:
        queue(connection.default_channel).declare()
        producer = connection.Producer(exchange=manager._exchange())
        producer.publish(Exploit(), serializer="pickle")
        producer.publish(json.dumps(message), serializer="json")
    received = next(manager._listen())
    assert received == message
    assert manager.dropped_messages == {}
    assert unpickled == []


VALID_EMIT = {
    "method": "emit",
    "event": "news",
    "data": ["hi"],
    "namespace": "/",
    "room": None,
    "skip_sid": None,
    "callback": None,
    "binary": False,
    "host_id": "other",
}


@pytest.mark.parametrize(
    "message",
    [
        VALID_EMIT,
        {"method": "disconnect", "sid": "abc", "namespace": "/"},
        {"method": "enter_room", "sid": "abc", "room": "lobby", "namespace": "/"},
        {"method": "leave_room", "sid": "abc", "room": "lobby", "namespace": None},
        {"method": "close_room", "room": "lobby", "namespace": "/"},
        {"method": "callback", "host_id": "h", "sid": "abc", "id": 1, "args": []},
        {**VALID_EMIT, "callback": ["room", "/", 3]},
        {**VALID_EMIT, "binary": True, "data": [{"_placeholder": True, "num": 0}, "AAEC"]},
    ],
)
def test_every_message_python_socketio_publishes_is_accepted(message: dict[str, Any]) -> None:
    assert message_problem(message) is None


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ([1, 2, "method"], "not a JSON object"),
        ("method", "not a JSON object"),
        (42, "not a JSON object"),
        (None, "not a JSON object"),
        ({"data": ["hi"]}, "unknown method"),
        ({"method": "explode"}, "unknown method"),
        ({"method": ["emit"]}, "unknown method"),
        ({"method": "emit", "data": ["hi"]}, "emit without event"),
        ({"method": "emit", "event": "news"}, "emit without data"),
        ({**VALID_EMIT, "data": "hi"}, "emit with a malformed data"),
        ({**VALID_EMIT, "event": 7}, "emit with a malformed event"),
        ({**VALID_EMIT, "namespace": 5}, "emit with a malformed namespace"),
        ({**VALID_EMIT, "callback": ["room", "/"]}, "emit with a malformed callback"),
        ({**VALID_EMIT, "binary": True, "data": []}, "emit with malformed binary attachments"),
        ({**VALID_EMIT, "binary": True, "data": [{}, 5]}, "emit with malformed binary attachments"),
        ({"method": "disconnect"}, "disconnect without sid"),
        ({"method": "enter_room", "sid": "a", "room": {"x": 1}},
         "enter_room with a malformed room"),
        ({"method": "callback", "host_id": "h", "sid": "a", "id": True, "args": []},
         "callback with a malformed id"),
    ],
)  # fmt: skip
def test_a_message_it_cannot_handle_is_named_with_its_problem(message: Any, problem: str) -> None:
    assert message_problem(message) == problem


def test_garbage_from_the_channel_is_dropped_and_counted_and_the_next_message_kept() -> None:
    manager = queue_manager("redis://127.0.0.1:1/0")
    manager.max_message_size = 1000
    raw = [
        b"[1, 2, 3]",
        b"not json at all",
        b'{"method": "emit"}',
        b'"method"',
        b"{" + b" " * 2000 + b"}",
        json.dumps(VALID_EMIT).encode(),
    ]

    received = list(manager._checked(iter(raw)))

    assert received == [VALID_EMIT]
    assert manager.dropped_messages == {
        "not a JSON object": 2,
        "not JSON": 1,
        "emit without event": 1,
        "larger than 1000 bytes": 1,
    }


def test_the_kombu_manager_drops_json_it_cannot_handle_and_keeps_the_next_message() -> None:
    kombu = pytest.importorskip("kombu")
    manager = JSONKombuManager("memory://", channel=f"test-{uuid.uuid4().hex}")
    queue = kombu.Queue(f"reader-{uuid.uuid4().hex}", manager._exchange(), durable=False)
    manager._queue = lambda: queue  # type: ignore[method-assign]
    with kombu.Connection("memory://") as connection:
        queue(connection.default_channel).declare()
        producer = connection.Producer(exchange=manager._exchange())
        producer.publish(json.dumps([1, 2, "method"]), serializer="json")
        producer.publish(json.dumps({"method": "emit"}), serializer="json")
        producer.publish(json.dumps(VALID_EMIT), serializer="json")

    assert next(manager._listen()) == VALID_EMIT
    assert manager.dropped_messages == {"not a JSON object": 1, "emit without event": 1}


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "memory://"])
def test_a_client_still_in_its_connect_handler_enters_and_leaves_rooms_here(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connect handler's join_room: the client is this process's, so the room
    # is entered here; a change sent through the queue would come back while
    # the client is still connecting, and be dropped.
    if url == "memory://":
        pytest.importorskip("kombu")
    manager = queue_manager(url)
    socketio.Server(client_manager=manager)
    published: list[dict[str, Any]] = []
    monkeypatch.setattr(manager, "_publish", published.append)
    sid = manager.pre_connect("eio-sid", "/")
    manager.enter_room(sid, "/", "lobby")
    assert manager.is_pre_connected(sid, "/")
    assert [s for s, _ in manager.get_participants("/", "lobby")] == [sid]
    manager.leave_room(sid, "/", "lobby")
    assert list(manager.get_participants("/", "lobby")) == []
    assert published == []
