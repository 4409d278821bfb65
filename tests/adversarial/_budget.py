"""Attacks that cost the attacker little: streams of cheap packets, and the memory they leave.

:func:`stream` writes the same block of frames over and over for a bounded
time without reading a byte of what the server answers, as an attacker who
wants the server to buffer its answers would. :class:`Memory` takes the
process's RSS (the arena serves in this process) before the attack, samples
its peak while the probe is answered, and checks that it is back within 10%
of its start once the attacker is gone.
"""

from __future__ import annotations

import gc
import socket
import struct
import time
from collections.abc import Callable

from ._wait import wait_for
from .conftest import Arena

__all__ = ["ATTACK_SECONDS", "Memory", "abort", "stream"]

#: Seconds each attack streams.
ATTACK_SECONDS = 3.0


def stream(sock: socket.socket, block: bytes, seconds: float = ATTACK_SECONDS) -> int:
    """Write ``block`` again and again for ``seconds``, never reading; return bytes written.

    Frames are never cut: a short write goes on where it stopped. Ends early
    if the server closes the connection.
    """
    view = memoryview(block)
    deadline = time.monotonic() + seconds
    offset = sent = 0
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            written = sock.send(view[offset:])
        except TimeoutError:
            continue  # the server is not reading: keep trying until the deadline
        except OSError:
            break
        sent += written
        offset = (offset + written) % len(block)
    return sent


def abort(sock: socket.socket) -> None:
    """Go away at once: close with a reset, so the server drops what it has not read yet.

    (A plain close lets the server read the megabytes still in the socket
    buffers first: bounded work, the same as during the attack, only longer.)
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


class Memory:
    """This process's RSS before, during and after an attack on ``game``."""

    def __init__(self, game: Arena) -> None:
        self.game = game
        gc.collect()
        self.start = _rss_mb()
        self.peak = self.start

    def sample(self) -> None:
        """Record the RSS now (pass as ``on_probe``)."""
        self.peak = max(self.peak, _rss_mb())

    def probe_while(self, attack: Callable[[], object]) -> object:
        """Run ``attack`` while the probe is answered, sampling the RSS after each answer."""
        return self.game.probe_while(attack, on_probe=self.sample)

    def assert_back_once_gone(self, connections: int) -> None:
        """Wait until the server holds ``connections`` and nothing queued, then check the RSS.

        The arena's own record of the events (:attr:`Arena.events`) is not the
        server's memory: it is emptied first, so check it before.

        :raises AssertionError: if the RSS is more than 10% above its start.
        """
        stats = self.game.server.connection_stats
        wait_for(lambda: stats() == {"connections": connections, "queued": 0}, timeout=30)
        self.game.events.clear()
        self.game.handled.clear()
        gc.collect()
        after = _rss_mb()
        assert after <= self.start * 1.10, (
            f"RSS {self.start:.1f} MB before, {self.peak:.1f} MB at most during the attack, "
            f"{after:.1f} MB after"
        )
