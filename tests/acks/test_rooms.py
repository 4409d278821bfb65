"""Acknowledgements with a timeout from a room, a list of rooms, or everyone.

Clients join ``lobby``; a controlling client's handler emits ``question`` to
the room with a timeout and returns (or records) every answer and the list
of clients that did not answer.
"""

from __future__ import annotations

from typing import Any

from flask_sockevents import AckDisconnected, BroadcastAcks, SockEvents, join_room
from tests.integration._support import AppFactory, Clients, InOrderClient, Serve, wait_for

from ._support import TIMEOUT, SilentClient, assert_released


def _described(acks: BroadcastAcks) -> dict[str, Any]:
    return {"answers": dict(acks), "missing": sorted(acks.missing), "complete": acks.complete}


def _room_app(make_app: AppFactory) -> tuple[Any, SockEvents, list[Any]]:
    app, sockevents = make_app()
    outcomes: list[Any] = []

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    @sockevents.on("ask_room")
    def ask_room(room: Any, timeout: float) -> dict[str, Any]:
        return _described(sockevents.emit_with_ack("question", 7, to=room, timeout=timeout).get())

    @sockevents.on("ask_room_callback")
    def ask_room_callback(room: Any, timeout: float) -> bool:
        def record(error: Exception | None, acks: BroadcastAcks) -> None:
            outcomes.append([type(error).__name__ if error else None, _described(acks)])

        sockevents.emit("question", 7, to=room, timeout=timeout, callback=record)
        return True

    return app, sockevents, outcomes


def _answering(clients: Clients, url: str, room: str, factor: int) -> InOrderClient:
    client = clients.new()
    client.on("question", lambda number: number * factor)
    clients.connect(url, client=client)
    assert client.call("join", room, timeout=TIMEOUT) is True
    return client


def _silent_in(url: str, room: str, silent: list[SilentClient]) -> SilentClient:
    quiet = SilentClient(url)
    silent.append(quiet)
    assert quiet.client.call("join", room, timeout=TIMEOUT) is True
    return quiet


def test_every_answer_of_a_room_and_the_clients_that_did_not_answer(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, _ = _room_app(make_app)
    server = serve(app)
    answering = [_answering(clients, server.url, "lobby", factor) for factor in (1, 2, 3)]
    quiet = [_silent_in(server.url, "lobby", silent) for _ in range(2)]
    controller = clients.connect(server.url)

    result = controller.call("ask_room", ("lobby", 0.5), timeout=TIMEOUT)

    factors = zip(answering, (1, 2, 3), strict=True)
    assert result == {
        "answers": {client.get_sid(): 7 * factor for client, factor in factors},
        "missing": sorted(client.sid for client in quiet),
        "complete": False,
    }
    assert_released(sockevents.server)


def test_the_callback_gets_no_error_and_every_answer_when_the_whole_room_answers(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, _sockevents, outcomes = _room_app(make_app)
    server = serve(app)
    answering = [_answering(clients, server.url, "lobby", factor) for factor in (1, 2)]
    controller = clients.connect(server.url)

    controller.call("ask_room_callback", ("lobby", 60), timeout=TIMEOUT)

    wait_for(lambda: outcomes, message="the callback was not called")  # long before 60 s
    factors = zip(answering, (1, 2), strict=True)
    answers = {client.get_sid(): 7 * factor for client, factor in factors}
    assert outcomes == [[None, {"answers": answers, "missing": [], "complete": True}]]


def test_the_callback_gets_ack_timeout_and_the_answers_that_came(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, outcomes = _room_app(make_app)
    server = serve(app)
    answering = _answering(clients, server.url, "lobby", 1)
    quiet = _silent_in(server.url, "lobby", silent)
    controller = clients.connect(server.url)

    controller.call("ask_room_callback", ("lobby", 0.3), timeout=TIMEOUT)

    wait_for(lambda: outcomes, message="the callback was not called")
    assert outcomes == [
        ["AckTimeout", {"answers": {answering.get_sid(): 7}, "missing": [quiet.sid],
                        "complete": False}],
    ]  # fmt: skip
    assert_released(sockevents.server)


def test_a_room_whose_silent_clients_leave_ends_at_once_with_ack_disconnected(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents, outcomes = _room_app(make_app)
    server = serve(app)
    answering = _answering(clients, server.url, "lobby", 1)
    quiet = _silent_in(server.url, "lobby", silent)
    quiet_sid = quiet.sid
    controller = clients.connect(server.url)
    controller.call("ask_room_callback", ("lobby", 600), timeout=TIMEOUT)
    wait_for(lambda: quiet.received, message="the silent client did not receive the question")

    quiet.close()

    wait_for(lambda: outcomes, message="the callback was not called on the disconnect")
    assert outcomes == [
        ["AckDisconnected", {"answers": {answering.get_sid(): 7}, "missing": [quiet_sid],
                             "complete": False}],
    ]  # fmt: skip
    assert quiet_sid not in sockevents.server.manager.callbacks
    assert_released(sockevents.server)


def test_everyone_is_asked_when_to_is_omitted_and_skip_sid_leaves_one_out(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("ask_everyone")
    def ask_everyone(skip: str) -> dict[str, Any]:
        return _described(sockevents.emit_with_ack("question", 1, skip_sid=[skip], timeout=5).get())

    server = serve(app)
    first = _answering_everywhere(clients, server.url, 10)
    second = _answering_everywhere(clients, server.url, 20)

    result = first.call("ask_everyone", first.get_sid(), timeout=TIMEOUT)

    assert result == {"answers": {second.get_sid(): 20}, "missing": [], "complete": True}


def _answering_everywhere(clients: Clients, url: str, factor: int) -> InOrderClient:
    client = clients.new()
    client.on("question", lambda number: number * factor)
    return clients.connect(url, client=client)


def test_a_list_of_rooms_asks_each_client_once(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, _sockevents, _ = _room_app(make_app)
    server = serve(app)
    both = _answering(clients, server.url, "red", 1)
    assert both.call("join", "blue", timeout=TIMEOUT) is True
    blue = _answering(clients, server.url, "blue", 2)
    controller = clients.connect(server.url)

    result = controller.call("ask_room", (["red", "blue"], 5), timeout=TIMEOUT)

    assert result == {
        "answers": {both.get_sid(): 7, blue.get_sid(): 14},
        "missing": [],
        "complete": True,
    }


def test_an_empty_list_of_rooms_gives_an_empty_complete_answer(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, _sockevents, _ = _room_app(make_app)
    server = serve(app)
    controller = clients.connect(server.url)

    result = controller.call("ask_room", (["nobody-here"], 600), timeout=TIMEOUT)

    assert result == {"answers": {}, "missing": [], "complete": True}


def test_a_name_that_is_no_client_and_no_room_with_clients_is_ack_disconnected_at_once(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    app, sockevents = make_app()

    @sockevents.on("ask_nobody")
    def ask_nobody() -> list[Any]:
        result = sockevents.emit_with_ack("question", 1, to="nobody-here", timeout=600)
        try:
            result.get()
        except AckDisconnected as exc:
            return [str(exc), _described(exc.acks)]
        return ["answered"]

    server = serve(app)
    controller = clients.connect(server.url)

    assert controller.call("ask_nobody", timeout=TIMEOUT) == [
        "no client answered 'question' sent to 'nobody-here' (no such client or room)",
        {"answers": {}, "missing": [], "complete": True},
    ]
