"""A throwaway ``redis-server`` for the message-queue scenarios: loopback, ephemeral port.

:func:`redis_server` starts one without persistence on 127.0.0.1 and a free port,
waits until it answers, yields its ``redis://`` URL and stops it by its PID.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

from procs import BenchError

__all__ = ["missing", "redis_server"]


def missing() -> str | None:
    """Why no Redis server can be started here, or ``None`` when one can."""
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH"
    try:
        import redis  # noqa: F401  (the servers' client library)
    except ImportError:
        return "the redis Python package is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(start_timeout: float = 10.0) -> Iterator[str]:
    """A ``redis-server`` on 127.0.0.1 and a free port; yields ``redis://127.0.0.1:<port>/0``.

    :raises BenchError: when it is missing, exits, or does not answer in time.
    """
    reason = missing()
    if reason:
        raise BenchError(reason)
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(port):
            if proc.poll() is not None:
                raise BenchError(f"redis-server exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise BenchError(f"redis-server did not answer within {start_timeout:.0f} s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
