"""Fixtures of the fuzz suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def unraisable_reports_with_headroom() -> Iterator[None]:
    """Let an unraisable exception raised deep in the stack still be reported.

    Fuzzed packets nest thousands of levels deep; an exception raised while
    such an object is discarded near the recursion limit left no headroom for
    the report itself, and pytest then failed the test with "Failed to process
    unraisable exception". Each report gets 1,000 frames more to format in.
    """
    previous = sys.unraisablehook

    def report(unraisable: Any) -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 1000)
        try:
            previous(unraisable)
        finally:
            sys.setrecursionlimit(limit)

    sys.unraisablehook = report
    try:
        yield
    finally:
        sys.unraisablehook = previous
