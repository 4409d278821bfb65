"""Acknowledgements with a timeout from one client: answered, unanswered, disconnected.

The server side runs in a handler of a controlling client (``ask``), which
emits ``question`` to the client under test and records what the callback
got, or returns what ``emit_with_ack`` / ``call`` gave.
"""

from __future__ import annotations

from typing import Any

import socketio.exceptions

from flask_sockevents import AckDisconnected, AckTimeout, SockEvents, call, emit, emit_with_ack
from tests.integration._support import AppFactory, Clients, Serve, wait_for

from ._support import TIMEOUT, SilentClient, assert_released


def _outcome(args: tuple[Any, ...]) -> list[Any]:
    """A callback's arguments, with an error as its class name."""
    return [type(arg).__name__ if isinstance(arg, Exception) else arg for arg in args]


def _asking_app(make_app: AppFactory) -> tuple[Any, SockEvents, list[list[Any]]]:
    """An app whose ``ask`` handler emits ``question`` with a timeout and records the callback."""
    app, sockevents = make_app()
    outcomes: list[list[Any]] = []

    @sockevents.on("ask")
    def ask(sid: str, timeout: float) -> bool:
        sockevents.emit(
            "question", 21, to=sid, timeout=timeout,
            callback=lambda *args: outcomes.append(_outcome(args)),
        )  # fmt: skip
        return True

    @sockevents.on("ask_and_wait")
    def ask_and_wait(sid: str, timeout: float) -> Any:
        try:
            return ["answer", sockevents.emit_with_ack("question", 21, to=sid,
                                                       timeout=timeout).get()]  # fmt: skip
        except Exception as exc:
            return [type(exc).__name__, str(exc)]

    return app, sockevents, outcomes


