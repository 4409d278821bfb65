"""Acknowledgements over a real socket, in both directions."""

from __future__ import annotations

from typing import Any

import gevent.event
import pytest

from flask_sockevents import call, emit, emit_with_ack

from ._support import AppFactory, Clients, Serve


def test_client_call_returns_the_handlers_return_value(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("echo")(lambda value: value)
    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("echo", {"text": "hi", "n": [1, 2]}, timeout=5) == {
        "text": "hi",
        "n": [1, 2],
    }


def test_a_returned_tuple_becomes_several_ack_arguments(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    sockevents.on("divmod")(lambda a, b: divmod(a, b))
    server = serve(app)
    client = clients.connect(server.url)

    assert client.call("divmod", (17, 5), timeout=5) == (3, 2)


def test_server_call_from_a_handler_is_answered_by_the_client(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("ask")
    def ask(number: int) -> Any:
        return call("question", number, timeout=5)

    server = serve(app)
    client = clients.new()
    client.on("question", lambda number: number * 2)
    clients.connect(server.url, client=client)

    assert client.call("ask", 21, timeout=5) == 42


def test_events_sent_while_a_handler_waits_for_the_clients_answer_follow_in_order(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    handled: list[Any] = []

    @sockevents.on("ask")
    def ask(number: int) -> Any:
        answer = call("question", number, timeout=5)
        handled.append(("ask", answer))
        return answer

    @sockevents.on("note")
    def note(number: int) -> int:
        handled.append(("note", number))
        return number

    server = serve(app)
    client = clients.new()

    def answer_after_notes(number: int) -> int:
        for later in range(3):
            client.emit("note", later)  # sent before the answer: dispatched after "ask"
        return number * 2

    client.on("question", answer_after_notes)
    clients.connect(server.url, client=client)

    assert client.call("ask", 21, timeout=5) == 42
    assert client.call("note", 3, timeout=5) == 3
    assert client.call("ask", 5, timeout=5) == 10
    assert client.call("note", 4, timeout=5) == 4
    notes = [("note", 0), ("note", 1), ("note", 2)]
    assert handled == [("ask", 42), *notes, ("note", 3), ("ask", 10), *notes, ("note", 4)]


# The server pings every 25 s in the tests below (node's default): a handler
# that blocks the websocket's reader would get its answer only then, and
# each client call would time out first.
def _waiting(wait: Any) -> Any:
    """A handler that waits, blocking, for its client's answer through ``wait``."""

    def ask(number: int) -> Any:
        return wait(number)

    return ask


def _emit_callback_and_event(number: int) -> Any:
    answered = gevent.event.AsyncResult()
    emit("question", number, callback=answered.set)
    return answered.get(timeout=5)


def _emit_with_ack_get(number: int) -> Any:
    return emit_with_ack("question", number, timeout=5).get()


@pytest.mark.parametrize(
    "wait",
    [_emit_callback_and_event, _emit_with_ack_get],
    ids=["emit-callback-then-event-wait", "emit_with_ack-get"],
)
def test_a_handler_blocking_until_its_client_answers_gets_the_answer(
    make_app: AppFactory, serve: Serve, clients: Clients, wait: Any
) -> None:
    app, sockevents = make_app(ping_interval=25)
    sockevents.on("ask")(_waiting(wait))
    server = serve(app)
    client = clients.new()
    client.on("question", lambda number: number * 2)
    clients.connect(server.url, client=client)

    assert client.call("ask", 21, timeout=5) == 42
    assert client.call("ask", 4, timeout=5) == 8

