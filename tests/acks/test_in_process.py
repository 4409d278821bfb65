"""Acknowledgements with a timeout with the in-process test client, and from a plain thread."""

from __future__ import annotations

import threading
from typing import Any

import gevent
import pytest
from flask import Flask, request

from flask_sockevents import AckTimeout, Namespace, SockEvents
from tests.integration._support import AppFactory, Clients, Serve, wait_for

from ._support import TIMEOUT, assert_released


@pytest.fixture
def app_and_sockevents() -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    return app, SockEvents(app)


def test_the_test_client_answers_emit_with_ack(app_and_sockevents: Any) -> None:
    app, sockevents = app_and_sockevents
    client = sockevents.test_client(app)
    client.on("question", lambda number: number * 2)
    sid = sockevents.server.manager.sid_from_eio_sid(client.eio_sid, "/")

    assert sockevents.emit_with_ack("question", 21, to=sid, timeout=5).get(timeout=5) == 42
    assert_released(sockevents.server)


def test_a_test_client_without_a_handler_lets_emit_with_ack_time_out(
    app_and_sockevents: Any,
) -> None:
    app, sockevents = app_and_sockevents
    client = sockevents.test_client(app)
    sid = sockevents.server.manager.sid_from_eio_sid(client.eio_sid, "/")

    with pytest.raises(AckTimeout):
        sockevents.emit_with_ack("question", 21, to=sid, timeout=0.1).get(timeout=5)
    assert_released(sockevents.server)


def test_emit_with_ack_from_a_plain_thread_is_refused_and_emit_with_a_timeout_works(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    server = serve(app)
    client = clients.new()
    client.on("question", lambda number: number + 1)
    clients.connect(server.url, client=client)
    outcomes: list[Any] = []
    refusals: list[str] = []

    def from_a_thread() -> None:  # an OS thread: gevent has not patched this test process
        try:
            sockevents.emit_with_ack("question", 1, to=client.get_sid(), timeout=5)
        except RuntimeError as exc:
            refusals.append(str(exc))
        sockevents.emit("question", 2, to=client.get_sid(), timeout=5,
                        callback=lambda *args: outcomes.append(args))  # fmt: skip

    thread = threading.Thread(target=from_a_thread)
    thread.start()
    thread.join(TIMEOUT)

    assert refusals and refusals[0].startswith("emit_with_ack() waits on the server's greenlets")
    wait_for(lambda: outcomes, message="the callback was not called")
    assert outcomes == [(None, 3)]


def test_a_class_based_namespace_emits_with_a_timeout_error_first(
    app_and_sockevents: Any,
) -> None:
    app, sockevents = app_and_sockevents
    outcomes: list[tuple[Any, ...]] = []

    class Quiz(Namespace):
        def on_start(self) -> None:
            self.emit("question", 21, to=request.sid, timeout=5,
                      callback=lambda *args: outcomes.append(args))  # fmt: skip
            self.emit("riddle", 1, to=request.sid, timeout=0.1,
                      callback=lambda *args: outcomes.append(args))  # fmt: skip

    sockevents.on_namespace(Quiz("/quiz"))
    client = sockevents.test_client(app, namespace="/quiz")
    client.on("question", lambda number: number * 2, namespace="/quiz")
    client.emit("start", namespace="/quiz")

    with gevent.Timeout(TIMEOUT, AssertionError("a callback was not called")):
        while len(outcomes) < 2:  # the timeout runs on the server's loop: let it turn
            gevent.sleep(0.01)
    assert outcomes[0] == (None, 42)
    assert isinstance(outcomes[1][0], AckTimeout) and len(outcomes[1]) == 1
    assert_released(sockevents.server)
