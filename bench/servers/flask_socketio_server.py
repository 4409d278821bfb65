"""Reference server: Flask-SocketIO under gevent, the Flask application everyone knows.

``BENCH_MESSAGE_QUEUE`` (a ``redis://`` URL) serves with that message queue.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

from _serve import serve  # noqa: E402
from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode="gevent",
    logger=False,
    engineio_logger=False,
    message_queue=os.environ.get("BENCH_MESSAGE_QUEUE") or None,
)


@socketio.on("connect")
def connect(auth: object = None) -> None:
    """Put every client in the room ``all``."""
    join_room("all")


@socketio.on("echo")
def echo(data: object) -> object:
    """Acknowledge with the argument."""
    return data


@socketio.on("broadcast")
def broadcast(data: object) -> None:
    """Send ``msg`` to every client."""
    emit("msg", data, to="all")


if __name__ == "__main__":
    serve(app)
