"""The app the production tests serve in separate processes, configured by environment.

- ``SOCKEVENTS_TEST_QUEUE``: the message queue URL (none by default);
- ``SOCKEVENTS_TEST_BUS_LOG``: a file receiving one JSON line per finished
  bus event (kind, name, sid, outcome, args);
- ``SOCKEVENTS_TEST_AUDIT_LOG``: a file for an :class:`AuditLog`;
- ``SOCKEVENTS_TEST_CONFIG_<KEY>``: the config key ``<KEY>`` (the value
  parsed as JSON where it can be), e.g.
  ``SOCKEVENTS_TEST_CONFIG_SOCKEVENTS_HEADER_TIMEOUT=1``.

Events: ``whoami`` answers the process id; ``slow`` emits ``started`` to its
client, sleeps ``seconds`` and answers ``["done", seconds]``; ``broadcast``
emits ``news`` to every client; ``join`` puts the client in a room;
``to_room`` emits ``news`` to a room.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask

from flask_sockevents import Event, SockEvents, emit, join_room
from flask_sockevents.listeners import AuditLog


def create_app() -> Flask:
    """Build the app from the environment."""
    app = Flask(__name__)
    app.config.from_prefixed_env("SOCKEVENTS_TEST_CONFIG")
    queue = os.environ.get("SOCKEVENTS_TEST_QUEUE") or None
    sockevents = SockEvents(app, message_queue=queue, max_connections_per_address=None)

    bus_log_path = os.environ.get("SOCKEVENTS_TEST_BUS_LOG")
    if bus_log_path:
        bus_log = open(bus_log_path, "a", encoding="utf-8")  # noqa: SIM115

        @sockevents.listen("*", namespace="*")
        def log_event(event: Event) -> None:
            record = {
                "kind": event.kind.value,
                "name": event.name,
                "sid": event.sid,
                "outcome": event.outcome.value if event.outcome else None,
                "args": [repr(arg) for arg in event.args],
            }
            bus_log.write(json.dumps(record) + "\n")
            bus_log.flush()

    audit_path = os.environ.get("SOCKEVENTS_TEST_AUDIT_LOG")
    if audit_path:
        AuditLog(audit_path, sockevents)

    @sockevents.on("whoami")
    def whoami() -> int:
        return os.getpid()

    @sockevents.on("slow")
    def slow(seconds: float) -> list[Any]:
        emit("started", seconds)
        sockevents.sleep(seconds)
        return ["done", seconds]

    @sockevents.on("broadcast")
    def broadcast(data: Any) -> bool:
        sockevents.emit("news", data)
        return True

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    @sockevents.on("to_room")
    def to_room(room: str, data: Any) -> bool:
        sockevents.emit("news", data, to=room)
        return True

    return app


app = create_app()
