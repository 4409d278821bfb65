"""An app factory that tunes the server through ``server_options`` before ``init_app``."""

from flask import Flask
from flask_socketio import SocketIO, emit

socketio = SocketIO()


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "factory"
    socketio.server_options["allow_upgrades"] = False
    socketio.server_options["ping_interval"] = 7
    socketio.init_app(app)
    return app


@socketio.on("hello")
def hello(name):
    emit("hi", "hello " + name)
    return len(name)
