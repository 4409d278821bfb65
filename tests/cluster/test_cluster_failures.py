"""A process that stops answering, or dies, while the rest of the cluster goes on.

A paused process (SIGSTOP) is reported as missing instead of being waited
on; a process killed with ``kill -9`` never disconnects its clients, so its
users must leave presence through the heartbeat: within
``4 * cluster_heartbeat`` seconds (the documented bound; the waits below add
scheduling slack for a loaded machine, they are not what is tested).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production._support import wait_for

from ._support import HEARTBEAT, Cluster, start_cluster

#: The documented bound after which a dead process's users have left presence.
BOUND = 4 * HEARTBEAT
#: Slack for scheduling on a busy machine, added to each bounded wait.
SLACK = 5.0


@pytest.fixture
def cluster(redis_url: str, logs: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    yield from start_cluster(redis_url, f"failures-{request.node.name[:40]}", logs)


def test_a_process_that_does_not_answer_is_reported_not_waited_on(cluster: Cluster) -> None:
    asker = cluster.connect(cluster.servers[0])
    paused = cluster.servers[2]
    answering = cluster.connect(cluster.servers[1])
    paused.popen.send_signal(signal.SIGSTOP)
    try:
        answer = asker.call("fetch", None)
    finally:
        paused.popen.send_signal(signal.SIGCONT)
    assert len(answer["missing"]) == 1
    assert answer["missing"][0].split(":")[1] == str(paused.pid)
    assert {s["sid"] for s in answer["sockets"]} == {asker.sid, answering.sid}


def test_kill_9_of_a_process_removes_its_users_from_presence_within_the_bound(
    cluster: Cluster,
) -> None:
    victim = cluster.servers[2]
    observer = cluster.connect(cluster.servers[0])
    witness = cluster.connect(cluster.servers[1])
    cluster.connect(victim, user="ann")
    cluster.connect(victim, user="bob")
    cluster.connect(cluster.servers[1], user="bob")
    assert observer.call("presence", None) == {"users": ["ann", "bob"], "count": 2}
    cluster.kill(victim)
    wait_for(
        lambda: observer.call("presence", None)["users"] == ["bob"],
        timeout=BOUND + SLACK,
        message="the killed process's only user is still online",
    )
    assert observer.call("presence", None) == {"users": ["bob"], "count": 1}
    logs = observer.call("presence_log") + witness.call("presence_log")
    assert logs.count(["left", "ann", "/"]) == 1
    assert ["left", "bob", "/"] not in logs
    assert observer.call("fetch", None)["missing"] == []
    assert len(cluster.redis.zrange(cluster.registry, 0, -1)) == 2


def test_a_process_declared_dead_while_paused_registers_its_users_again(
    cluster: Cluster,
) -> None:
    paused = cluster.servers[2]
    observer = cluster.connect(cluster.servers[0])
    witness = cluster.connect(cluster.servers[1])
    cluster.connect(paused, user="carol")
    assert observer.call("presence", None)["users"] == ["carol"]
    paused.popen.send_signal(signal.SIGSTOP)
    try:
        wait_for(
            lambda: observer.call("presence", None)["users"] == [],
            timeout=BOUND + SLACK,
            message="the paused process was never declared dead",
        )
    finally:
        paused.popen.send_signal(signal.SIGCONT)
    wait_for(lambda: observer.call("presence", None)["users"] == ["carol"],
             timeout=BOUND + SLACK)  # fmt: skip
    logs = observer.call("presence_log") + witness.call("presence_log")
    assert logs.count(["left", "carol", "/"]) == 1
