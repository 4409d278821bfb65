"""A real ``redis-server`` on a free loopback port, shared by the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production._support import redis_server


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="session")
def redis_url(logs: Path) -> Iterator[str]:
    with redis_server(logs) as url:
        yield url
