"""An emit callback *without* a timeout keeps python-socketio's behaviour, on both servers.

Each test runs against python-socketio's own ``socketio.Server`` and against
``SockEvents(app).server`` (see ``tests/compat/_socketio_servers.py``): the
callback is called with the client's answer, as its own arguments, and
never for a client that does not answer, whose pending callback stays until
it disconnects. Flask-SocketIO's ``socketio.emit(..., callback=)`` is run the
same way on Flask-SocketIO 5.7 and on flask_sockevents.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat._socketio_servers import IMPLEMENTATIONS, ServerUnderTest
from tests.integration._support import Clients, wait_for

from ._support import TIMEOUT, SilentClient, pending_acks


@pytest.fixture(params=IMPLEMENTATIONS)
def target(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """python-socketio's server or ours, stopped at the end of the test."""
    under_test = ServerUnderTest(request.param)
    yield under_test
    under_test.stop()


def _asking(target: ServerUnderTest) -> list[tuple[Any, ...]]:
    """Register ``ask``: emit ``question`` to a sid, a plain callback recording its arguments."""
    answers: list[tuple[Any, ...]] = []
    server = target.server

    @server.event
    def ask(sid: str, asked: str) -> bool:
        server.emit("question", 21, to=asked, callback=lambda *args: answers.append(args))
        return True

    return answers


def test_a_plain_callback_gets_the_answer_as_its_arguments(target: ServerUnderTest) -> None:
    answers = _asking(target)
    clients = Clients(["websocket"])
    try:
        answering = clients.new()
        answering.on("question", lambda number: (number * 2, "twice"))
        clients.connect(target.url, client=answering)
        controller = clients.connect(target.url)

        controller.call("ask", answering.get_sid(), timeout=TIMEOUT)

        wait_for(lambda: answers, message="the callback was not called")
        assert answers == [(42, "twice")]
    finally:
        clients.close_all()


def test_a_plain_callback_waits_for_a_silent_client_until_it_disconnects(
    target: ServerUnderTest,
) -> None:
    answers = _asking(target)
    clients = Clients(["websocket"])
    quiet = SilentClient(target.url)
    try:
        controller = clients.connect(target.url)
        controller.call("ask", quiet.sid, timeout=TIMEOUT)
        wait_for(lambda: quiet.received, message="the client did not receive the question")

        assert pending_acks(target.server) == {quiet.sid: [1]}
        sid = quiet.sid
        quiet.client.disconnect()
        wait_for(lambda: sid not in target.server.manager.callbacks,
                 message="the pending callback outlived the client")  # fmt: skip
        assert answers == []
    finally:
        quiet.close()
        clients.close_all()


@pytest.fixture(params=["flask_socketio", "flask_sockevents"])
def flask_target(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """``(socketio, url)``: a Flask app with Flask-SocketIO's or our ``SocketIO``, served live."""
    from flask import Flask

    from flask_sockevents.testing import LiveServer
    from tests.compat._socketio_servers import BareSocketIOServer

    module = importlib.import_module(request.param)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "compat"
    extension = module.SocketIO(app, async_mode="gevent")
    live = BareSocketIOServer(app) if request.param == "flask_socketio" else LiveServer(app)
    live.start()
    yield extension, live.url
    live.stop()


def test_flask_socketio_s_emit_callback_gets_the_answer_on_both_extensions(
    flask_target: tuple[Any, str],
) -> None:
    extension, url = flask_target
    answers: list[tuple[Any, ...]] = []

    @extension.on("ask")
    def ask(asked: str) -> bool:
        extension.emit("question", 21, to=asked, callback=lambda *args: answers.append(args))
        return True

    clients = Clients(["websocket"])
    try:
        answering = clients.new()
        answering.on("question", lambda number: (number * 2, "twice"))
        clients.connect(url, client=answering)
        controller = clients.connect(url)

        controller.call("ask", answering.get_sid(), timeout=TIMEOUT)

        wait_for(lambda: answers, message="the callback was not called")
        assert answers == [(42, "twice")]
    finally:
        clients.close_all()
