"""Fixtures for the Flask-SocketIO compatibility suite.

Each test in ``tests/compat`` is one documented behaviour of Flask-SocketIO 5.x,
written against ``flask_sockevents`` with Flask-SocketIO's names, so that an app
written for Flask-SocketIO runs after changing only its import line.

Every test builds a fresh Flask app and a fresh ``SocketIO`` so that handlers
registered by one test never answer another test's events.

Tests that take ``extension`` run twice, against Flask-SocketIO 5.7 itself and
against flask_sockevents, and assert the same outcome for both.
"""

from __future__ import annotations

import importlib
from types import ModuleType

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


@pytest.fixture(params=["flask_socketio", "flask_sockevents"])
def extension(request: pytest.FixtureRequest) -> ModuleType:
    """The module an app imports ``SocketIO``, ``emit``, ``Namespace``... from."""
    return importlib.import_module(request.param)
