"""Which manager a message queue URL gets, and that queue messages are only ever read as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from flask_sockevents import SockEvents
from flask_sockevents.queues import JSONKombuManager, queue_manager

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
def test_redis_and_valkey_urls_get_the_redis_manager(url: str) -> None:
    assert type(queue_manager(url)) is socketio.RedisManager


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
    assert json.loads(received) == message
    assert unpickled == []
