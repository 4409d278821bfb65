"""An app that registers a python-socketio ``Namespace`` class on ``socketio.server``.

Libraries and older code talk to python-socketio's server directly: the
handlers take the ``sid`` first, ``connect`` gets ``environ`` and ``auth``,
and the return value is the acknowledgement.
"""

import socketio as python_socketio
from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
app.config["SECRET_KEY"] = "server-namespace"
socketio = SocketIO(app)


class Echo(python_socketio.Namespace):
    def on_connect(self, sid, environ, auth):
        self.emit("hello", {"sid": sid, "auth": auth}, to=sid)

    def on_echo(self, sid, data):
        return {"from": sid, "echo": data}


socketio.server.register_namespace(Echo("/echo"))
