"""A gevent-mode app served over TLS with the ``certfile`` and ``keyfile`` that
Flask-SocketIO passes to gevent's server. Run as ``python tls_gevent.py PORT CERT KEY``."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent")


@app.route("/pid")
def pid():
    return str(os.getpid())


@socketio.on("secure")
def secure():
    return "over TLS"


if __name__ == "__main__":
    port, certfile, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    socketio.run(app, port=port, certfile=certfile, keyfile=keyfile)
