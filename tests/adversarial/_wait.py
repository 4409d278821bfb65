"""Bounded waiting: every asynchronous outcome a test expects has a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._raw import TIMEOUT

__all__ = ["wait_for"]


def wait_for(predicate: Callable[[], Any], timeout: float = TIMEOUT, message: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; return that value.

    :raises AssertionError: when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout} s: {predicate}")
        time.sleep(0.005)
