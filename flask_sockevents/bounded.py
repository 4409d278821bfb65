"""Counting by label in bounded memory: past a number of distinct labels, the rest share one.

Reasons, namespaces and event names come from clients: counted as they come,
a client inventing a new one per packet would grow a table without end. The
bus's rejection tally, the metrics listener's labels and the monitor's
counters all keep at most ``limit`` distinct labels and count every later one
under a single "other" label.
"""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["BoundedCounter", "BoundedLabels"]


class BoundedLabels:
    """Maps values to at most ``limit`` distinct labels; later new values map to ``other``.

    Thread-safe. Values are cut to ``length`` characters first (when given).

    :param limit: distinct labels kept.
    :param other: the label of every value past the limit.
    :param length: characters kept of each value (``None``: all).
    """

    def __init__(self, limit: int, other: str, length: int | None = None) -> None:
        self.limit = limit
        self.other = other
        self.length = length
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """The label of ``value``: itself (cut) while there is room, else ``other``."""
        if self.length is not None:
            value = value[: self.length]
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self.limit:
                return self.other
            self._seen.add(value)
        return value


class BoundedCounter(Counter[str]):
    """A :class:`~collections.Counter` that :meth:`add` keeps to ``limit`` distinct keys.

    Once ``limit`` keys are counted, a new key is counted under ``other``.

    :param limit: distinct keys counted on their own.
    :param other: the key every later new key is counted under.
    """

    def __init__(self, limit: int, other: str) -> None:
        super().__init__()
        self.limit = limit
        self.other = other

    def add(self, key: str) -> None:
        """Count one ``key`` (under ``other`` if it is new and the counter is full)."""
        if key not in self and len(self) >= self.limit:
            key = self.other
        self[key] += 1
