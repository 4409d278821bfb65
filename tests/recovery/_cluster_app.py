"""The live recovery test app (:mod:`._app`) on a Redis message queue, served by
several processes (``python -m flask_sockevents tests/recovery/_cluster_app.py:app``).

Configured by the environment the cluster tests' processes get
(:class:`tests.cluster._support.Cluster`):

- ``SOCKEVENTS_TEST_QUEUE``: the Redis URL of the message queue;
- ``SOCKEVENTS_TEST_CHANNEL``: the queue's channel (each test module has its own);
- ``SOCKEVENTS_TEST_HEARTBEAT``: ``cluster_heartbeat`` in seconds;
- ``SOCKEVENTS_TEST_RECOVERY``: ``connection_state_recovery``, as JSON.

Besides the hooks of :mod:`._app` (``/gap/<sid>``, ``/emit/<room>/<text>``...),
``GET /flush`` writes the connected sessions this process tracks to Redis now
(rather than within ``track_interval``), so that a test may kill the process
knowing what Redis holds. ``GET /enter/<sid>/<room>`` puts client ``sid``
in ``room`` and ``GET /close/<room>`` closes ``room``, wherever their
clients are (python-socketio's ``enter_room`` and ``close_room``, through
the queue). ``GET /page`` and ``GET /client.js`` serve the
browser test's page and the client's bundle (:mod:`.test_browser`); every
origin is allowed: a page served by one process connects to another.
"""

from __future__ import annotations

import json
import os

from flask import Flask

from ._app import make_app
from .test_browser import BUNDLE, PAGE


def create_app() -> Flask:
    """Build the app from the environment."""
    app, sockevents = make_app(
        json.loads(os.environ.get("SOCKEVENTS_TEST_RECOVERY", "true")),
        message_queue=os.environ["SOCKEVENTS_TEST_QUEUE"],
        channel=os.environ.get("SOCKEVENTS_TEST_CHANNEL", "flask-socketio"),
        cluster_heartbeat=float(os.environ.get("SOCKEVENTS_TEST_HEARTBEAT", "0.5")),
        cors_allowed_origins="*",
        max_connections_per_address=None,
    )

    @app.route("/flush")
    def flush() -> str:
        server = sockevents.server
        assert server is not None and server.recovery is not None
        server.recovery.store.flush()  # type: ignore[attr-defined]  # the Redis store's
        return "flushed"

    @app.route("/enter/<sid>/<room>")
    def enter(sid: str, room: str) -> str:
        assert sockevents.server is not None
        sockevents.server.enter_room(sid, room)
        return "entered"

    @app.route("/close/<room>")
    def close(room: str) -> str:
        assert sockevents.server is not None
        sockevents.server.close_room(room)
        return "closed"

    app.add_url_rule("/page", "page", lambda: PAGE)
    app.add_url_rule(
        "/client.js",
        "client",
        lambda: (BUNDLE.read_bytes(), 200, {"Content-Type": "text/javascript"}),
    )
    assert sockevents.cluster is not None
    sockevents.cluster.start()  # the cluster tests' processes wait for the registry
    return app


app = create_app()
