"""The app the cross-process acknowledgement tests serve in separate processes.

- ``SOCKEVENTS_TEST_QUEUE``: the Redis URL of the message queue;
- ``SOCKEVENTS_TEST_CHANNEL``: the queue's channel (each test module has its own).

Events: ``join`` puts the client in a room; ``ask`` emits ``question`` with
``emit_with_ack`` to a sid or room and returns what it got; ``ask_later``
does the same in the background, and ``ask_with_callback`` with
``emit(..., callback=, timeout=)``, under a key that ``outcome`` reads;
``pending`` tells the acknowledgements still pending in this process.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from flask_sockevents import AckError, BroadcastAcks, SockEvents, join_room

#: What ``ask_later`` got, by key (``None`` while waiting).
outcomes: dict[str, Any] = {}


def _described(result: Any) -> Any:
    """An ``AsyncResult``'s value or error, as JSON."""
    try:
        value = result.get()
    except AckError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(value, BroadcastAcks):
        return _described_acks(value)
    return {"answer": value}


def _described_acks(acks: BroadcastAcks) -> dict[str, Any]:
    return {"answers": dict(acks), "missing": sorted(acks.missing),
            "silent_processes": acks.silent_processes}  # fmt: skip


def create_app() -> Flask:
    """Build the app from the environment."""
    app = Flask(__name__)
    sockevents = SockEvents(
        app,
        message_queue=os.environ["SOCKEVENTS_TEST_QUEUE"],
        channel=os.environ.get("SOCKEVENTS_TEST_CHANNEL", "flask-socketio"),
        max_connections_per_address=None,
    )

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    @sockevents.on("ask")
    def ask(to: str, timeout: float) -> Any:
        return _described(sockevents.emit_with_ack("question", 21, to=to, timeout=timeout))

    @sockevents.on("ask_later")
    def ask_later(key: str, to: str, timeout: float) -> bool:
        outcomes[key] = None
        result = sockevents.emit_with_ack("question", 21, to=to, timeout=timeout)

        def wait() -> None:
            outcomes[key] = _described(result)

        sockevents.start_background_task(wait)
        return True

    @sockevents.on("ask_with_callback")
    def ask_with_callback(key: str, to: str, timeout: float) -> bool:
        outcomes[key] = None

        def record(error: Exception | None, acks: BroadcastAcks) -> None:
            outcomes[key] = [type(error).__name__ if error else None, _described_acks(acks)]

        sockevents.emit("question", 21, to=to, timeout=timeout, callback=record)
        return True

    @sockevents.on("outcome")
    def outcome(key: str) -> Any:
        return outcomes.get(key)

    @sockevents.on("pending")
    def pending() -> dict[str, Any]:
        server = sockevents.server
        assert server is not None
        acks = {
            sid: [k for k in entry if k != 0] for sid, entry in server.manager.callbacks.items()
        }
        return {"acks": {sid: ids for sid, ids in acks.items() if ids},
                "requests": server.acks.pending, "waiting": server.acks.waiting}  # fmt: skip

    return app


app = create_app()
