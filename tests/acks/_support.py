"""Tools for the acknowledgement tests: pending acks, and a client that never answers."""

from __future__ import annotations

import threading
from typing import Any

import socketio

from tests.integration._support import TIMEOUT

__all__ = ["TIMEOUT", "SilentClient", "assert_released", "pending_acks"]


def pending_acks(server: Any) -> dict[str, list[int]]:
    """python-socketio's pending acknowledgements on ``server``: sid -> ack ids.

    ``manager.callbacks[sid]`` also keeps the counter of the client's ack ids
    (key 0) for as long as it is connected; only the other keys are pending.
    """
    pending = {}
    for sid, entry in dict(server.manager.callbacks).items():
        ids = [ack_id for ack_id in list(entry) if ack_id != 0]
        if ids:
            pending[sid] = ids
    return pending


def assert_released(server: Any) -> None:
    """Assert that nothing waits for an acknowledgement on ``server`` any more.

    Neither in python-socketio's bookkeeping nor in the ack tracker's.
    """
    assert pending_acks(server) == {}
    assert (server.acks.pending, server.acks.waiting) == (0, 0)


class SilentClient:
    """A python-socketio client that receives ``event`` and does not answer until released.

    Its handler runs in a thread of its own (the stock client's), waiting for
    :meth:`release`: it then answers, late, with ``"late"``.
    """

    def __init__(self, url: str, event: str = "question") -> None:
        self.received: list[Any] = []
        self._released = threading.Event()
        self.client = socketio.Client(reconnection=False)

        @self.client.on(event)
        def hold(*args: Any) -> str:
            self.received.append(args)
            self._released.wait(TIMEOUT)
            return "late"

        self.client.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)

    @property
    def sid(self) -> str:
        """The client's sid in ``/``."""
        sid = self.client.get_sid("/")
        assert sid is not None
        return sid

    def release(self) -> None:
        """Let the held handlers answer."""
        self._released.set()

    def close(self) -> None:
        """Release the handlers and disconnect."""
        self.release()
        self.client.disconnect()
