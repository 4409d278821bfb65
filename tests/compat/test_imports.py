"""The import line of a Flask-SocketIO app works after renaming the package."""

from __future__ import annotations

import socketio as python_socketio

import flask_sockevents


def test_every_flask_socketio_name_is_importable() -> None:
    from flask_sockevents import (  # noqa: F401
        ConnectionRefusedError,
        Namespace,
        SocketIO,
        call,
        close_room,
        disconnect,
        emit,
        join_room,
        leave_room,
        rooms,
        send,
    )


def test_connection_refused_error_is_the_one_python_socketio_raises() -> None:
    # Apps written for Flask-SocketIO also import it from socketio.exceptions.
    assert (
        flask_sockevents.ConnectionRefusedError is python_socketio.exceptions.ConnectionRefusedError
    )


def test_disconnect_reasons_are_exposed_on_the_socketio_class() -> None:
    reason = flask_sockevents.SocketIO.reason
    assert reason.CLIENT_DISCONNECT == python_socketio.Server.reason.CLIENT_DISCONNECT
    assert reason.SERVER_DISCONNECT == python_socketio.Server.reason.SERVER_DISCONNECT
