"""The app the queue-garbage test serves in its own process, on a Redis message queue.

- ``QUEUE_URL``: the message queue;
- ``QUEUE_MAX_MESSAGE_SIZE``: the manager's ``max_message_size``, in bytes.

Events: ``whoami`` answers the process id; ``queue_drops`` the manager's
``dropped_messages``.
"""

from __future__ import annotations

import os

from flask import Flask

from flask_sockevents import SockEvents


def create_app() -> Flask:
    """Build the app from the environment."""
    app = Flask(__name__)
    sockevents = SockEvents(
        app, message_queue=os.environ["QUEUE_URL"], max_connections_per_address=None
    )
    assert sockevents.server is not None
    manager = sockevents.server.manager
    manager.max_message_size = int(os.environ.get("QUEUE_MAX_MESSAGE_SIZE", 16 * 2**20))

    @sockevents.on("whoami")
    def whoami() -> int:
        return os.getpid()

    @sockevents.on("queue_drops")
    def queue_drops() -> dict[str, int]:
        return dict(manager.dropped_messages)

    return app


app = create_app()
