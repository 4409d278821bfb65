"""With one process and no message queue, the cluster API is local and instant."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request

from flask_sockevents import SockEvents, signals
from flask_sockevents.cluster import ClusterReply
from flask_sockevents.listeners import Presence


@pytest.fixture
def app() -> Flask:
    return Flask(__name__)


@pytest.fixture
def sockevents(app: Flask) -> SockEvents:
    sockevents = SockEvents(app)

    @sockevents.on("remember")
    def remember(name: str) -> None:
        sockevents.socket_data()["name"] = name

    return sockevents


def test_fetch_sockets_lists_the_local_clients_with_their_rooms_and_data(
    app: Flask, sockevents: SockEvents
) -> None:
    ann = sockevents.test_client(app, headers={"User-Agent": "ua/1", "Cookie": "a=b"})
    bob = sockevents.test_client(app)
    ann.emit("remember", "ann")
    sockevents.join_room("lobby", _sid(sockevents, ann))
    found = sockevents.fetch_sockets()
    assert found.missing == ()
    assert {socket.sid for socket in found} == {_sid(sockevents, ann), _sid(sockevents, bob)}
    described = next(socket for socket in found if socket.data)
    assert described.data == {"name": "ann"}
    assert sorted(described.rooms) == sorted(["lobby", described.sid])
    assert described.headers == {"user-agent": "ua/1"}
    assert described.process == sockevents.cluster.process_id  # type: ignore[union-attr]
    assert [socket.sid for socket in sockevents.fetch_sockets("lobby")] == [described.sid]


def test_sockets_join_leave_and_disconnect_act_on_a_rooms_local_clients(
    app: Flask, sockevents: SockEvents
) -> None:
    ann, bob = sockevents.test_client(app), sockevents.test_client(app)
    sockevents.join_room("team", _sid(sockevents, ann))
    reply = sockevents.sockets_join(["moved"], "team")
    assert reply == ClusterReply({sockevents.cluster.process_id: 1})  # type: ignore[union-attr]
    assert [s.sid for s in sockevents.fetch_sockets("moved")] == [_sid(sockevents, ann)]
    sockevents.sockets_leave("moved")
    assert sockevents.fetch_sockets("moved") == []
    sockevents.disconnect_sockets("team")
    assert not ann.is_connected()
    assert bob.is_connected()


def test_server_side_emit_reaches_no_other_process_and_answers_at_once(
    sockevents: SockEvents,
) -> None:
    replies: list[ClusterReply] = []
    sockevents.server_side_emit("hello", 1, callback=replies.append)
    assert replies == [ClusterReply()]
    assert replies[0].complete


@pytest.mark.parametrize("name", ["connect", "disconnect", "", 42])
def test_server_side_emit_refuses_reserved_or_malformed_names(
    sockevents: SockEvents, name: Any
) -> None:
    with pytest.raises(ValueError, match="cannot emit to other processes"):
        sockevents.server_side_emit(name)


def test_socket_data_of_a_client_not_connected_here_is_a_key_error(
    sockevents: SockEvents,
) -> None:
    with pytest.raises(KeyError, match="not connected"):
        sockevents.socket_data("no-such-sid")


def test_socket_data_is_dropped_when_the_client_leaves(app: Flask, sockevents: SockEvents) -> None:
    client = sockevents.test_client(app)
    client.emit("remember", "ann")
    sid = _sid(sockevents, client)
    client.disconnect()
    with pytest.raises(KeyError):
        sockevents.socket_data(sid)


def test_presence_counts_a_user_once_and_signals_once_per_user(
    app: Flask, sockevents: SockEvents
) -> None:
    presence = Presence(sockevents, user=lambda: request.args.get("user"))
    seen: list[tuple[str, Any]] = []

    def joined(sender: Any, user: Any, namespace: str) -> None:
        seen.append(("joined", user))

    def left(sender: Any, user: Any, namespace: str) -> None:
        seen.append(("left", user))

    signals.user_joined.connect(joined, sender=app)
    signals.user_left.connect(left, sender=app)
    try:
        tabs = [sockevents.test_client(app, query_string="user=ann") for _ in range(2)]
        anonymous = sockevents.test_client(app)
        sockevents.join_room("lobby", _sid(sockevents, tabs[0]))
        assert presence.users() == ["ann"]
        assert presence.count() == 1
        assert presence.users("lobby") == ["ann"]
        assert presence.count("nowhere") == 0
        tabs[0].disconnect()
        assert seen == [("joined", "ann")]
        tabs[1].disconnect()
        anonymous.disconnect()
        assert seen == [("joined", "ann"), ("left", "ann")]
        assert presence.count() == 0
    finally:
        presence.close()
        signals.user_joined.disconnect(joined)
        signals.user_left.disconnect(left)


def _sid(sockevents: SockEvents, client: Any) -> str:
    server = sockevents.server
    assert server is not None
    sid = server.manager.sid_from_eio_sid(client.eio_sid, "/")
    assert sid is not None
    return str(sid)


def test_the_monitor_shows_the_single_process_as_the_whole_cluster(
    app: Flask, sockevents: SockEvents
) -> None:
    from flask_sockevents.monitor.cluster import cluster_snapshot

    clients = [sockevents.test_client(app) for _ in range(2)]
    view = cluster_snapshot(sockevents)
    assert view["totals"]["processes"] == 1
    assert view["totals"]["clients"] == 2
    assert view["processes"][0]["self"] is True
    assert view["processes"][0]["clients_by_namespace"] == {"/": 2}
    assert view["processes"][0]["dropped"] == {}
    clients[0].disconnect()
    assert cluster_snapshot(sockevents)["totals"]["clients"] == 1


def test_socket_data_set_by_a_connect_handler_that_refuses_is_not_kept(app: Flask) -> None:
    sockevents = SockEvents(app)

    @sockevents.on("connect")
    def connect() -> bool:
        sockevents.socket_data()["attempt"] = request.args.get("n")
        return request.args.get("n") == "admitted"

    refused = [sockevents.test_client(app, query_string=f"n={n}") for n in range(3)]
    admitted = sockevents.test_client(app, query_string="n=admitted")
    assert not any(client.is_connected() for client in refused)
    assert admitted.is_connected()
    assert sockevents.cluster is not None
    assert sockevents.cluster.local.data_kept == 1
    assert [socket.data for socket in sockevents.fetch_sockets()] == [{"attempt": "admitted"}]
