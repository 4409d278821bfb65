"""Processes for the production tests: servers, Redis and clients, each bounded in time.

Every process listens on 127.0.0.1 and a free port, and is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import socketio

from flask_sockevents import testing

__all__ = [
    "APP",
    "ROOT",
    "TIMEOUT",
    "Process",
    "Recorder",
    "command_or_skip",
    "free_port",
    "partial_request",
    "redis_server_or_skip",
    "server_closed",
    "wait_for",
]

ROOT = Path(__file__).resolve().parents[2]
#: The test app, as ``python -m flask_sockevents`` and ``flask --app`` take it.
APP = str(Path(__file__).with_name("serverapp.py")) + ":app"
#: Seconds any asynchronous outcome may take before a test gives up on it.
TIMEOUT = 15.0


wait_for = functools.partial(testing.wait_for, timeout=TIMEOUT, interval=0.01)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def partial_request(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A socket from loopback address ``source`` that sends half a request's headers, no more."""
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0)
    )
    sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: server\r\n")
    return sock


def server_closed(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` without sending anything (checked without waiting)."""
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset by the server
        return True
    finally:
        sock.settimeout(timeout)


class Process:
    """A child process serving on ``port``; its output goes to files in ``logs``."""

    def __init__(
        self, name: str, argv: list[str], port: int, logs: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.port = port
        self.stdout_path = logs / f"{name}.out"
        self.stderr_path = logs / f"{name}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err
            )
        wait_for(
            lambda: self.popen.poll() is not None or _port_open(port),
            message=f"{name} did not listen on port {port}",
        )
        if self.popen.poll() is not None:
            raise AssertionError(f"{name} exited with {self.popen.returncode}:\n{self.stderr()}")

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        """Everything the process wrote to its standard error so far."""
        return self.stderr_path.read_text(errors="replace")

    def terminate(self, timeout: float = TIMEOUT) -> int:
        """Send SIGTERM and wait for the exit; SIGKILL after ``timeout``. Returns the status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(timeout)


def serve_process(
    name: str, port: int, logs: Path, env: dict[str, str] | None = None, *args: str
) -> Process:
    """``python -m flask_sockevents <test app> --port <port>`` as a :class:`Process`."""
    argv = [sys.executable, "-m", "flask_sockevents", APP, "--port", str(port), *args]
    return Process(name, argv, port, logs, env)


def command_or_skip(command: str, installed_by_make: bool = True) -> str:
    """The path of ``command``; skips the test when it is missing.

    :param installed_by_make: ``make test`` installs the command, so under CI
        its absence fails the test instead.
    """
    import pytest

    path = shutil.which(command)
    if path is None:
        if installed_by_make and os.environ.get("CI"):
            pytest.fail(f"{command} is missing (`make system-deps` installs it)")
        how = "`make system-deps` installs it" if installed_by_make else "optional"
        pytest.skip(f"{command} is not installed ({how})")
    return path


def redis_server_or_skip() -> str:
    """The path of ``redis-server``; skips the test when it is missing (fails under CI)."""
    return command_or_skip("redis-server")


@contextlib.contextmanager
def redis_server(logs: Path) -> Iterator[str]:
    """A ``redis-server`` on a free loopback port, without persistence; yields its URL."""
    port = free_port()
    argv = [redis_server_or_skip(), "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    server = Process("redis", [*argv, "--appendonly", "no"], port, logs)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()


class Recorder:
    """A python-socketio client that records the ``news`` it receives."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.news: list[Any] = []
        self.started: list[Any] = []
        self.disconnect_reasons: list[Any] = []
        self.client.on("news", self.news.append)
        self.client.on("started", self.started.append)
        self.client.on("disconnect", self.disconnect_reasons.append)
        self.client.connect(
            url, headers=headers or {}, transports=["websocket"], wait_timeout=TIMEOUT
        )

    @property
    def sid(self) -> str:
        """The client's session id in ``/``."""
        sid = self.client.get_sid("/")
        assert sid is not None
        return sid

    def call(self, event: str, *args: Any) -> Any:
        """Emit ``event`` and return the server's acknowledgement."""
        data = None if not args else args[0] if len(args) == 1 else args
        return self.client.call(event, data, timeout=TIMEOUT)

    def close(self) -> None:
        """Disconnect, if still connected."""
        self.client.disconnect()
