"""The bounds of connection state recovery's in-memory store, measured.

The figures checked are those :mod:`flask_sockevents.recovery` documents:
about 1 KB per lost session, and about 1 KB of Python objects per small
logged packet; each test allows twice that. Memory is measured with
:mod:`tracemalloc`, never time.
"""

from __future__ import annotations

import gc
import secrets
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flask_sockevents.recovery import MemoryRecoveryStore
from flask_sockevents.recovery_store import SessionState

#: The documented figures, in bytes.
SESSION_BYTES = 1024
PACKET_OVERHEAD_BYTES = 1024
SESSIONS = 10_000
NOW = 1_000_000.0


@pytest.fixture
def traced() -> Iterator[Callable[[], int]]:
    """``traced()``: bytes allocated (and still alive) since the test started tracing."""
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]

    def allocated() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start

    yield allocated
    tracemalloc.stop()


def _lost_session(n: int) -> SessionState:
    """A session as the server keeps it: three rooms (its sid's among them), a small session."""
    sid = secrets.token_urlsafe(15)
    return SessionState(
        secrets.token_urlsafe(15),
        sid,
        "/",
        frozenset({sid, "lobby", f"user:{n}"}),
        {"user_id": n, "name": f"user {n}"},
        lost_at=NOW,
    )


def _clocked(**options: Any) -> tuple[MemoryRecoveryStore, list[float]]:
    now = [NOW]
    return MemoryRecoveryStore(clock=lambda: now[0], **options), now


def test_10000_sessions_lost_at_once_are_all_kept_within_the_documented_memory(
    traced: Callable[[], int],
) -> None:
    store, _ = _clocked()
    for n in range(SESSIONS):
        store.keep(_lost_session(n))
    assert store.session_count() == SESSIONS
    assert traced() / SESSIONS < 2 * SESSION_BYTES


def test_10000_sessions_whose_clients_never_come_back_are_freed(
    traced: Callable[[], int],
) -> None:
    store, now = _clocked(max_disconnection_duration=120)
    for n in range(SESSIONS):
        store.keep(_lost_session(n))
    now[0] = NOW + 121
    store.log("/", frozenset(), frozenset(), ["any", "call"])  # any call drops what expired
    assert store.session_count() == 0
    assert traced() < 50_000  # the one packet logged, not the sessions


def test_lost_sessions_past_max_sessions_push_the_oldest_out(traced: Callable[[], int]) -> None:
    store, _ = _clocked(max_sessions=1_000)
    for n in range(SESSIONS):
        store.keep(_lost_session(n))
    assert store.session_count() == 1_000
    assert traced() / 1_000 < 2 * SESSION_BYTES


def test_a_log_at_its_count_cap_holds_max_packets_within_the_documented_memory(
    traced: Callable[[], int],
) -> None:
    store, _ = _clocked(max_packets=10_000)
    for n in range(12_000):
        store.log("/", frozenset({"r"}), frozenset(), ["news", {"text": "hello", "n": n}])
    assert store.packet_count("/") == 10_000
    data_bytes = store.packet_bytes("/")
    assert (traced() - data_bytes) / 10_000 < 2 * PACKET_OVERHEAD_BYTES


def test_a_log_at_its_byte_cap_holds_at_most_max_bytes_of_data(
    traced: Callable[[], int],
) -> None:
    store, _ = _clocked(max_bytes=1_000_000)
    payload = "x" * 10_000
    for n in range(300):
        store.log("/", frozenset(), frozenset(), ["news", n, payload])
    assert store.packet_bytes("/") <= 1_000_000
    assert store.packet_count("/") == 99
    assert traced() < 2 * 1_000_000
