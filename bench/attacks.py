"""Cheap-packet attacks against a real server: does a well-behaved client stay answered?

``bench/attacks.py [--seconds 5] [--only NAME,...]``:

1. starts the soak app (``bench/soak.py serve``) in a subprocess under gevent;
2. connects a probe, a python-socketio client over websocket that calls
   ``echo`` with an acknowledgement every 100 ms and times each answer;
3. runs each attack in turn from this process, for ``--seconds`` or until it
   has sent what it sends, never reading what the server answers:

   - ``ws-upgrade``, ``ws-pong``, ``ws-ack``, ``ws-refused-connect``: one
     websocket streaming Engine.IO ``5`` (upgrade), ``3`` (pong), Socket.IO
     ``431[1]`` (an acknowledgement nobody asked for) or ``40/nope,`` (a
     CONNECT to a namespace no route accepts);
   - ``ws-control-ping``: one websocket streaming websocket ping frames;
   - ``polling-huge-posts``: 8 long-polling POSTs of about 330,000 ``5``
     packets each (for at most 60 s);
   - ``polling-upgrade``: long-polling POSTs of 1,000 ``5`` packets, one after
     the other;
   - ``namespaces``: one websocket CONNECTs to 5,000 ``/games/<n>`` namespaces;

4. after each attack closes its sockets, waits (at most 60 s) for the server
   to hold no more connection than before, and prints a line per attack:
   the probe's slowest answer and its missed answers during the attack, the
   server's RSS before, at its peak during, and after.

Every loop is bounded in time and count; the server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soak import ServerProcess

BENCH = Path(__file__).resolve().parent

#: Seconds the probe waits for one answer before counting it missed.
PROBE_TIMEOUT = 5.0


def _frame(text: str, opcode: int = 0x1) -> bytes:
    """One masked websocket frame (text unless told), as a client sends it."""
    import websocket

    return bytes(websocket.ABNF.create_frame(text, opcode).format())


def _open_websocket(url: str) -> Any:
    """A websocket-client connection past the open packet and a CONNECT to ``/``."""
    import websocket

    ws = websocket.create_connection(
        url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", timeout=10
    )
    ws.recv()  # the open packet
    ws.send("40")
    ws.recv()  # the CONNECT answer
    return ws


def stream(sock: socket.socket, block: bytes, seconds: float) -> int:
    """Write ``block`` again and again for ``seconds``, never reading; return bytes written.

    Frames are never cut: a short write goes on where it stopped.
    """
    view = memoryview(block)
    deadline = time.monotonic() + seconds
    offset = sent = 0
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            written = sock.send(view[offset:])
        except TimeoutError:
            continue
        except OSError:
            break  # the server closed the connection
        sent += written
        offset = (offset + written) % len(block)
    return sent


def websocket_stream(text: str, opcode: int = 0x1) -> Callable[[str, float], str]:
    """An attack streaming ``text`` as websocket frames (of ``opcode``, text by default)."""

    def attack(url: str, seconds: float) -> str:
        ws = _open_websocket(url)
        try:
            sent = stream(ws.sock, _frame(text, opcode) * 4096, seconds)
        finally:
            ws.sock.close()
        return f"{sent / 2**20:.1f} MB sent"

    return attack


def polling_posts(packets: int, posts: int) -> Callable[[str, float], str]:
    """An attack POSTing ``posts`` bodies of ``packets`` Engine.IO ``5`` packets."""

    def attack(url: str, seconds: float) -> str:
        import requests

        endpoint = url + "/socket.io/?EIO=4&transport=polling"
        opened = requests.get(endpoint, timeout=10)
        sid = json.loads(opened.text[1:])["sid"]
        session = f"{endpoint}&sid={sid}"
        requests.post(session, data=b"40", timeout=10)
        body = "\x1e".join(["5"] * packets).encode()
        # a few huge POSTs are all sent (within 60 s); many small ones for ``seconds``
        deadline = time.monotonic() + (max(seconds, 60.0) if posts < 100 else seconds)
        statuses: dict[int, int] = {}
        for _ in range(posts):
            if time.monotonic() >= deadline:
                break
            try:
                status = requests.post(session, data=body, timeout=30).status_code
            except requests.RequestException:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1
        with contextlib.suppress(requests.RequestException):
            requests.post(session, data=b"1", timeout=10)  # Engine.IO CLOSE
        return f"POST statuses {statuses}"

    return attack


def namespaces(count: int) -> Callable[[str, float], str]:
    """An attack CONNECTing one websocket to ``count`` ``/games/<n>`` namespaces."""

    def attack(url: str, seconds: float) -> str:
        ws = _open_websocket(url)
        block = b"".join(_frame(f"40/games/{n},") for n in range(count))
        try:
            ws.sock.settimeout(seconds)
            ws.sock.sendall(block)
            time.sleep(min(seconds, 2.0))  # let the server answer before the socket closes
        finally:
            ws.sock.close()
        return f"{count} CONNECTs sent"

    return attack


ATTACKS: dict[str, Callable[[str, float], str]] = {
    "ws-upgrade": websocket_stream("5"),
    "ws-pong": websocket_stream("3"),
    "ws-ack": websocket_stream("431[1]"),
    "ws-refused-connect": websocket_stream("40/nope,"),
    "ws-control-ping": websocket_stream("", 0x9),
    "polling-huge-posts": polling_posts(330_000, 8),
    "polling-upgrade": polling_posts(1_000, 10_000),
    "namespaces": namespaces(5_000),
}


class Probe:
    """A python-socketio client calling ``echo`` every 100 ms in a thread, timing each answer."""

    def __init__(self, url: str) -> None:
        import socketio

        self.client = socketio.Client(reconnection=False, handle_sigint=False)
        self.client.connect(url, transports=["websocket"], wait_timeout=10)
        self.latencies: list[float] = []
        self.missed = 0
        self.asked_at: float | None = None  # when the call waiting for its answer was made
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import socketio

        for number in range(1_000_000):
            if self._stop.wait(0.1):
                return
            if not self.client.connected:
                self.missed += 1
                continue
            self.asked_at = time.monotonic()
            try:
                self.client.call("echo", number, timeout=PROBE_TIMEOUT)
                self.latencies.append(time.monotonic() - self.asked_at)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                self.missed += 1
            self.asked_at = None

    def figures(self) -> dict[str, Any]:
        """The slowest answer (ms; a call still unanswered counts its wait so far) and the
        answers missed (not within 5 s, or the probe was disconnected)."""
        waiting = self.asked_at
        slowest = max(self.latencies, default=0.0)
        if waiting is not None:
            slowest = max(slowest, time.monotonic() - waiting)
        return {
            "probe_max_ms": round(slowest * 1000, 1),
            "probe_answered": len(self.latencies),
            "probe_missed": self.missed,
            "probe_connected": self.client.connected,
        }

    def stop(self) -> None:
        """Stop probing and disconnect."""
        self._stop.set()
        self._thread.join(PROBE_TIMEOUT + 1)
        self.client.disconnect()
        self.client.shutdown()


def _rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def run(name: str, server: ServerProcess, seconds: float) -> dict[str, Any]:
    """Run the attack ``name`` against ``server``, with a new probe; return its figures."""
    baseline = server.stats()["connections"]  # the probe is not connected yet
    before = _rss_mb(server.process.pid)
    probe = Probe(server.url)
    outcome: list[str] = []
    attacker = threading.Thread(
        target=lambda: outcome.append(ATTACKS[name](server.url, seconds)), daemon=True
    )
    started = time.monotonic()
    attacker.start()
    peak = before
    while attacker.is_alive() and time.monotonic() < started + seconds + 120:
        peak = max(peak, _rss_mb(server.process.pid))
        attacker.join(0.2)
    figures = probe.figures()
    probe.stop()
    settled = time.monotonic() + 60
    drained = False
    while time.monotonic() < settled:
        peak = max(peak, _rss_mb(server.process.pid))
        try:
            stats = server.stats()
        except Exception:  # the server is too busy to answer within 10 s
            continue
        if stats["connections"] <= baseline and stats["queued"] == 0:
            drained = True
            break
        time.sleep(0.2)
    return {
        "attack": name,
        "sent": outcome[0] if outcome else "(attacker failed)",
        **figures,
        "rss_before_mb": before,
        "rss_peak_mb": peak,
        "rss_after_mb": _rss_mb(server.process.pid),
        "drained_s": round(time.monotonic() - started - seconds, 1) if drained else None,
    }


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per attack (5)")
    parser.add_argument("--only", help="comma-separated attack names (all by default)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(ATTACKS)
    unknown = set(names) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attacks {sorted(unknown)}; known: {', '.join(ATTACKS)}")
    log = BENCH / "results" / "tmp"
    log.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(log / "attacks.server.log")
    try:
        for name in names:
            print(json.dumps(run(name, server, args.seconds)), flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
