"""Reference server: bare python-socketio under gevent, the baseline of every ratio.

``BENCH_MESSAGE_QUEUE`` (a ``redis://`` URL) serves with python-socketio's ``RedisManager``.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

import socketio  # noqa: E402
from _serve import serve  # noqa: E402

queue = os.environ.get("BENCH_MESSAGE_QUEUE")
sio = socketio.Server(
    async_mode="gevent",
    logger=False,
    engineio_logger=False,
    client_manager=socketio.RedisManager(queue) if queue else None,
)


@sio.on("connect")
def connect(sid: str, environ: dict, auth: object = None) -> None:
    """Put every client in the room ``all``."""
    sio.enter_room(sid, "all")


@sio.on("echo")
def echo(sid: str, data: object) -> object:
    """Acknowledge with the argument."""
    return data


@sio.on("broadcast")
def broadcast(sid: str, data: object) -> None:
    """Send ``msg`` to every client."""
    sio.emit("msg", data, to="all")


if __name__ == "__main__":
    serve(socketio.WSGIApp(sio))
