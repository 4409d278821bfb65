"""A real ``redis-server`` on a free loopback port, and stores on it that each test closes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore
from tests.production._support import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("recovery_redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key_prefix() -> str:
    """A prefix of its own for each test, so that tests sharing the server never meet."""
    return f"test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_store(
    redis_url: str, key_prefix: str
) -> Iterator[Callable[..., RedisStreamRecoveryStore]]:
    """Makes stores (each one a "process") on the test's prefix; closes them after the test."""
    stores: list[RedisStreamRecoveryStore] = []

    def make(**options: Any) -> RedisStreamRecoveryStore:
        store = RedisStreamRecoveryStore(redis_url, key_prefix=key_prefix, **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
