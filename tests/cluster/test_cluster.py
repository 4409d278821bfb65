"""Three server processes and a real Redis behave as one server.

Each test drives the cluster API from inside one process (through an event
of the test app) and checks what clients connected to the other processes
see, and what the other processes' buses saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.production._support import TIMEOUT, wait_for

from ._support import Cluster, start_cluster


@pytest.fixture(scope="module")
def cluster(redis_url: str, logs: Path) -> Iterator[Cluster]:
    yield from start_cluster(redis_url, "cluster-tests", logs)


def test_fetch_sockets_returns_the_clients_of_every_process_with_their_data(
    cluster: Cluster,
) -> None:
    members = [cluster.connect(server) for server in cluster.servers]
    for index, member in enumerate(members):
        assert member.call("set_data", {"seat": index}) is True
    pids = {member.call("whoami") for member in members}
    answer = members[0].call("fetch", None)
    assert answer["missing"] == []
    found = {socket["sid"]: socket for socket in answer["sockets"]}
    assert {member.sid for member in members} <= found.keys()
    for index, member in enumerate(members):
        socket = found[member.sid]
        assert socket["data"] == {"seat": index}
        assert socket["rooms"] == [member.sid]
        assert socket["remote_addr"] == "127.0.0.1"
    processes = {found[member.sid]["process"] for member in members}
    assert len(processes) == 3
    assert {int(process.split(":")[1]) for process in processes} == pids


def test_fetch_sockets_shows_allowed_headers_and_never_cookies_or_credentials(
    cluster: Cluster,
) -> None:
    headers = {"User-Agent": "cluster-test/1", "Cookie": "session=secret",
               "Authorization": "Bearer secret"}  # fmt: skip
    member = cluster.connect(cluster.servers[1], headers=headers)
    asker = cluster.connect(cluster.servers[0])
    found = {s["sid"]: s for s in asker.call("fetch", None)["sockets"]}
    shown = found[member.sid]["headers"]
    assert shown["user-agent"] == "cluster-test/1"
    assert "cookie" not in shown
    assert "authorization" not in shown
    assert "secret" not in json.dumps(found[member.sid])


def test_fetch_sockets_in_a_room_returns_only_its_members_across_processes(
    cluster: Cluster,
) -> None:
    red_1 = cluster.connect(cluster.servers[0])
    red_2 = cluster.connect(cluster.servers[1])
    cluster.connect(cluster.servers[2])
    assert red_1.call("join", "red") is True
    assert red_2.call("join", "red") is True
    answer = cluster.connect(cluster.servers[2]).call("fetch", "red")
    assert sorted(s["sid"] for s in answer["sockets"]) == sorted([red_1.sid, red_2.sid])
    assert all("red" in s["rooms"] for s in answer["sockets"])


def test_sockets_join_moves_clients_on_other_processes_into_a_room_a_room_emit_then_reaches(
    cluster: Cluster,
) -> None:
    team_1 = cluster.connect(cluster.servers[0])
    team_2 = cluster.connect(cluster.servers[1])
    outsider = cluster.connect(cluster.servers[2])
    assert team_1.call("join", "team") is True
    assert team_2.call("join", "team") is True
    reply = outsider.call("sockets_join", ["moved"], "team")
    assert reply["missing"] == []
    assert sorted(reply["results"].values()) == [0, 1, 1]
    assert outsider.call("to_room", "moved", "you moved") is True
    wait_for(lambda: team_1.news and team_2.news)
    assert team_1.news == ["you moved"]
    assert team_2.news == ["you moved"]
    assert outsider.news == []


def test_disconnect_sockets_disconnects_a_rooms_clients_on_every_process(
    cluster: Cluster,
) -> None:
    leaving_1 = cluster.connect(cluster.servers[1])
    leaving_2 = cluster.connect(cluster.servers[2])
    staying = cluster.connect(cluster.servers[0])
    assert leaving_1.call("join", "doomed") is True
    assert leaving_2.call("join", "doomed") is True
    reply = staying.call("disconnect_sockets", "doomed")
    assert sorted(reply["results"].values()) == [0, 1, 1]
    wait_for(lambda: not leaving_1.client.connected and not leaving_2.client.connected)
    assert staying.client.connected
    assert staying.call("fetch", "doomed")["sockets"] == []


def test_server_side_emit_arrives_once_per_other_process_with_the_acks_gathered(
    cluster: Cluster,
) -> None:
    members = [cluster.connect(server) for server in cluster.servers]
    before = [len(member.call("server_events")) for member in members]
    reply = members[0].call("server_emit", "hello", [1, "two"], "/")
    assert reply["missing"] == []
    others = {server.pid for server in cluster.servers[1:]}
    assert {ack["pid"] for ack in reply["results"].values()} == others
    assert all(ack["args"] == [1, "two"] for ack in reply["results"].values())
    seen = [
        member.call("server_events")[count:] for member, count in zip(members, before, strict=True)
    ]
    assert seen[0] == []
    expected = {"name": "hello", "namespace": "/", "args": [1, "two"], "outcome": "handled"}
    assert seen[1] == [expected]
    assert seen[2] == [expected]


def test_a_server_side_event_is_routed_by_namespace_and_guarded_like_any_event(
    cluster: Cluster,
) -> None:
    members = [cluster.connect(server) for server in cluster.servers]
    before = len(members[1].call("server_events"))
    reply = members[0].call("server_emit", "forbidden", [], "/admin")
    assert list(reply["results"].values()) == [None, None]
    seen = members[1].call("server_events")[before:]
    assert seen == [{"name": "forbidden", "namespace": "/admin", "args": [],
                     "outcome": "rejected"}]  # fmt: skip


def test_a_server_side_event_reaches_python_socketio_handlers_past_client_guards(
    cluster: Cluster,
) -> None:
    member = cluster.connect(cluster.servers[1])
    reply = member.call("server_emit", "py_hello", [5], "/")
    assert list(reply["results"].values()) == [{"sid": None, "args": [5]}] * 2
    assert member.call("py_hello", 5) == {"error": "rejected", "reason": "authentication required"}


def test_presence_counts_a_user_with_two_tabs_on_two_processes_once(cluster: Cluster) -> None:
    readers = [cluster.connect(server) for server in cluster.servers]
    first_tab = cluster.connect(cluster.servers[0], user="ann")
    second_tab = cluster.connect(cluster.servers[1], user="ann")
    cluster.connect(cluster.servers[2], user="bob")

    def signals(kind: str) -> int:
        logs = [reader.call("presence_log") for reader in readers]
        return sum(entry == [kind, "ann", "/"] for log in logs for entry in log)

    now = readers[2].call("presence", None)
    assert {"ann", "bob"} <= set(now["users"])
    assert now["users"].count("ann") == 1
    assert now["count"] == len(now["users"])
    assert signals("joined") == 1
    first_sid = first_tab.sid
    first_tab.close()
    wait_for(lambda: all(s["sid"] != first_sid for s in readers[0].call("fetch", None)["sockets"]))
    assert "ann" in readers[2].call("presence", None)["users"]
    assert signals("left") == 0
    second_tab.close()
    wait_for(lambda: "ann" not in readers[2].call("presence", None)["users"])
    assert signals("left") == 1
    assert signals("joined") == 1


def test_presence_in_a_room_gathers_its_users_from_every_process(cluster: Cluster) -> None:
    carol_1 = cluster.connect(cluster.servers[0], user="carol")
    carol_2 = cluster.connect(cluster.servers[1], user="carol")
    dave = cluster.connect(cluster.servers[2], user="dave")
    cluster.connect(cluster.servers[2], user="erin")
    for member in (carol_1, carol_2, dave):
        assert member.call("join", "book-club") is True
    answer = cluster.connect(cluster.servers[0]).call("presence", "book-club")
    assert answer == {"users": ["carol", "dave"], "count": 2}


def test_malformed_cluster_messages_are_dropped_and_counted(cluster: Cluster) -> None:
    channel = f"{cluster.channel}#cluster#request"
    for garbage in (b"not json", b"[1, 2]", json.dumps({"v": 1, "type": "request"}),
                    json.dumps({"v": 1, "type": "request", "id": "x", "from": "evil",
                                "reply_to": "flask-socketio", "op": "disconnect",
                                "ns": "/", "args": {}})):  # fmt: skip
        cluster.redis.publish(channel, garbage)
    member = cluster.connect(cluster.servers[0])

    def dropped() -> dict[str, int]:
        processes = member.call("processes")
        return processes[next(iter(processes))]["dropped"]  # its own process comes first

    wait_for(lambda: sum(dropped().values()) >= 4)
    assert dropped() == {"not JSON": 1, "malformed": 1, "malformed request": 2}
    assert member.call("fetch", None)["missing"] == []


def test_the_monitor_sums_every_process_and_breaks_the_figures_down_per_process(
    cluster: Cluster,
) -> None:
    for server in cluster.servers:
        cluster.connect(server)
    page = socketio.Client(reconnection=False)
    page.connect(cluster.servers[0].url, namespaces=["/sockevents"], transports=["websocket"])
    try:

        def cluster_view() -> dict[str, Any]:
            snapshot = page.call("snapshot", namespace="/sockevents", timeout=TIMEOUT)
            return dict(snapshot["cluster"])

        # One server-side event rejected by a guard on each other process; the
        # others' figures arrive with their next heartbeat.
        before = cluster_view()["totals"]["rejected"]
        asker = cluster.connect(cluster.servers[0])
        assert asker.call("server_emit", "forbidden", [], "/admin")["missing"] == []
        view = wait_for(
            lambda: (
                (v := cluster_view())["totals"]["processes"] == 3
                and v["totals"]["rejected"] >= before + 2
                and all(row["clients"] >= 1 for row in v["processes"])
                and v
            )
        )
        rows = {row["pid"]: row for row in view["processes"]}
        assert rows.keys() == {server.pid for server in cluster.servers}
        assert view["processes"][0]["self"] is True
        assert view["processes"][0]["pid"] == cluster.servers[0].pid
        for key in ("clients", "received", "rejected"):
            assert view["totals"][key] == sum(row[key] for row in rows.values())
    finally:
        page.disconnect()


def test_every_monitor_page_of_a_process_on_a_message_queue_gets_the_pushed_deltas(
    cluster: Cluster,
) -> None:
    # The Monitor puts each page in its room from its connect handler, where
    # the client is still connecting: the room must be entered here, never
    # through the queue (whose message would arrive once it is too late).
    pages: list[socketio.Client] = []
    deltas: list[list[Any]] = []
    try:
        for _ in range(5):
            page = socketio.Client(reconnection=False)
            received: list[Any] = []
            page.on("delta", received.append, namespace="/sockevents")
            pages.append(page)
            deltas.append(received)
            page.connect(
                cluster.servers[0].url, namespaces=["/sockevents"], transports=["websocket"]
            )
        wait_for(lambda: all(deltas), message="a page never got a delta")
    finally:
        for page in pages:
            page.disconnect()


def test_a_process_with_no_app_can_fetch_sockets_and_emit_to_every_server(
    cluster: Cluster,
) -> None:
    members = [cluster.connect(server) for server in cluster.servers]
    before = [len(member.call("server_events")) for member in members]
    code = (
        "import sys, json\n"
        "from flask_sockevents import SockEvents\n"
        "sockevents = SockEvents(message_queue=sys.argv[1], channel=sys.argv[2])\n"
        "found = sockevents.fetch_sockets(timeout=5)\n"
        "sockevents.server_side_emit('hello', 'from a script')\n"
        "print(json.dumps({'sids': [s.sid for s in found], 'missing': list(found.missing)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, cluster.redis_url, cluster.channel],
        check=True, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    answer = json.loads(done.stdout)
    assert answer["missing"] == []
    assert {member.sid for member in members} <= set(answer["sids"])
    for member, count in zip(members, before, strict=True):
        wait_for(lambda member=member, count=count: len(member.call("server_events")) > count)
        assert member.call("server_events")[count:][0]["args"] == ["from a script"]
