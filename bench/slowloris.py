"""Slowloris against ``python -m flask_sockevents`` limited to 1024 open files: what holds.

    .venv/bin/python bench/slowloris.py                  # this checkout
    .venv/bin/python bench/slowloris.py --tree /other    # another checkout (before/after)

Serves ``tests/production/serverapp.py`` with its default options from the
checkout ``--tree`` (this one by default) in a child process whose
``RLIMIT_NOFILE`` is (1024, 1024), then, from this process:

1. connects a probe client (python-socketio over websocket) from 127.0.0.2;
2. opens 1,500 sockets from 127.0.0.1, each sending half a request's
   headers (at most 30 s of trying), waits 3 s, and reports the server's open
   files, whether the probe is answered within 1 s (5 tries) and whether a
   new client from 127.0.0.3 connects and is answered within 10 s;
3. closes the attacker's sockets and reports how long a new client from
   127.0.0.1 takes, and whether the server logged ``Too many open files``;
4. opens 20 sockets sending half a request's headers and 20 slow POSTs
   (``Content-Length: 1000``, one byte a second) and reports, for 45 s,
   how many of each the server has closed.

Every wait is bounded; the server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "tests" / "production" / "serverapp.py") + ":app"
PARTIAL_HEADERS = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: victim\r\n"


def _limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


class Target:
    """The served app in a child process with ``ulimit -n 1024``."""

    def __init__(self, tree: Path, log: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "flask_sockevents", APP, "--port", str(self.port)],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                stdout=out,
                stderr=out,
                preexec_fn=_limit_open_files,
            )
        deadline = time.monotonic() + 30
        while not self._listening():
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise SystemExit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def open_files(self) -> int:
        """The server's open file descriptors."""
        return len(os.listdir(f"/proc/{self.popen.pid}/fd"))

    def client(self, source: str, timeout: float = 10.0) -> tuple[Any, str]:
        """A client from ``source``, connected and answered, and how long that took."""
        started = time.monotonic()
        try:
            sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=timeout, source_address=(source, 0)
            )
            client = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})
            client.connect(
                f"http://127.0.0.1:{self.port}", transports=["websocket"], wait_timeout=timeout
            )
            client.call("whoami", timeout=timeout)
        except Exception as exc:
            return None, f"refused ({type(exc).__name__} after {time.monotonic() - started:.1f} s)"
        return client, f"served in {time.monotonic() - started:.2f} s"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        self.popen.terminate()
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def half_open_sockets(target: Target) -> None:
    """Steps 1 to 3."""
    probe, _ = target.client("127.0.0.2")
    attackers: list[socket.socket] = []
    started = time.monotonic()
    while len(attackers) < 1500 and time.monotonic() - started < 30:
        try:
            sock = socket.create_connection(("127.0.0.1", target.port), timeout=2)
            sock.sendall(PARTIAL_HEADERS)
        except OSError:
            continue
        attackers.append(sock)
    time.sleep(3)
    missed = 0
    for _ in range(5):
        try:
            probe.call("whoami", timeout=1)
        except Exception:
            missed += 1
    _other, other = target.client("127.0.0.3")
    print(
        f"1,500 half-open sockets from 127.0.0.1: {len(attackers)} opened; server open files "
        f"{target.open_files()}; probe missed {missed}/5; new client from 127.0.0.3 {other}"
    )
    for sock in attackers:
        sock.close()
    _after, after = target.client("127.0.0.1", timeout=30)
    emfile = "Too many open files" in target.log.read_text(errors="replace")
    print(f"once the attacker lets go: new client from 127.0.0.1 {after}; EMFILE logged: {emfile}")


def slow_requests(target: Target) -> None:
    """Step 4."""
    headers: list[socket.socket] = []
    bodies: list[socket.socket] = []
    for number in range(20):
        sock = socket.create_connection(("127.0.0.1", target.port), timeout=5)
        sock.sendall(PARTIAL_HEADERS)
        headers.append(sock)
        sock = socket.create_connection(("127.0.0.1", target.port), timeout=5)
        sock.sendall(
            b"POST /socket.io/?EIO=4&transport=polling&sid=slow%d HTTP/1.1\r\n"
            b"Host: victim\r\nContent-Length: 1000\r\n\r\n" % number
        )
        bodies.append(sock)
    started = time.monotonic()
    for second in range(1, 46):
        time.sleep(max(0.0, started + second - time.monotonic()))
        for sock in bodies:
            with contextlib.suppress(OSError):
                sock.sendall(b"3")
        if second in (5, 12, 32, 45):
            closed_headers = sum(_closed(sock) for sock in headers)
            closed_bodies = sum(_closed(sock) for sock in bodies)
            print(
                f"after {second:2d} s: {closed_headers}/20 partial headers and "
                f"{closed_bodies}/20 slow bodies closed by the server"
            )
    for sock in headers + bodies:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to serve from")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4000, hard), hard))
    with tempfile.TemporaryDirectory() as logs:
        target = Target(args.tree.resolve(), Path(logs) / "server.log")
        try:
            half_open_sockets(target)
            slow_requests(target)
        finally:
            target.stop()


if __name__ == "__main__":
    main()
