"""Fixtures for the acknowledgement tests: the integration suite's apps, servers and clients.

The clients connect over websocket only: the transports are the integration
suite's concern, and waiting for answers does not depend on them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import bus_log, clients, make_app

from ._support import SilentClient

__all__ = ["bus_log", "clients", "make_app"]


@pytest.fixture
def transports() -> list[str]:
    """Every client of these tests connects over websocket."""
    return ["websocket"]


@pytest.fixture
def silent() -> Iterator[list[SilentClient]]:
    """Silent clients opened by a test, released and closed at its end."""
    made: list[SilentClient] = []
    yield made
    for client in made:
        client.close()