def test_the_callback_gets_no_error_then_the_clients_answer(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents, outcomes = _asking_app(make_app)
    server = serve(app)
    answering = clients.new()
    answering.on("question", lambda number: (number * 2, "twice"))
    clients.connect(server.url, client=answering)
    controller = clients.connect(server.url)

    controller.call("ask", (answering.get_sid(), 5), timeout=TIMEOUT)

    wait_for(lambda: outcomes, message="the callback was not called")
    assert outcomes == [[None, 42, "twice"]]
    assert_released(sockevents.server)


def test_the_callback_gets_ack_timeout_when_the_client_does_not_answer_and_its_ack_is_released(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, outcomes = _asking_app(make_app)
    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)

    controller.call("ask", (quiet.sid, 0.2), timeout=TIMEOUT)

    wait_for(lambda: outcomes, message="the callback was not called")
    assert outcomes == [["AckTimeout"]]
    assert quiet.received == [(21,)]
    assert_released(sockevents.server)
    assert quiet.sid in sockevents.server.manager.callbacks  # still connected: its id counter


def test_an_answer_after_the_timeout_is_ignored_and_the_callback_is_not_called_again(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, outcomes = _asking_app(make_app)
    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)
    controller.call("ask", (quiet.sid, 0.2), timeout=TIMEOUT)
    wait_for(lambda: outcomes, message="the callback was not called")

    quiet.release()  # the held handler answers "late" now
    sockevents.on("probe")(lambda: "ok")
    assert quiet.client.call("probe", timeout=TIMEOUT) == "ok"  # after the late answer

    assert outcomes == [["AckTimeout"]]
    assert_released(sockevents.server)


def test_the_callback_gets_ack_disconnected_as_soon_as_the_client_leaves_and_its_acks_are_gone(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, outcomes = _asking_app(make_app)
    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    sid = quiet.sid
    controller = clients.connect(server.url)
    controller.call("ask", (sid, 600), timeout=TIMEOUT)
    wait_for(lambda: quiet.received, message="the client did not receive the question")

    quiet.close()

    wait_for(lambda: outcomes, message="the callback was not called on the disconnect")
    assert outcomes == [["AckDisconnected"]]
    assert sid not in sockevents.server.manager.callbacks
    assert_released(sockevents.server)


def test_emit_with_ack_returns_the_answer_of_the_client(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents, _ = _asking_app(make_app)
    server = serve(app)
    answering = clients.new()
    answering.on("question", lambda number: number * 2)
    clients.connect(server.url, client=answering)
    controller = clients.connect(server.url)

    result = controller.call("ask_and_wait", (answering.get_sid(), 5), timeout=TIMEOUT)

    assert result == ["answer", 42]
    assert_released(sockevents.server)


def test_emit_with_ack_raises_ack_timeout_when_the_client_does_not_answer(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, _ = _asking_app(make_app)
    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)

    result = controller.call("ask_and_wait", (quiet.sid, 0.2), timeout=TIMEOUT)

    assert result == ["AckTimeout", f"no answer to 'question' from {quiet.sid} within 0.2 s"]
    assert_released(sockevents.server)


def test_emit_with_ack_raises_ack_disconnected_when_the_client_leaves_before_answering(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, _ = _asking_app(make_app)
    waiting: list[Any] = []

    @sockevents.on("ask_in_background")
    def ask_in_background(sid: str) -> bool:
        waiting.append(sockevents.emit_with_ack("question", 21, to=sid, timeout=600))
        return True

    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)
    controller.call("ask_in_background", quiet.sid, timeout=TIMEOUT)
    wait_for(lambda: quiet.received, message="the client did not receive the question")

    quiet.close()

    wait_for(lambda: waiting[0].ready(), message="the result was not rejected on the disconnect")
    assert isinstance(waiting[0].exception, AckDisconnected)
    assert str(waiting[0].exception).startswith("no answer to 'question' from ")


def test_emit_with_ack_does_not_block_the_handler_that_sends_it(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("ask_twice")
    def ask_twice(sid: str) -> list[Any]:
        first = emit_with_ack("question", 1, to=sid, timeout=5)
        second = emit_with_ack("question", 2, to=sid, timeout=5)
        ready_before_waiting = first.ready() or second.ready()
        return [ready_before_waiting, first.get(), second.get()]

    server = serve(app)
    answering = clients.new()
    answering.on("question", lambda number: number * 10)
    clients.connect(server.url, client=answering)
    controller = clients.connect(server.url)

    assert controller.call("ask_twice", answering.get_sid(), timeout=TIMEOUT) == [False, 10, 20]


def test_the_context_helpers_ask_the_current_client_by_default(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()
    outcomes: list[list[Any]] = []

    @sockevents.on("ask_me")
    def ask_me() -> Any:
        emit("question", 1, timeout=5, callback=lambda *args: outcomes.append(_outcome(args)))
        return emit_with_ack("question", 2, timeout=5).get()

    server = serve(app)
    client = clients.new()
    client.on("question", lambda number: number + 100)
    clients.connect(server.url, client=client)

    assert client.call("ask_me", timeout=TIMEOUT) == 102
    wait_for(lambda: outcomes, message="the callback was not called")
    assert outcomes == [[None, 101]]


def test_call_raises_ack_timeout_which_is_also_python_socketios_timeout_error(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents = make_app()

    @sockevents.on("call_quiet")
    def call_quiet(sid: str) -> list[Any]:
        try:
            call("question", 21, to=sid, timeout=0.2)
        except socketio.exceptions.TimeoutError as exc:
            return [type(exc).__name__, isinstance(exc, TimeoutError)]
        return ["answered"]

    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)

    assert controller.call("call_quiet", quiet.sid, timeout=TIMEOUT) == ["AckTimeout", True]
    assert_released(sockevents.server)


def test_call_raises_ack_disconnected_as_soon_as_the_client_leaves(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents = make_app()
    raised: list[Any] = []

    @sockevents.on("call_quiet")
    def call_quiet(sid: str) -> bool:
        def background() -> None:
            try:
                sockevents.call("question", 21, to=sid, timeout=600)
            except AckDisconnected as exc:
                raised.append(exc)

        sockevents.start_background_task(background)
        return True

    server = serve(app)
    quiet = SilentClient(server.url)
    silent.append(quiet)
    controller = clients.connect(server.url)
    controller.call("call_quiet", quiet.sid, timeout=TIMEOUT)
    wait_for(lambda: quiet.received, message="the client did not receive the question")

    quiet.close()

    wait_for(lambda: raised, message="call() did not raise on the disconnect")


def test_a_timeout_without_a_callback_is_refused_with_a_message(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("emit_wrong")
    def emit_wrong() -> str:
        try:
            sockevents.emit("question", 1, timeout=5)
        except ValueError as exc:
            return str(exc)
        return "accepted"

    server = serve(app)
    client = clients.connect(server.url)

    refusal = client.call("emit_wrong", timeout=TIMEOUT)
    assert refusal == "timeout= needs callback=; or use emit_with_ack()"


def test_ack_timeout_is_a_timeout_error_and_ack_disconnected_a_connection_error() -> None:
    assert issubclass(AckTimeout, TimeoutError)
    assert issubclass(AckTimeout, socketio.exceptions.TimeoutError)
    assert issubclass(AckDisconnected, ConnectionError)


def test_an_emit_waiting_for_acknowledgements_is_published_on_the_bus_as_an_emit(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents, _ = _asking_app(make_app)
    emitted: list[Any] = []
    sockevents.listen("question", emits=True)(emitted.append)
    server = serve(app)
    answering = clients.new()
    answering.on("question", lambda number: number)
    clients.connect(server.url, client=answering)
    controller = clients.connect(server.url)

    controller.call("ask_and_wait", (answering.get_sid(), 5), timeout=TIMEOUT)

    wait_for(lambda: emitted, message="the emit was not published")
    (event,) = emitted
    assert (event.kind.value, event.name, event.args, event.to) == (
        "emit", "question", (21,), answering.get_sid(),
    )  # fmt: skip
    assert event.ack_requested is True
    assert event.size == len('21["question",21]')  # EVENT, ack id 1, then the data
