"""Fixtures for the Flask-SocketIO compatibility suite.

Each test in ``tests/compat`` is one documented behaviour of Flask-SocketIO 5.x,
written against ``flask_sockevents`` with Flask-SocketIO's names, so that an app
written for Flask-SocketIO runs after changing only its import line.

Every test builds a fresh Flask app and a fresh ``SocketIO`` so that handlers
registered by one test never answer another test's events.
"""

from __future__ import annotations

import pytest
from flask import Flask

from flask_sockevents import SocketIO


@pytest.fixture
def app() -> Flask:
    """A Flask app with a secret key, as every Flask-SocketIO example has."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret!"
    app.config["TESTING"] = True
    return app


@pytest.fixture
def socketio(app: Flask) -> SocketIO:
    """``SocketIO(app)`` with default options."""
    return SocketIO(app)
