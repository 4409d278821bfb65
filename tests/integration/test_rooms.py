"""Rooms and broadcasts over real sockets: who receives a server emit.

Every emit under test is followed by a ``done`` broadcast. The clients handle
events in arrival order, so once a client has seen ``done`` it has seen every
earlier emit addressed to it: what it did not get by then, it never gets.
"""

from __future__ import annotations

from typing import Any

from flask_sockevents import emit, join_room

from ._support import AppFactory, Clients, InOrderClient, Serve, wait_for


class _Inbox:
    """The ``news`` a client received, and whether the ``done`` barrier arrived."""

    def __init__(self, client: InOrderClient) -> None:
        self.news: list[Any] = []
        self.done = False
        client.on("news", self.news.append)
        client.on("done", self._finish)

    def _finish(self) -> None:
        self.done = True


def _connect_three(url: str, clients: Clients) -> tuple[list[InOrderClient], list[_Inbox]]:
    made, inboxes = [], []
    for _ in range(3):
        client = clients.new()
        inboxes.append(_Inbox(client))
        made.append(clients.connect(url, client=client))
    return made, inboxes


def _app_with_emit(make_app: AppFactory, **emit_options: Any) -> Any:
    """An app whose ``shout`` handler emits ``news`` with ``emit_options``, then ``done`` to all."""
    app, sockevents = make_app()
    sockevents.on("join")(lambda room: join_room(room))

    @sockevents.on("shout")
    def shout(text: str, target: Any = None) -> None:
        options = dict(emit_options)
        if options.get("skip_sid") == "target":
            options["skip_sid"] = target
        if options.get("to") == "target":
            options["to"] = target
        emit("news", text, **options)
        emit("done", broadcast=True)

    return app


def _barrier(inboxes: list[_Inbox]) -> None:
    wait_for(lambda: all(inbox.done for inbox in inboxes))


def test_emit_to_a_room_reaches_its_members_only(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    server = serve(_app_with_emit(make_app, to="target"))
    (alice, bob, carol), inboxes = _connect_three(server.url, clients)
    alice.call("join", "red", timeout=5)
    bob.call("join", "red", timeout=5)

    carol.call("shout", ("red alert", "red"), timeout=5)
    _barrier(inboxes)

    assert [inbox.news for inbox in inboxes] == [["red alert"], ["red alert"], []]


def test_broadcast_reaches_every_client(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    server = serve(_app_with_emit(make_app, broadcast=True))
    (alice, _, _), inboxes = _connect_three(server.url, clients)

    alice.call("shout", "hello all", timeout=5)
    _barrier(inboxes)

    assert [inbox.news for inbox in inboxes] == [["hello all"]] * 3


def test_broadcast_with_include_self_false_skips_the_sender(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    server = serve(_app_with_emit(make_app, broadcast=True, include_self=False))
    (alice, _, _), inboxes = _connect_three(server.url, clients)

    alice.call("shout", "not for me", timeout=5)
    _barrier(inboxes)

    assert [inbox.news for inbox in inboxes] == [[], ["not for me"], ["not for me"]]


def test_room_emit_with_include_self_false_skips_the_sender(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    server = serve(_app_with_emit(make_app, to="target", include_self=False))
    (alice, bob, _), inboxes = _connect_three(server.url, clients)
    alice.call("join", "red", timeout=5)
    bob.call("join", "red", timeout=5)

    alice.call("shout", ("to the others", "red"), timeout=5)
    _barrier(inboxes)

    assert [inbox.news for inbox in inboxes] == [[], ["to the others"], []]


def test_broadcast_with_skip_sid_skips_that_client(
    make_app: AppFactory, serve: Serve, clients: Clients
) -> None:
    server = serve(_app_with_emit(make_app, broadcast=True, skip_sid="target"))
    (alice, bob, _), inboxes = _connect_three(server.url, clients)

    alice.call("shout", ("not for bob", bob.get_sid()), timeout=5)
    _barrier(inboxes)

    assert [inbox.news for inbox in inboxes] == [["not for bob"], [], ["not for bob"]]
