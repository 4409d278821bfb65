"""Three server processes sharing a real Redis, and clients of each.

Reuses the production tests' processes (:mod:`tests.production._support`):
every process listens on 127.0.0.1 and a free port and is stopped by its PID.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.production._support import TIMEOUT, Process, Recorder, free_port, wait_for

__all__ = ["HEARTBEAT", "Cluster", "Member", "start_cluster"]

APP = str(Path(__file__).with_name("clusterapp.py")) + ":app"
#: ``cluster_heartbeat`` of the test processes, in seconds.
HEARTBEAT = 0.5


class Member(Recorder):
    """A python-socketio client of one process, recording the ``news`` it receives."""

    def __init__(
        self, server: Process, user: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.server = server
        super().__init__(server.url + (f"?user={user}" if user else ""), headers)


class Cluster:
    """Server processes of one channel on one Redis, with the clients opened on them.

    Each process serves ``app`` (``clusterapp.py``'s by default), configured
    by the environment ``clusterapp.py`` documents, plus ``env``.
    """

    def __init__(
        self, redis_url: str, channel: str, logs: Path, size: int = 3,
        env: dict[str, str] | None = None, app: str = APP,
    ) -> None:  # fmt: skip
        import redis

        self.redis_url = redis_url
        self.channel = channel
        self.logs = logs
        self.env = env or {}
        self.app = app
        self.redis = redis.Redis.from_url(redis_url)
        self.servers: list[Process] = []
        self.members: list[Member] = []
        for index in range(size):
            self.add_server(f"{channel}-{index + 1}")

    @property
    def registry(self) -> str:
        """The Redis key of the process registry."""
        return f"{self.channel}#cluster#processes"

    def add_server(self, name: str) -> Process:
        """Start one more process and wait until it is in the registry."""
        env = {
            "SOCKEVENTS_TEST_QUEUE": self.redis_url,
            "SOCKEVENTS_TEST_CHANNEL": self.channel,
            "SOCKEVENTS_TEST_HEARTBEAT": str(HEARTBEAT),
            **self.env,
        }
        argv = [sys.executable, "-m", "flask_sockevents", self.app, "--port"]
        port = free_port()
        server = Process(name, [*argv, str(port)], port, self.logs, env)
        self.servers.append(server)
        count = len(self.servers)
        wait_for(lambda: self.redis.zcard(self.registry) >= count,
                 message=f"{name} did not register")  # fmt: skip
        return server

    def connect(self, server: Process, user: str | None = None, **kwargs: Any) -> Member:
        """A client of ``server`` (as ``user``), closed when the cluster stops."""
        member = Member(server, user, **kwargs)
        self.members.append(member)
        return member

    def kill(self, server: Process) -> None:
        """``kill -9`` a process."""
        server.popen.send_signal(signal.SIGKILL)
        server.popen.wait(TIMEOUT)

    def stop(self) -> None:
        """Close every client and stop every process."""
        for member in self.members:
            member.close()
        for server in self.servers:
            server.terminate()
        self.redis.close()


def start_cluster(redis_url: str, channel: str, logs: Path, size: int = 3) -> Iterator[Cluster]:
    """A fixture body: a cluster of ``size`` processes, stopped afterwards."""
    cluster = Cluster(redis_url, channel, logs, size)
    try:
        yield cluster
    finally:
        cluster.stop()
