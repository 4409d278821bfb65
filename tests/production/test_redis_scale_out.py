"""Two server processes sharing a real Redis: emits reach the clients of every process.

A ``redis-server`` on a free loopback port, two ``python -m flask_sockevents``
processes with ``message_queue=redis://...``, python-socketio clients on each,
and a third process with no app that only emits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ._support import (
    TIMEOUT,
    Process,
    Recorder,
    free_port,
    redis_server,
    serve_process,
    wait_for,
)

CHANNEL = "flask-socketio"

#: ``connect(server) -> client``: a client of ``server``, closed after the test.
Connect = Callable[[Process], Recorder]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scale-out")


@pytest.fixture(scope="module")
def redis_url(logs: Path) -> Iterator[str]:
    with redis_server(logs) as url:
        yield url


@pytest.fixture(scope="module")
def servers(redis_url: str, logs: Path) -> Iterator[list[Process]]:
    import redis

    env = {"SOCKEVENTS_TEST_QUEUE": redis_url}
    started: list[Process] = []
    try:
        for name in ("server-1", "server-2"):
            started.append(serve_process(name, free_port(), logs, env))
        connection = redis.Redis.from_url(redis_url)
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
def connect(servers: list[Process]) -> Iterator[Connect]:
    opened: list[Recorder] = []

    def open_client(server: Process) -> Recorder:
        client = Recorder(server.url)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def emit_from_another_process(redis_url: str, event: str, data: object, **kwargs: object) -> None:
    """Emit through the queue from a new process that has no app and serves nothing."""
    arguments = json.dumps([redis_url, event, data, kwargs])
    code = (
        "import sys, json\n"
        "from flask_sockevents import SockEvents\n"
        "url, event, data, kwargs = json.loads(sys.argv[1])\n"
        "SockEvents(message_queue=url).emit(event, data, **kwargs)\n"
    )
    subprocess.run([sys.executable, "-c", code, arguments], check=True, timeout=TIMEOUT)


def test_both_servers_use_the_same_redis(servers: list[Process], connect: Connect) -> None:
    pids = {connect(server).call("whoami") for server in servers}
    assert pids == {server.pid for server in servers}


def test_a_broadcast_and_an_app_less_emit_reach_the_clients_of_both_servers_once(
    servers: list[Process], connect: Connect, redis_url: str
) -> None:
    first, second = connect(servers[0]), connect(servers[1])
    assert first.call("broadcast", "from server 1") is True
    emit_from_another_process(redis_url, "news", "from an app-less process")
    wait_for(lambda: len(first.news) >= 2 and len(second.news) >= 2)
    expected = sorted(["from server 1", "from an app-less process"])
    assert sorted(first.news) == expected
    assert sorted(second.news) == expected


def test_a_room_emit_reaches_only_room_members_on_both_servers(
    servers: list[Process], connect: Connect, redis_url: str
) -> None:
    member_1, other_1 = connect(servers[0]), connect(servers[0])
    member_2, other_2 = connect(servers[1]), connect(servers[1])
    assert member_1.call("join", "blue") is True
    assert member_2.call("join", "blue") is True
    assert other_1.call("to_room", "blue", "for blue") is True
    emit_from_another_process(redis_url, "news", "for everyone")
    everyone = [member_1, other_1, member_2, other_2]
    wait_for(lambda: all("for everyone" in client.news for client in everyone))
    assert sorted(member_1.news) == ["for blue", "for everyone"]
    assert sorted(member_2.news) == ["for blue", "for everyone"]
    assert other_1.news == ["for everyone"]
    assert other_2.news == ["for everyone"]


def test_an_app_less_process_can_emit_to_a_room(
    servers: list[Process], connect: Connect, redis_url: str
) -> None:
    member, other = connect(servers[0]), connect(servers[1])
    assert member.call("join", "green") is True
    emit_from_another_process(redis_url, "news", "for green", to="green")
    emit_from_another_process(redis_url, "news", "for everyone")
    wait_for(lambda: "for everyone" in member.news and "for everyone" in other.news)
    assert sorted(member.news) == ["for everyone", "for green"]
    assert other.news == ["for everyone"]


def test_what_crosses_redis_is_json(redis_url: str) -> None:
    import redis

    connection = redis.Redis.from_url(redis_url)
    subscription = connection.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(CHANNEL)
    try:
        emit_from_another_process(redis_url, "news", {"text": "hi"}, to="blue")
        message = wait_for(lambda: subscription.get_message(timeout=0.1))
    finally:
        subscription.close()
        connection.close()
    decoded = json.loads(message["data"])
    assert isinstance(decoded.pop("host_id"), str)
    assert decoded == {
        "method": "emit",
        "event": "news",
        "data": [{"text": "hi"}],
        "binary": False,
        "namespace": "/",
        "room": "blue",
        "skip_sid": None,
        "callback": None,
    }
