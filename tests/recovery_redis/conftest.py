"""A real ``redis-server`` on a free loopback port, stores on it that each test closes,
and a child process owning tracked sessions."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore
from tests.production._support import ROOT, redis_server

from ._sessions import SESSIONS_OF_AN_OWNER, TIMEOUT, wait_for


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
    """Makes stores (each one a "process") on the test's prefix, on ``url`` (the test
    server by default); closes them after the test."""
    stores: list[RedisStreamRecoveryStore] = []

    def make(url: str | None = None, **options: Any) -> RedisStreamRecoveryStore:
        store = RedisStreamRecoveryStore(url or redis_url, key_prefix=key_prefix, **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def start_owner(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts ``_owner.py`` (on ``url``, the test server by default) and waits until it
    tracks its sessions; kills it after the test."""
    children: list[subprocess.Popen[bytes]] = []

    def start(
        heartbeat: float, liveness: float, window: float, url: str | None = None
    ) -> subprocess.Popen[bytes]:
        output = tmp_path / f"owner-{len(children)}.out"
        argv = [sys.executable, "-m", "tests.recovery_redis._owner", url or redis_url, key_prefix]
        argv += [str(SESSIONS_OF_AN_OWNER), str(heartbeat), str(liveness), str(window)]
        with open(output, "wb") as out:
            child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        children.append(child)
        wait_for(
            lambda: child.poll() is not None or b"ready" in output.read_bytes(),
            message="the owning process did not track its sessions",
        )
        assert child.poll() is None, output.read_text()
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(TIMEOUT)
