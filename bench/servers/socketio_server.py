"""Reference server: bare python-socketio under gevent, the baseline of every ratio."""

from gevent import monkey

monkey.patch_all()

import socketio  # noqa: E402
from _serve import serve  # noqa: E402

sio = socketio.Server(async_mode="gevent", logger=False, engineio_logger=False)


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
