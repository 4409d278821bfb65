"""What the cluster features cost: presence per connect and disconnect, fetch_sockets latency.

    .venv/bin/python bench/cluster.py presence [--count 2000]
    .venv/bin/python bench/cluster.py fetch [--clients 10000] [--repeats 5]
    .venv/bin/python bench/cluster.py response [--entries 10000]

``presence`` times Presence's connect and disconnect receivers (what every
accepted connect and every disconnect pays), with a real ``redis-server`` on a
free loopback port and without a queue.

``fetch`` starts a ``redis-server`` and three server processes (the cluster
tests' app), opens ``--clients`` clients spread over them as raw Engine.IO
long-polling sessions (a handshake and a namespace CONNECT each: the server
sees real connects on its bus), then times ``fetch_sockets()`` inside one
process, ``--repeats`` times. Clients are opened for at most ``--budget``
seconds; the figure is reported for as many as were opened.

``response`` times the response path alone in one process: encoding an
answer of ``--entries`` sockets, publishing it through Redis, receiving,
decoding and building the :class:`RemoteSocket` list.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.production._support import Process, free_port, redis_server_or_skip  # noqa: E402


def start_redis(logs: Path) -> tuple[Process, str]:
    port = free_port()
    argv = [redis_server_or_skip(), "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    return Process(
        "redis", [*argv, "--appendonly", "no"], port, logs
    ), f"redis://127.0.0.1:{port}/0"


def bench_presence(count: int) -> None:
    from flask import Flask, request

    from flask_sockevents import Event, EventKind, Outcome, SockEvents
    from flask_sockevents.listeners import Presence

    logs = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    redis, url = start_redis(logs)
    try:
        for label, queue in (("no queue (local)", None), ("redis queue", url)):
            app = Flask(__name__)
            sockevents = SockEvents(app, message_queue=queue)
            presence = Presence(sockevents, user=lambda: request.args.get("user"))
            events = [
                Event(EventKind.CONNECT, "/", "connect", f"sid{i}").finished(Outcome.HANDLED)
                for i in range(count)
            ]
            connect_times, disconnect_times = [], []
            for i, event in enumerate(events):
                with app.test_request_context(f"/socket.io/?user=u{i % (count // 2)}"):
                    started = time.perf_counter()
                    presence._connected(app, event=event)
                    connect_times.append(time.perf_counter() - started)
            online = presence.count()
            for event in events:
                gone = event._replace(kind=EventKind.DISCONNECT, name="disconnect")
                started = time.perf_counter()
                presence._disconnected(app, event=gone)
                disconnect_times.append(time.perf_counter() - started)
            print(
                f"presence, {label}: {count} connects of {online} users, then their disconnects: "
                f"connect median {statistics.median(connect_times) * 1e6:.0f} µs "
                f"(p90 {_p90(connect_times) * 1e6:.0f}), disconnect median "
                f"{statistics.median(disconnect_times) * 1e6:.0f} µs "
                f"(p90 {_p90(disconnect_times) * 1e6:.0f}); online after: {presence.count()}"
            )
            presence.close()
    finally:
        redis.terminate()


def _p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


def _open_polling_client(session: Any, url: str, user: str) -> bool:
    response = session.get(f"{url}/socket.io/?EIO=4&transport=polling&user={user}", timeout=10)
    if response.status_code != 200:
        return False
    handshake = json.loads(response.text[1:])
    sid = handshake["sid"]
    post = session.post(
        f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="40", timeout=10
    )
    return post.status_code == 200


def bench_fetch(clients: int, repeats: int, budget: float) -> None:
    import requests
    import socketio

    from tests.cluster._support import Cluster

    logs = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    redis, url = start_redis(logs)
    # Idle polling sessions must outlive the opening of all of them.
    cluster = Cluster(url, "bench", logs, env={"SOCKEVENTS_TEST_PING_INTERVAL": "900"})
    try:
        sessions = [requests.Session() for _ in cluster.servers]
        opened = 0
        started = time.monotonic()
        while opened < clients and time.monotonic() - started < budget:
            index = opened % len(cluster.servers)
            if _open_polling_client(
                sessions[index], cluster.servers[index].url, f"u{opened % 2000}"
            ):
                opened += 1
        opening = time.monotonic() - started
        print(f"opened {opened} polling clients over 3 processes in {opening:.1f} s")
        asker = socketio.Client(reconnection=False)
        asker.connect(cluster.servers[0].url, transports=["websocket"])
        timings = []
        for _ in range(repeats):
            answer = asker.call("time_fetch", None, timeout=60)
            timings.append(answer["seconds"])
            print(
                f"  fetch_sockets(): {answer['count']} sockets from {answer['processes']} "
                f"processes in {answer['seconds'] * 1000:.0f} ms, missing {answer['missing']}"
            )
        print(f"fetch_sockets median over {repeats}: {statistics.median(timings) * 1000:.0f} ms")
        asker.disconnect()
    finally:
        cluster.stop()
        redis.terminate()


def bench_response(entries: int) -> None:
    import redis as redis_module

    from flask_sockevents.cluster import _remote
    from flask_sockevents.clusterlink import ClusterLink

    logs = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    server, url = start_redis(logs)
    try:
        client = redis_module.Redis.from_url(url)
        asking = ClusterLink(client, "bench", "asker")
        answering = ClusterLink(client, "bench", "answerer")
        answer = [
            {"sid": f"{i:020d}", "namespace": "/", "rooms": [f"{i:020d}", "lobby"],
             "remote_addr": "127.0.0.1", "headers": {"user-agent": "Mozilla/5.0 bench"},
             "data": {"user": f"u{i}", "seat": i}}
            for i in range(entries)
        ]  # fmt: skip
        timings = []
        for _ in range(5):
            request_id = "r" * 32
            subscription = client.pubsub(ignore_subscribe_messages=True)
            subscription.subscribe(asking.reply_prefix + request_id)
            from flask_sockevents.clusterlink import Request

            request = Request(
                request_id, "asker", asking.reply_prefix + request_id, "fetch", "/", {}
            )
            started = time.perf_counter()
            answering.answer(request, answer)
            message = None
            while message is None:
                message = subscription.get_message(timeout=5)
            origin, result = asking.read_answer(message["data"], request_id)  # type: ignore[misc]
            sockets = [_remote(entry, origin) for entry in result]
            timings.append(time.perf_counter() - started)
            subscription.close()
            assert len(sockets) == entries
        size = len(json.dumps(answer))
        print(
            f"response path, {entries} sockets ({size / 1e6:.1f} MB of JSON): encode, publish, "
            f"receive, decode, build: median {statistics.median(timings) * 1000:.0f} ms"
        )
    finally:
        server.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["presence", "fetch", "response"])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--entries", type=int, default=10_000)
    options = parser.parse_args()
    if options.what == "presence":
        bench_presence(options.count)
    elif options.what == "fetch":
        bench_fetch(options.clients, options.repeats, options.budget)
    else:
        bench_response(options.entries)


if __name__ == "__main__":
    main()
