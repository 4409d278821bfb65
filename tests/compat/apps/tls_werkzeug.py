"""A threading-mode app served over TLS the way Werkzeug's ``app.run()`` takes it:
``ssl_context=(certfile, keyfile)``. Run as ``python tls_werkzeug.py PORT CERT KEY``."""

import os
import sys

from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading")


@app.route("/pid")
def pid():
    return str(os.getpid())


@socketio.on("secure")
def secure():
    return "over TLS"


if __name__ == "__main__":
    port, certfile, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    socketio.run(app, port=port, allow_unsafe_werkzeug=True, ssl_context=(certfile, keyfile))
