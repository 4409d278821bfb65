"""Acknowledgements with a timeout across two server processes sharing a real Redis.

Clients of both processes answer (or not) a ``question`` emitted by one
process to a room, or to one client of the other process; a process that
stops answering the queue (SIGSTOP) does not keep a request waiting past its
timeout. Processes and Redis are the production tests' (every one on
127.0.0.1 and a free port, stopped by its PID).
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.production._support import TIMEOUT, Process, free_port, redis_server, wait_for

from ._support import SilentClient

APP = str(Path(__file__).with_name("acksapp.py")) + ":app"
CHANNEL = "acks-test"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("acks-processes")


@pytest.fixture(scope="module")
def redis_url(logs: Path) -> Iterator[str]:
    with redis_server(logs) as url:
        yield url


def _start(name: str, redis_url: str, logs: Path) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "flask_sockevents", APP, "--port", str(port)]
    env = {"SOCKEVENTS_TEST_QUEUE": redis_url, "SOCKEVENTS_TEST_CHANNEL": CHANNEL}
    return Process(name, argv, port, logs, env)


class _Clients:
    """python-socketio clients of the processes, closed at the end of a test."""

    def __init__(self) -> None:
        self.opened: list[Any] = []

    def answering(self, server: Process, factor: int, room: str = "lobby") -> socketio.Client:
        client = socketio.Client(reconnection=False)
        client.on("question", lambda number: number * factor)
        client.connect(server.url, transports=["websocket"], wait_timeout=TIMEOUT)
        self.opened.append(client)
        assert client.call("join", room, timeout=TIMEOUT) is True
        return client

    def silent(self, server: Process, room: str = "lobby") -> SilentClient:
        quiet = SilentClient(server.url)
        self.opened.append(quiet)
        assert quiet.client.call("join", room, timeout=TIMEOUT) is True
        return quiet

    def close(self) -> None:
        for client in self.opened:
            if isinstance(client, SilentClient):
                client.close()
            else:
                client.disconnect()


@pytest.fixture(scope="module")
def servers(redis_url: str, logs: Path) -> Iterator[list[Process]]:
    import redis

    started: list[Process] = []
    try:
        for name in ("acks-1", "acks-2"):
            started.append(_start(name, redis_url, logs))
        connection = redis.Redis.from_url(redis_url)
        # A process subscribes to the queue when it serves its first request.
        for server in started:
            with socketio.SimpleClient() as first_request:
                first_request.connect(server.url, transports=["websocket"])
        wait_for(
            lambda: dict(connection.pubsub_numsub(CHANNEL)).get(CHANNEL.encode()) == 2,
            message="the servers did not subscribe to the message queue",
        )
        connection.close()
        yield started
    finally:
        for server in started:
            server.terminate()


@pytest.fixture
def clients() -> Iterator[_Clients]:
    made = _Clients()
    yield made
    made.close()


def _no_pending_acks(servers: list[Process], clients: _Clients) -> None:
    for server in servers:
        asker = clients.answering(server, 0, room=f"asker-{uuid.uuid4().hex}")
        wait_for(lambda asker=asker: asker.call("pending", timeout=TIMEOUT)
                 == {"acks": {}, "requests": 0, "waiting": 0},
                 message=f"acknowledgements still pending in {server.name}")  # fmt: skip


def test_a_room_spread_over_two_processes_gives_every_answer_and_the_silent_client(
    servers: list[Process], clients: _Clients
) -> None:
    first, second = servers
    room = f"room-{uuid.uuid4().hex}"
    near = clients.answering(first, 1, room)
    far = clients.answering(second, 2, room)
    quiet = clients.silent(second, room)
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")

    result = controller.call("ask", (room, 1), timeout=TIMEOUT)

    assert result == {
        "answers": {near.get_sid(): 21, far.get_sid(): 42},
        "missing": [quiet.sid],
        "silent_processes": 0,
    }
    _no_pending_acks(servers, clients)


def test_a_room_that_answers_in_full_ends_without_waiting_for_the_timeout(
    servers: list[Process], clients: _Clients
) -> None:
    first, second = servers
    room = f"room-{uuid.uuid4().hex}"
    near = clients.answering(first, 1, room)
    far = [clients.answering(second, factor, room) for factor in (2, 3)]
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")

    result = controller.call("ask", (room, 600), timeout=TIMEOUT)  # long before 600 s

    answers = {near.get_sid(): 21, far[0].get_sid(): 42, far[1].get_sid(): 63}
    assert result == {"answers": answers, "missing": [], "silent_processes": 0}


def test_the_callback_of_a_room_spread_over_two_processes_gets_ack_timeout_and_the_answers(
    servers: list[Process], clients: _Clients
) -> None:
    first, second = servers
    room = f"room-{uuid.uuid4().hex}"
    far = clients.answering(second, 2, room)
    quiet = clients.silent(second, room)
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")

    key = uuid.uuid4().hex
    assert controller.call("ask_with_callback", (key, room, 0.5), timeout=TIMEOUT) is True

    outcome = wait_for(lambda: controller.call("outcome", key, timeout=TIMEOUT),
                       message="the callback was not called")  # fmt: skip
    assert outcome == [
        "AckTimeout",
        {"answers": {far.get_sid(): 42}, "missing": [quiet.sid], "silent_processes": 0},
    ]
    _no_pending_acks(servers, clients)


def test_a_name_no_process_knows_ends_at_once_with_ack_disconnected(
    servers: list[Process], clients: _Clients
) -> None:
    first, _ = servers
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")

    result = controller.call("ask", (f"nobody-{uuid.uuid4().hex}", 600), timeout=TIMEOUT)

    assert result["error"] == "AckDisconnected"
    assert result["message"].endswith("(no such client or room)")


def test_one_client_of_the_other_process_answers_or_times_out(
    servers: list[Process], clients: _Clients
) -> None:
    first, second = servers
    far = clients.answering(second, 2, f"room-{uuid.uuid4().hex}")
    quiet = clients.silent(second, f"room-{uuid.uuid4().hex}")
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")

    answered = controller.call("ask", (far.get_sid(), 600), timeout=TIMEOUT)
    timed_out = controller.call("ask", (quiet.sid, 0.5), timeout=TIMEOUT)

    assert answered == {"answer": 42}
    assert timed_out == {
        "error": "AckTimeout",
        "message": f"no answer to 'question' from {quiet.sid} within 0.5 s",
    }
    _no_pending_acks(servers, clients)


def test_a_client_of_the_other_process_that_leaves_ends_the_wait_at_once(
    servers: list[Process], clients: _Clients
) -> None:
    first, second = servers
    quiet = clients.silent(second, f"room-{uuid.uuid4().hex}")
    sid = quiet.sid
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")
    assert controller.call("ask_later", ("leaving", sid, 600), timeout=TIMEOUT) is True
    wait_for(lambda: quiet.received, message="the client did not receive the question")

    quiet.close()

    outcome = wait_for(lambda: controller.call("outcome", "leaving", timeout=TIMEOUT),
                       message="the wait did not end when the client left")  # fmt: skip
    assert outcome == {
        "error": "AckDisconnected",
        "message": f"no answer to 'question' from {sid} before it disconnected",
    }
    _no_pending_acks(servers, clients)


def test_a_process_that_stops_answering_the_queue_does_not_keep_a_room_waiting(
    servers: list[Process], clients: _Clients, redis_url: str, logs: Path
) -> None:
    first, _ = servers
    room = f"room-{uuid.uuid4().hex}"
    near = clients.answering(first, 1, room)
    controller = clients.answering(first, 0, room=f"controller-{uuid.uuid4().hex}")
    stuck = _start("acks-stuck", redis_url, logs)
    try:
        clients.answering(stuck, 5, room)
        stuck.popen.send_signal(signal.SIGSTOP)

        result = controller.call("ask", (room, 1), timeout=TIMEOUT)

        assert result == {"answers": {near.get_sid(): 21}, "missing": [], "silent_processes": 1}
    finally:
        stuck.popen.send_signal(signal.SIGCONT)
        stuck.terminate()
