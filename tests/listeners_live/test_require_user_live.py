"""RequireUser on a live server: the Flask session decides who may connect and send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import socketio
from flask import Flask, request, session

from flask_sockevents import SockEvents
from flask_sockevents.guards import RequireUser
from flask_sockevents.testing import LiveServer

from ._support import TIMEOUT, wait_for


@pytest.fixture
def url(serve: Callable[[Flask], LiveServer]) -> str:
    """A live app where ``/login?user=<name>`` logs in and every namespace needs a user."""
    app = Flask(__name__)
    app.secret_key = "live tests"
    sockevents = SockEvents(app)
    RequireUser(sockevents, user=lambda: session.get("user"))

    @app.get("/login")
    def login() -> str:
        session["user"] = request.args["user"]
        return "ok"

    @sockevents.on("whoami")
    def whoami() -> Any:
        return session["user"]

    return serve(app).url


def session_cookie(url: str, user: str) -> str:
    """Log ``user`` in over HTTP; return the ``Cookie`` header that carries the session."""
    with requests.Session() as http:
        http.get(f"{url}/login", params={"user": user}, timeout=TIMEOUT).raise_for_status()
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def test_a_client_without_a_login_is_refused_at_connect(url, clients) -> None:
    client = clients.new()
    errors: list[Any] = []
    client.on("connect_error", errors.append)

    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(url, client=client)

    assert wait_for(lambda: errors) == [{"message": "authentication required"}]
    assert not client.connected


def test_a_logged_in_client_is_accepted_and_its_events_handled(url, clients) -> None:
    client = clients.connect(url, headers={"Cookie": session_cookie(url, "alice")})

    assert client.call("whoami", timeout=5) == "alice"


def test_a_forged_session_cookie_is_refused(url, clients) -> None:
    forged = session_cookie(url, "alice").replace("session=", "session=x", 1)

    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(url, headers={"Cookie": forged})
