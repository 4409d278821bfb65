"""The app under gunicorn's gevent-websocket workers, talking to real clients."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from ._support import (
    TIMEOUT,
    Process,
    Recorder,
    free_port,
    partial_request,
    server_closed,
    wait_for,
)

pytest.importorskip("gunicorn", reason="gunicorn is not installed (the test extra has it)")

WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
HARDENED_WORKER = "flask_sockevents.gunicorn.GeventWebSocketWorker"
CLOSE_MESSAGE_TOO_BIG = 1009


def start_gunicorn(worker: str, logs: Path, config: dict[str, str] | None = None) -> Process:
    """One gunicorn worker serving the test app; ``config`` sets its ``SOCKEVENTS_*`` keys."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        worker,
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(Path(__file__).parent),
        "serverapp:app",
    ]
    env = {f"SOCKEVENTS_TEST_CONFIG_SOCKEVENTS_{key}": v for key, v in (config or {}).items()}
    return Process("gunicorn", argv, port, logs, env)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    server = start_gunicorn(WORKER, tmp_path_factory.mktemp("gunicorn"))
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture(scope="module")
def hardened_gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    server = start_gunicorn(HARDENED_WORKER, tmp_path_factory.mktemp("gunicorn-hardened"))
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture
def client(gunicorn: Process) -> Iterator[Recorder]:
    recorder = Recorder(gunicorn.url)
    yield recorder
    recorder.close()


def test_a_gunicorn_worker_answers_events(gunicorn: Process, client: Recorder) -> None:
    worker_pid = client.call("whoami")
    assert isinstance(worker_pid, int)
    assert worker_pid != gunicorn.pid


def test_a_handler_can_sleep_cooperatively_and_acknowledge(client: Recorder) -> None:
    assert client.call("slow", 0.1) == ["done", 0.1]
    assert wait_for(lambda: client.started) == [0.1]


def test_a_server_emit_reaches_the_client(client: Recorder) -> None:
    assert client.call("broadcast", "hello") is True
    assert wait_for(lambda: client.news) == ["hello"]


def test_the_hardened_worker_answers_events(hardened_gunicorn: Process) -> None:
    recorder = Recorder(hardened_gunicorn.url)
    try:
        assert isinstance(recorder.call("whoami"), int)
    finally:
        recorder.close()


def test_the_hardened_worker_refuses_a_message_over_the_apps_limit(
    hardened_gunicorn: Process,
) -> None:
    base = hardened_gunicorn.url.replace("http://", "ws://")
    ws = websocket.create_connection(
        base + "/socket.io/?EIO=4&transport=websocket", timeout=TIMEOUT
    )
    try:
        assert ws.recv().startswith("0")  # the Engine.IO open packet
        # Only the header of a masked text frame announcing 1.1 MB: the app's
        # limit (1,000,000 bytes) is enforced before any payload is read.
        header = bytes([0x81, 0x80 | 127]) + (1_100_000).to_bytes(8, "big") + b"mask"
        ws.sock.sendall(header)
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == CLOSE_MESSAGE_TOO_BIG
    finally:
        ws.close()


def test_the_hardened_worker_closes_a_request_whose_headers_stall_past_header_timeout(
    tmp_path: Path,
) -> None:
    server = start_gunicorn(HARDENED_WORKER, tmp_path, {"HEADER_TIMEOUT": "1"})
    try:
        stalled = partial_request(server.port)
        wait_for(lambda: server_closed(stalled), message="the stalled request is still open")
        stalled.close()
        recorder = Recorder(server.url)
        assert isinstance(recorder.call("whoami"), int)
        recorder.close()
    finally:
        server.terminate()


def test_the_hardened_worker_closes_sockets_past_the_per_address_cap_at_accept(
    tmp_path: Path,
) -> None:
    server = start_gunicorn(
        HARDENED_WORKER,
        tmp_path,
        {"HEADER_TIMEOUT": "60", "MAX_HTTP_CONNECTIONS_PER_ADDRESS": "3"},
    )
    held = [partial_request(server.port, source="127.0.0.3") for _ in range(3)]
    try:
        refused = partial_request(server.port, source="127.0.0.3")
        wait_for(lambda: server_closed(refused), message="a 4th socket from 127.0.0.3 is open")
        refused.close()
        assert not any(server_closed(sock) for sock in held)
        assert _polling_handshake_status(server.port, source="127.0.0.2") == b"HTTP/1.1 200 OK"
    finally:
        for sock in held:
            sock.close()
        server.terminate()


def _polling_handshake_status(port: int, source: str) -> bytes:
    """The status line answering an Engine.IO polling handshake sent from ``source``."""
    with socket.create_connection(
        ("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0)
    ) as sock:
        sock.sendall(
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: server\r\n\r\n"
        )
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]
