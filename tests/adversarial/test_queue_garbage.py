"""Hostile messages on the message queue: dropped and counted, and the next emit still delivered.

A real ``redis-server`` on a loopback port, a ``python -m flask_sockevents``
process subscribed to it, and python-socketio clients on both transports.
Whoever can publish on the channel is trusted with what it emits; what it
must not be able to do is break the server's listener. The attacker
publishes non-object JSON, messages missing keys or with wrong types, bytes
that are not JSON and a message over the size bound, then a valid emit: every
bad one is counted, the emit arrives, the server answers the probe within 1 s
meanwhile, and its memory is back once the attack is over.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from production._support import Process, free_port, redis_server, wait_for

HERE = Path(__file__).resolve().parent
APP = str(HERE / "_queue_app.py") + ":app"
CHANNEL = "flask-socketio"
MAX_MESSAGE_SIZE = 100_000
ROUNDS = 20

GARBAGE: list[tuple[bytes, str]] = [
    (b'[1, 2, "method"]', "not a JSON object"),
    (b'"method"', "not a JSON object"),
    (b"42", "not a JSON object"),
    (b"null", "not a JSON object"),
    (b"\xff\xfe not json", "not JSON"),
    (b'{"method": "emit"}', "emit without event"),
    (b'{"method": "emit", "event": "news", "data": "x"}', "emit with a malformed data"),
    (b'{"method": "disconnect", "sid": ["a"]}', "disconnect with a malformed sid"),
    (b'{"method": "enter_room"}', "enter_room without sid"),
    (b'{"method": {"nested": 1}}', "unknown method"),
    (b'{"method": "emit", "data": []}' + b" " * MAX_MESSAGE_SIZE, "larger than 100000 bytes"),
]


def emit_message(text: str) -> bytes:
    """A valid emit of ``news`` to every client, as another process publishes it."""
    message = {
        "method": "emit",
        "event": "news",
        "data": [text],
        "namespace": "/",
        "room": None,
        "skip_sid": None,
        "callback": None,
        "binary": False,
        "host_id": "publisher",
    }
    return json.dumps(message).encode()


def resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("queue-garbage")


@pytest.fixture(scope="module")
def redis_url(logs: Path) -> Iterator[str]:
    with redis_server(logs) as url:
        yield url


@pytest.fixture(scope="module")
def server(redis_url: str, logs: Path) -> Iterator[Process]:
    import redis

    port = free_port()
    argv = [sys.executable, "-m", "flask_sockevents", APP, "--port", str(port)]
    env = {"QUEUE_URL": redis_url, "QUEUE_MAX_MESSAGE_SIZE": str(MAX_MESSAGE_SIZE)}
    process = Process("server", argv, port, logs, env)
    connection = redis.Redis.from_url(redis_url)
    try:
        wait_for(
            lambda: dict(connection.pubsub_numsub(CHANNEL)).get(CHANNEL.encode()) == 1,
            message="the server did not subscribe to the message queue",
        )
        yield process
    finally:
        connection.close()
        process.terminate()


@pytest.fixture
def publish(redis_url: str) -> Iterator[Any]:
    import redis

    connection = redis.Redis.from_url(redis_url)
    yield lambda data: connection.publish(CHANNEL, data)
    connection.close()


class Listener:
    """A python-socketio client recording the ``news`` it receives."""

    def __init__(self, url: str, transport: str) -> None:
        self.news: list[str] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("news", self.news.append)
        self.client.connect(url, transports=[transport], wait_timeout=5)

    def call(self, event: str, timeout: float = 5) -> Any:
        return self.client.call(event, timeout=timeout)


@pytest.fixture(params=["websocket", "polling"])
def listener(request: pytest.FixtureRequest, server: Process) -> Iterator[Listener]:
    client = Listener(server.url, request.param)
    yield client
    client.client.disconnect()


@pytest.fixture
def probe(server: Process) -> Iterator[Listener]:
    """The well-behaved client whose calls must be answered within 1 s (over websocket)."""
    client = Listener(server.url, "websocket")
    yield client
    client.client.disconnect()


def test_garbage_on_the_channel_is_dropped_and_counted_and_the_next_emit_arrives(
    server: Process, listener: Listener, probe: Listener, publish: Any
) -> None:
    drops_before = probe.call("queue_drops")
    before = resident_bytes(server.pid)
    finished = threading.Event()

    def attack() -> None:
        for round_ in range(ROUNDS):
            for garbage, _ in GARBAGE:
                publish(garbage)
            publish(emit_message(f"after round {round_}"))
        finished.set()

    attacker = threading.Thread(target=attack, name="queue attacker", daemon=True)
    attacker.start()
    while not finished.is_set():
        assert probe.call("whoami", timeout=1) == server.pid
    attacker.join()

    expected = [f"after round {n}" for n in range(ROUNDS)]
    wait_for(lambda: listener.news == expected, message=f"news received: {listener.news}")
    wait_for(lambda: probe.news == expected, message=f"the probe received: {probe.news}")
    drops = probe.call("queue_drops")
    for problem in {problem for _, problem in GARBAGE}:
        count = sum(1 for _, p in GARBAGE if p == problem)
        assert drops.get(problem, 0) - drops_before.get(problem, 0) == ROUNDS * count, problem
    assert probe.call("whoami", timeout=1) == server.pid
    assert resident_bytes(server.pid) <= before * 1.10
