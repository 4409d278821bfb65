"""Slowloris: sockets that never finish their request, against a server limited to 1024 files.

Each test serves the production test app with ``python -m flask_sockevents``
in a child process whose open-file limit is ``ulimit -n 1024``, as on a
default Linux host, and attacks it from 127.0.0.1 with raw sockets. The
whole 127.0.0.0/8 is loopback, so the well-behaved clients (python-socketio
over websocket) come from 127.0.0.2 and 127.0.0.3: other addresses, as far as
the per-address cap can tell. The probe, connected before the attack, must be
answered within 1 s while it lasts.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import socketio
from production._support import server_closed

from ._raw import TIMEOUT
from ._wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "tests" / "production" / "serverapp.py") + ":app"
OPEN_FILE_LIMIT = 1024
#: The defaults of max_http_connections and max_http_connections_per_address.
MAX_HTTP_CONNECTIONS = 1000
MAX_HTTP_CONNECTIONS_PER_ADDRESS = 100
ATTACKERS = 1500
#: Seconds the attacker's sockets may take to open, and the server to sort them out.
ATTACK_TIMEOUT = 20.0
PARTIAL_REQUEST = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: victim\r\n"

pytestmark = pytest.mark.slow


def _limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILE_LIMIT, OPEN_FILE_LIMIT))


class Served:
    """``python -m flask_sockevents`` on a free port with ``ulimit -n 1024``, stopped by PID."""

    def __init__(self, logs: Path, *options: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = logs / "server.err"
        argv = [sys.executable, "-m", "flask_sockevents", APP, "--port", str(self.port), *options]
        with open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv, cwd=ROOT, stdout=err, stderr=err, preexec_fn=_limit_open_files
            )
        wait_for(
            self._listening,
            timeout=ATTACK_TIMEOUT,  # a loaded machine may take its time importing the app
            message=f"the server did not listen on port {self.port}",
        )
        assert self.popen.poll() is None, self.stderr()

    def _listening(self) -> bool:
        if self.popen.poll() is not None:
            return True
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def stderr(self) -> str:
        """What the server logged so far."""
        return self.stderr_path.read_text(errors="replace")

    def rss(self) -> int:
        """The server's resident memory, in KiB (Linux)."""
        status = Path(f"/proc/{self.popen.pid}/status").read_text()
        return int(status.split("VmRSS:", 1)[1].split()[0])

    def client(self, source: str) -> socketio.Client:
        """A python-socketio client over websocket, connecting from loopback address ``source``."""
        sock = socket.create_connection(
            ("127.0.0.1", self.port), timeout=TIMEOUT, source_address=(source, 0)
        )
        client = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})
        client.connect(self.url, transports=["websocket"], wait_timeout=TIMEOUT)
        return client

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the server is still there after the timeout."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(ATTACK_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(TIMEOUT)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(*options)`` starts a server; every one is stopped at the end of the test."""
    servers: list[Served] = []

    def start(*options: str) -> Served:
        server = Served(tmp_path, *options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def attackers() -> Iterator[list[socket.socket]]:
    """The attacker's sockets, all closed at the end of the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = ATTACKERS + 200
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the test process may open only {hard} files; it needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def open_partial_requests(port: int, count: int, into: list[socket.socket]) -> None:
    """Open ``count`` sockets from 127.0.0.1, each sending the start of a request and no more.

    Bounded: each connect waits at most 2 s, and the whole at most ``ATTACK_TIMEOUT`` seconds.
    """
    deadline = time.monotonic() + ATTACK_TIMEOUT
    while len(into) < count and time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            continue
        into.append(sock)
        with contextlib.suppress(OSError):
            sock.sendall(PARTIAL_REQUEST)


def still_open(sockets: list[socket.socket]) -> int:
    """How many of ``sockets`` the server keeps open."""
    return sum(not server_closed(sock) for sock in sockets)


def probe(client: socketio.Client) -> None:
    """Assert the probe client is answered within 1 s."""
    assert isinstance(client.call("whoami", timeout=1), int)


def test_1500_half_open_sockets_from_one_address_leave_other_addresses_served(
    serve: Callable[..., Served], attackers: list[socket.socket]
) -> None:
    server = serve("--header-timeout", "60")  # the cap holds, not the timeout
    prober = server.client("127.0.0.2")
    rss_before = server.rss()

    open_partial_requests(server.port, ATTACKERS, attackers)
    assert len(attackers) == ATTACKERS

    wait_for(
        lambda: still_open(attackers) == MAX_HTTP_CONNECTIONS_PER_ADDRESS,
        timeout=ATTACK_TIMEOUT,
        message="the server does not hold exactly max_http_connections_per_address sockets",
    )
    probe(prober)
    newcomer = server.client("127.0.0.3")
    assert isinstance(newcomer.call("whoami", timeout=TIMEOUT), int)
    probe(prober)
    assert still_open(attackers) == MAX_HTTP_CONNECTIONS_PER_ADDRESS
    assert "closing HTTP connections: max_http_connections_per_address (" in server.stderr()

    for sock in attackers:
        sock.close()
    same_address = wait_for(lambda: _connected_or_none(server, "127.0.0.1"))
    assert isinstance(same_address.call("whoami", timeout=TIMEOUT), int)
    for client in (prober, newcomer, same_address):
        client.disconnect()
    assert "Too many open files" not in server.stderr()
    wait_for(
        lambda: server.rss() <= rss_before * 1.1,
        message=f"RSS {server.rss()} KiB, from {rss_before} KiB before the attack",
    )


def _connected_or_none(server: Served, source: str) -> socketio.Client | None:
    """A client connected from ``source``, or ``None`` while it is still refused."""
    try:
        return server.client(source)
    except (socketio.exceptions.ConnectionError, OSError):
        return None


def test_sockets_past_max_http_connections_are_closed_at_accept_within_the_file_limit(
    serve: Callable[..., Served], attackers: list[socket.socket]
) -> None:
    """Without a per-address cap one address can take the total, but never the file limit."""
    server = serve("--header-timeout", "60", "--max-http-connections-per-address", "0")
    prober = server.client("127.0.0.2")

    open_partial_requests(server.port, ATTACKERS, attackers)

    wait_for(
        lambda: still_open(attackers) == MAX_HTTP_CONNECTIONS - 1,  # the probe holds one
        timeout=ATTACK_TIMEOUT,
        message="the server does not hold exactly max_http_connections sockets",
    )
    probe(prober)
    assert "closing HTTP connections: max_http_connections (" in server.stderr()

    for sock in attackers:
        sock.close()
    newcomer = wait_for(lambda: _connected_or_none(server, "127.0.0.3"))
    assert isinstance(newcomer.call("whoami", timeout=TIMEOUT), int)
    probe(prober)
    for client in (prober, newcomer):
        client.disconnect()
    assert "Too many open files" not in server.stderr()


def test_request_headers_trickled_a_line_at_a_time_are_cut_at_header_timeout(
    serve: Callable[..., Served], attackers: list[socket.socket]
) -> None:
    server = serve("--header-timeout", "1")
    prober = server.client("127.0.0.2")
    open_partial_requests(server.port, 20, attackers)
    assert len(attackers) == 20

    lines = 0
    while still_open(attackers) and lines < 30:  # 6 s of trickling at most
        time.sleep(0.2)
        for sock in attackers:
            with contextlib.suppress(OSError):
                sock.sendall(b"X-Trickle: %d\r\n" % lines)
        lines += 1
        probe(prober)

    assert still_open(attackers) == 0
    assert lines < 30
    assert [_answer(sock) for sock in attackers] == [b""] * 20  # closed without an answer
    probe(prober)
    prober.disconnect()


def _answer(sock: socket.socket) -> bytes:
    """What the server sent on ``sock`` before closing it."""
    sock.settimeout(TIMEOUT)
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_20_slow_post_bodies_are_cut_at_body_timeout_without_reaching_the_app(
    serve: Callable[..., Served], attackers: list[socket.socket]
) -> None:
    """Had the app seen one, it would have answered at once (400: no such session)."""
    server = serve("--body-timeout", "1")
    prober = server.client("127.0.0.2")
    body = b"3" * 1000
    for number in range(20):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        attackers.append(sock)
        sock.sendall(
            b"POST /socket.io/?EIO=4&transport=polling&sid=slow%d HTTP/1.1\r\n"
            b"Host: victim\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
            % (number, len(body))
        )

    sent = 0
    while still_open(attackers) and sent < 30:  # a byte every 0.2 s: 6 s at most
        time.sleep(0.2)
        for sock in attackers:
            with contextlib.suppress(OSError):
                sock.sendall(body[sent : sent + 1])
        sent += 1
        probe(prober)

    assert still_open(attackers) == 0
    assert sent < 30
    assert [_answer(sock) for sock in attackers] == [b""] * 20  # the app never answered
    probe(prober)
    prober.disconnect()


def test_a_body_the_app_leaves_unread_is_discarded_only_until_body_timeout(
    serve: Callable[..., Served], attackers: list[socket.socket]
) -> None:
    """A chunked body the app does not read: the answer is sent, the trickle then cut."""
    server = serve("--body-timeout", "1")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    attackers.append(sock)
    sock.sendall(
        b"POST /not-a-route HTTP/1.1\r\nHost: victim\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sock.settimeout(0)
    received = b""
    chunks = 0
    while chunks < 30:  # a chunk every 0.2 s: 6 s at most
        time.sleep(0.2)
        try:
            received += sock.recv(65536) or b"<closed>"
        except BlockingIOError:
            pass
        except OSError:
            received += b"<closed>"
        if received.endswith(b"<closed>"):
            break
        with contextlib.suppress(OSError):
            sock.sendall(b"1\r\nx\r\n")
        chunks += 1

    assert received.startswith(b"HTTP/1.1 404")
    assert received.endswith(b"<closed>")
    assert chunks < 30


def test_the_timeouts_spare_an_idle_websocket_and_a_waiting_long_poll(
    serve: Callable[..., Served],
) -> None:
    server = serve("--header-timeout", "1", "--body-timeout", "1")
    over_websocket = server.client("127.0.0.2")
    over_polling = socketio.Client(reconnection=False)
    over_polling.connect(server.url, transports=["polling"], wait_timeout=TIMEOUT)
    disconnects: list[object] = []
    for client in (over_websocket, over_polling):
        client.on("disconnect", lambda *reason: disconnects.append(reason))

    time.sleep(3)  # three header timeouts: the long poll waits for pingInterval (25 s)

    for client in (over_websocket, over_polling):
        assert isinstance(client.call("whoami", timeout=TIMEOUT), int)
        assert client.connected
    assert disconnects == []
    for client in (over_websocket, over_polling):
        client.disconnect()
