"""The store works for a Redis user given only the permissions the documentation lists."""

from __future__ import annotations

import logging
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import pytest
import redis

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore

from ._sessions import EVERYONE, TIMEOUT, lost, wait_for

MakeStore = Callable[..., RedisStreamRecoveryStore]

#: The permissions docs/production.md lists, besides the keys.
DOCUMENTED = (
    "-@all +@stream +@hash +@string +@sortedset +@keyspace +@scripting +@transaction +time "
    "+client|id +client|list +ping +hello +auth"
)


@pytest.fixture
def user_url(
    redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> Iterator[Callable[[str], str]]:
    """Makes a Redis user with ``rules`` on the test's keys; returns its URL."""
    users: list[str] = []

    def make(rules: str) -> str:
        user, password = f"recovery-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        redis_client.acl_setuser(user, enabled=True, reset=True, passwords=[f"+{password}"])
        redis_client.execute_command(
            "ACL", "SETUSER", user, f"~{key_prefix}:*", "resetchannels", *rules.split()
        )
        users.append(user)
        address = urlparse(redis_url).netloc
        return f"redis://{user}:{password}@{address}/0"

    yield make
    for user in users:
        redis_client.acl_deluser(user)


def test_a_user_with_the_documented_permissions_logs_keeps_and_restores(
    user_url: Callable[[str], str],  # before make_store: its users outlive the stores
    make_store: MakeStore,
    start_owner: Callable[..., subprocess.Popen[bytes]],
) -> None:
    url = user_url(DOCUMENTED)
    child = start_owner(heartbeat=0.2, liveness=10, window=60, url=url)
    store = make_store(url=url)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])
    store.keep(lost("pid-kept"))
    store.log("/", EVERYONE, EVERYONE, ["missed"])
    assert store.restore("pid-kept", offset, "/") is not None

    child.send_signal(signal.SIGKILL)
    child.wait(TIMEOUT)

    # Noticed through CLIENT LIST, long before the 10 s liveness timeout.
    restored = wait_for(lambda: store.restore("pid-0", offset, "/"), timeout=5)
    assert [packet.data[0] for packet in restored[1]] == ["missed"]


def test_without_client_list_a_killed_process_is_noticed_when_its_liveness_key_expires(
    user_url: Callable[[str], str],  # before make_store: its users outlive the stores
    make_store: MakeStore,
    start_owner: Callable[..., subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = user_url(DOCUMENTED.replace(" +client|list", ""))
    child = start_owner(heartbeat=0.2, liveness=1, window=60, url=url)
    store = make_store(url=url)
    offset = store.log("/", EVERYONE, EVERYONE, ["before"])

    child.send_signal(signal.SIGKILL)
    child.wait(TIMEOUT)
    with caplog.at_level(logging.WARNING, "flask_sockevents.recovery_redis"):
        restored = wait_for(lambda: store.restore("pid-0", offset, "/"))

    assert restored[0].sid == "sid-0"
    assert "relying on liveness keys only" in caplog.text
    assert store.detect_closed_connections is False
