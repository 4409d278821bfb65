"""The app the cluster tests serve in separate processes, configured by environment.

- ``SOCKEVENTS_TEST_QUEUE``: the Redis URL of the message queue;
- ``SOCKEVENTS_TEST_CHANNEL``: the queue's channel (each test module has its own);
- ``SOCKEVENTS_TEST_HEARTBEAT``: ``cluster_heartbeat`` in seconds;
- ``SOCKEVENTS_TEST_PING_INTERVAL``: Engine.IO's ``ping_interval`` (the
  benchmark raises it so that idle polling sessions stay open).

A client's user (for presence) is the ``user`` query parameter of its
handshake. Events let a test drive the cluster API from inside a process and
read what the process saw: server-side events on its bus, presence signals.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gevent.event
from flask import Flask, request

from flask_sockevents import Event, EventKind, SockEvents, join_room, signals
from flask_sockevents.cluster import ClusterReply
from flask_sockevents.guards import RequireUser
from flask_sockevents.listeners import Presence
from flask_sockevents.monitor import Monitor


def _reply(reply: ClusterReply) -> dict[str, Any]:
    return {"results": reply.results, "missing": list(reply.missing)}


def create_app() -> Flask:
    """Build the app from the environment."""
    app = Flask(__name__)
    sockevents = SockEvents(
        app,
        message_queue=os.environ["SOCKEVENTS_TEST_QUEUE"],
        channel=os.environ.get("SOCKEVENTS_TEST_CHANNEL", "flask-socketio"),
        cluster_heartbeat=float(os.environ.get("SOCKEVENTS_TEST_HEARTBEAT", "0.5")),
        max_connections_per_address=None,
        namespaces="*",
        ping_interval=float(os.environ.get("SOCKEVENTS_TEST_PING_INTERVAL", "25")),
    )
    presence = Presence(sockevents, user=lambda: request.args.get("user"))
    Monitor(sockevents)
    server_events: list[dict[str, Any]] = []
    presence_log: list[list[Any]] = []

    @signals.user_joined.connect_via(app)
    def joined(sender: Any, user: Any, namespace: str) -> None:
        presence_log.append(["joined", user, namespace])

    @signals.user_left.connect_via(app)
    def left(sender: Any, user: Any, namespace: str) -> None:
        presence_log.append(["left", user, namespace])

    @sockevents.on("whoami")
    def whoami() -> int:
        return os.getpid()

    @sockevents.on("set_data")
    def set_data(data: dict[str, Any]) -> bool:
        sockevents.socket_data().update(data)
        return True

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    @sockevents.on("fetch")
    def fetch(room: str | None = None) -> dict[str, Any]:
        found = sockevents.fetch_sockets(room, timeout=3)
        return {
            "sockets": [
                {
                    "sid": socket.sid,
                    "rooms": sorted(socket.rooms),
                    "remote_addr": socket.remote_addr,
                    "headers": socket.headers,
                    "data": socket.data,
                    "process": socket.process,
                }
                for socket in found
            ],
            "missing": list(found.missing),
        }

    @sockevents.on("time_fetch")
    def time_fetch(room: str | None = None) -> dict[str, Any]:
        """How long fetch_sockets takes here (for the benchmark), and what it found."""
        started = time.perf_counter()
        found = sockevents.fetch_sockets(room, timeout=10)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "count": len(found), "missing": list(found.missing),
                "processes": len({socket.process for socket in found})}  # fmt: skip

    @sockevents.on("sockets_join")
    def sockets_join(rooms: list[str], room: str | None) -> dict[str, Any]:
        return _reply(sockevents.sockets_join(rooms, room, timeout=3))

    @sockevents.on("disconnect_sockets")
    def disconnect_sockets(room: str | None = None) -> dict[str, Any]:
        return _reply(sockevents.disconnect_sockets(room, timeout=3))

    @sockevents.on("to_room")
    def to_room(room: str, data: Any) -> bool:
        sockevents.emit("news", data, to=room)
        return True

    @sockevents.on("server_emit")
    def server_emit(event: str, args: list[Any], namespace: str) -> dict[str, Any]:
        done = gevent.event.AsyncResult()
        sockevents.server_side_emit(event, *args, namespace=namespace, callback=done.set, timeout=3)
        return _reply(done.get(timeout=10))

    @sockevents.on("hello", namespace="*")
    def hello(*args: Any) -> dict[str, Any]:
        return {"pid": os.getpid(), "args": list(args)}

    # Registered through python-socketio's API, behind a guard refusing every client.
    RequireUser(sockevents, user=lambda: None, events="py_hello")

    @sockevents.server.on("py_hello")  # type: ignore[union-attr]
    def py_hello(sid: str | None, *args: Any) -> dict[str, Any]:
        return {"sid": sid, "args": list(args)}

    @sockevents.guard("forbidden", namespace="*")
    def refuse(event: Event) -> bool:
        return event.kind is not EventKind.SERVER

    @sockevents.on("forbidden", namespace="*")
    def forbidden() -> str:
        return "should not run"

    @sockevents.listen("*", namespace="*")
    def record_server_events(event: Event) -> None:
        if event.kind is EventKind.SERVER:
            server_events.append(
                {
                    "name": event.name,
                    "namespace": event.namespace,
                    "args": list(event.args),
                    "outcome": event.outcome.value if event.outcome else None,
                }
            )

    @sockevents.on("server_events")
    def seen_server_events() -> list[dict[str, Any]]:
        return server_events

    @sockevents.on("presence")
    def presence_now(room: str | None = None) -> dict[str, Any]:
        return {"users": sorted(presence.users(room, timeout=3)), "count": presence.count(room)}

    @sockevents.on("presence_log")
    def presence_signals() -> list[list[Any]]:
        return presence_log

    @sockevents.on("processes")
    def processes() -> dict[str, Any]:
        assert sockevents.cluster is not None
        return sockevents.cluster.processes()

    assert sockevents.cluster is not None
    sockevents.cluster.start()
    return app


app = create_app()
