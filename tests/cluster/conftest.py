"""A real ``redis-server`` on a free loopback port, shared by the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production._support import Process, free_port, redis_server_or_skip


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="session")
def redis_url(logs: Path) -> Iterator[str]:
    redis_server = redis_server_or_skip()
    port = free_port()
    argv = [redis_server, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    server = Process("redis", [*argv, "--appendonly", "no"], port, logs)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
