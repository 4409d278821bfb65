"""Sessions and waits shared by the Redis recovery store tests."""

from __future__ import annotations

import functools
import time
from typing import Any

from flask_sockevents import testing
from flask_sockevents.recovery_store import SessionState

#: Seconds any asynchronous outcome (an expiry, a process's death) may take.
TIMEOUT = 20.0

wait_for = functools.partial(testing.wait_for, timeout=TIMEOUT, interval=0.02)

EVERYONE: frozenset[str] = frozenset()

#: Sessions the owning process (``_owner.py``) tracks: ``pid-<n>``, ``sid-<n>``.
SESSIONS_OF_AN_OWNER = 50


def lost(
    pid: str,
    sid: str = "sid-1",
    rooms: tuple[str, ...] = (),
    namespace: str = "/",
    saved_session: dict[str, Any] | None = None,
    lost_at: float | None = None,
) -> SessionState:
    """A session whose transport was lost ``lost_at`` (now by default), in its sid's room."""
    return SessionState(
        pid=pid,
        sid=sid,
        namespace=namespace,
        rooms=frozenset({sid, *rooms}),
        saved_session=saved_session or {},
        lost_at=time.time() if lost_at is None else lost_at,
    )


def connected(pid: str, sid: str = "sid-1", rooms: tuple[str, ...] = ()) -> SessionState:
    """A connected client's session (``lost_at`` is ``None``) in ``/``."""
    return SessionState(pid, sid, "/", frozenset({sid, *rooms}), {"user": "ada"})
