"""A live feed written for Flask-SocketIO's threading mode, the way such apps are.

It greets each client from its connect handler, starts a plain thread per
subscription (a tick every ``every`` seconds) that keeps the request context
with ``flask.copy_current_request_context`` (``request.sid`` and the session
are read in the thread), lets another thread disconnect a client, and is
started with ``socketio.run(..., allow_unsafe_werkzeug=True,
extra_files=[...])``, which Flask-SocketIO needs to serve Werkzeug outside a
terminal. Run as ``python feed.py PORT WATCHED_FILE [reload]``.
"""

import os
import sys
import threading
import time

from flask import Flask, copy_current_request_context, request, session
from flask_socketio import SocketIO, disconnect, emit

app = Flask(__name__)
app.config["SECRET_KEY"] = "feed"
socketio = SocketIO(app, async_mode="threading")


@app.route("/pid")
def pid():
    return str(os.getpid())


@socketio.on("connect")
def connect(auth=None):
    session["user"] = (auth or {}).get("user", "anonymous")
    emit("welcome", {"user": session["user"]})


@socketio.on("subscribe")
def subscribe(count, every=0):
    @copy_current_request_context
    def feed():
        for n in range(count):
            time.sleep(every)
            emit("tick", {"n": n, "sid": request.sid, "user": session["user"]})

    threading.Thread(target=feed, daemon=True).start()
    return {"subscribed": request.sid}


@socketio.on("kick_me")
def kick_me(after):
    @copy_current_request_context
    def kick():
        time.sleep(after)
        disconnect()

    threading.Thread(target=kick, daemon=True).start()
    return "later"


if __name__ == "__main__":
    port, watched = int(sys.argv[1]), sys.argv[2]
    socketio.run(
        app,
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader="reload" in sys.argv[3:],
        extra_files=[watched],
    )
