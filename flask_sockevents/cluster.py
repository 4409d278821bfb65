"""The cluster as one server: socket queries and server-to-server events.

Every process serving the app answers for its own clients (see
:mod:`.clusterlocal`); :class:`Cluster` asks every other process through Redis
(see :mod:`.clusterlink`) and merges the answers with its own:

- :meth:`Cluster.fetch_sockets` describes the clients of a namespace or room
  wherever they are connected;
- :meth:`Cluster.sockets_join`, :meth:`Cluster.sockets_leave` and
  :meth:`Cluster.disconnect_sockets` act on them where they are;
- :meth:`Cluster.server_side_emit` publishes an event of kind ``server`` on
  the bus of every other process and gathers their acknowledgements.

A process that does not answer within the timeout is reported in the
result's ``missing``, never waited on longer. Without a message queue the
process is the whole cluster: everything is local and instant.

Each process also renews an entry in the registry with a heartbeat (every
``cluster_heartbeat`` seconds, 5 by default); a process without a heartbeat
for three periods is dead, and the next live process to beat removes it and
what it had registered (see :class:`~flask_sockevents.listeners.Presence`).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.pool

from .bus import check_event_name
from .clusterlink import ClusterLink, Request, redis_client
from .clusterlocal import DEFAULT_HEADERS, MAX_ROOMS_PER_REQUEST, BadRequest, LocalClients, jsonable

__all__ = ["DEFAULT_HEADERS", "Cluster", "ClusterReply", "ClusterSockets", "RemoteSocket"]

logger = logging.getLogger("flask_sockevents.cluster")

_MAX_ARGS_SIZE = 1_000_000
_ANSWERING_GREENLETS = 64


@dataclass(frozen=True)
class RemoteSocket:
    """One client, as :meth:`Cluster.fetch_sockets` found it in some process.

    :param sid: its session id in ``namespace``.
    :param namespace: the namespace.
    :param rooms: the rooms it is in (its own sid among them).
    :param remote_addr: the address it connected from.
    :param headers: the handshake headers the allow-list shows (lower-case names).
    :param data: the dict the app set with :meth:`Cluster.socket_data`.
    :param process: the id of the process it is connected to.
    """

    sid: str
    namespace: str
    rooms: list[str]
    remote_addr: str | None
    headers: dict[str, str]
    data: dict[str, Any]
    process: str


class ClusterSockets(list[RemoteSocket]):
    """The sockets :meth:`Cluster.fetch_sockets` found, and who did not answer.

    A list of :class:`RemoteSocket`; ``missing`` holds the ids of the
    processes that did not answer within the timeout (empty when the answer
    is complete).
    """

    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterReply:
    """The answers of the other processes to a cluster request.

    :param results: each answering process's result by process id: the
        acknowledgement for :meth:`Cluster.server_side_emit` (``None`` when no
        handler answered), the number of sockets acted on otherwise.
    :param missing: ids of the processes that did not answer within the timeout.
    """

    results: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every live process answered."""
        return not self.missing


class Cluster:
    """The processes serving one app through one message queue, seen as one server.

    Created by :class:`~flask_sockevents.SockEvents` as ``sockevents.cluster``;
    its methods are also the extension's (``sockevents.fetch_sockets(...)``).

    :param sockevents: the extension.
    :param url: the message queue URL (``None``: a single process).
    :param channel: the queue's channel; the cluster's channels and keys derive from it.
    :param heartbeat: seconds between two heartbeats (see the module docstring).
    :param headers: handshake headers :meth:`fetch_sockets` may show
        (:data:`DEFAULT_HEADERS` when ``None``).
    :param max_message_size: bytes of one cluster message, at most.
    """

    def __init__(
        self,
        sockevents: Any,
        url: str | None = None,
        channel: str = "flask-socketio",
        *,
        heartbeat: float = 5.0,
        headers: Iterable[str] | None = None,
        max_message_size: int = 16_000_000,
    ) -> None:
        self.sockevents = sockevents
        self.url = url
        self.heartbeat = heartbeat
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.link: ClusterLink | None = None
        self._queue_kind: str | None = None
        if url:
            scheme = url.split("://", 1)[0].lower().split("+", 1)[0]
            if scheme in ("redis", "rediss", "valkey", "valkeys", "unix"):
                self.link = ClusterLink(
                    redis_client(url),
                    channel,
                    self.process_id,
                    heartbeat=heartbeat,
                    max_message_size=max_message_size,
                )
            else:
                self._queue_kind = scheme
        self.serving = getattr(sockevents, "app", None) is not None
        self.started = False
        self.registered = False
        #: Called with ``was_forgotten`` after each heartbeat (True when this
        #: process had been declared dead meanwhile and must register again).
        self.heartbeat_hooks: list[Callable[[bool], None]] = []
        #: Called with the id of each dead process before it is forgotten.
        self.sweep_hooks: list[Callable[[str], None]] = []
        #: This process's clients: what it answers for.
        self.local = LocalClients(sockevents, headers)
        #: Extra request operations: ``handler(namespace, args) -> JSON result``.
        self.operations = self.local.operations
        self._pool = gevent.pool.Pool(_ANSWERING_GREENLETS)
        self._last_rate: tuple[float, int] = (time.monotonic(), 0)
        self.events_per_second = 0.0
        self.dropped: Counter[str] = self.link.dropped if self.link else Counter()

    # -- life ------------------------------------------------------------------

    @property
    def distributed(self) -> bool:
        """True when other processes may exist (a Redis message queue is configured)."""
        return self.link is not None

    def start(self) -> None:
        """Register this process and start answering requests and beating.

        Called on the first accepted connect and on the first cluster call;
        call it at start-up in a process that must receive server-side events
        before any client connects (after forking, never before).
        """
        if self.started or not self.serving:
            return
        self.started = True
        if self.link is None:
            return
        try:
            self._beat()
        except Exception:  # Redis is down: the heartbeat task keeps trying
            logger.exception("cluster: cannot register this process yet")
        spawn = self.sockevents.server.start_background_task
        spawn(self._answer_requests)
        spawn(self._beat_forever)
        atexit.register(self._leave)

    def _leave(self) -> None:
        try:
            if self.link is not None:
                self.link.leave()
        except Exception:  # the process is exiting: Redis may be gone
            pass

    def _require_cluster(self) -> ClusterLink | None:
        if self._queue_kind is not None:
            raise RuntimeError(
                f"cluster queries and server-side events need a Redis message queue, "
                f"not {self._queue_kind}://"
            )
        self.start()
        return self.link

    def _beat_forever(self) -> None:
        while True:
            gevent.sleep(self.heartbeat)
            try:
                self._beat()
            except Exception:
                logger.exception("cluster heartbeat failed")

    def _beat(self) -> None:
        link = self.link
        assert link is not None
        was_registered, now, dead = link.beat(self.local_stats())
        forgotten = self.registered and not was_registered
        self.registered = True
        if forgotten:
            logger.warning("this process was declared dead and registers again")
        for hook in self.heartbeat_hooks:
            try:
                hook(forgotten)
            except Exception:
                logger.exception("cluster heartbeat hook %r failed", hook)
        for process_id in dead:
            for sweep in self.sweep_hooks:
                try:
                    sweep(process_id)
                except Exception:
                    logger.exception("cluster sweep of %s failed", process_id)
            link.forget(process_id, now - link.ttl_ms)

    # -- what this process reports ---------------------------------------------

    def local_stats(self) -> dict[str, Any]:
        """This process's counters, as published with its heartbeat."""
        stats = self.sockevents.stats() if self.sockevents.server is not None else {}
        now = time.monotonic()
        received = int(stats.get("received", 0))
        then, before = self._last_rate
        if now - then >= 0.5:
            self.events_per_second = round((received - before) / (now - then), 2)
            self._last_rate = (now, received)
        return {
            "process": self.process_id,
            "pid": os.getpid(),
            "clients": self.client_counts(),
            "received": received,
            "rejected": int(stats.get("rejected", 0)),
            "failed": int(stats.get("failed", 0)),
            "events_per_second": self.events_per_second,
            "dropped": dict(self.dropped),
        }

    def client_counts(self) -> dict[str, int]:
        """Connected clients of this process, by namespace."""
        server = self.sockevents.server
        if server is None:
            return {}
        # python-socketio keeps no count: rooms[namespace][None] holds every client.
        rooms = server.manager.rooms
        return {ns: len(by_room.get(None, ())) for ns, by_room in list(rooms.items())}

    def socket_data(self, sid: str, namespace: str = "/") -> dict[str, Any]:
        """The app's dict for client ``sid`` of this process (see :class:`LocalClients`)."""
        return self.local.socket_data(sid, namespace)

    def forget_socket(self, sid: str, namespace: str) -> None:
        """Drop the data of a client that left."""
        self.local.forget(sid, namespace)

    def processes(self) -> dict[str, dict[str, Any]]:
        """The live processes' last stats by process id (this one's fresh)."""
        own = self.local_stats()
        if self.link is None:
            return {self.process_id: own}
        self.start()
        live = self.link.live_processes()
        found = self.link.process_stats([pid for pid in live if pid != self.process_id])
        return {self.process_id: own, **found}

    # -- answering other processes ------------------------------------------------

    def _answer_requests(self) -> None:
        link = self.link
        assert link is not None
        for data in link.requests():
            request = link.read_request(data)
            if request is None:
                continue
            if self._pool.full():
                link.dropped["too many requests at once"] += 1
                continue
            self._pool.spawn(self._answer, request)

    def _answer(self, request: Request) -> None:
        link = self.link
        assert link is not None
        try:
            result = self.local.run(request)
        except BadRequest as exc:
            link.dropped[f"malformed request: {exc}"] += 1
            return
        except Exception:
            logger.exception("cluster request %s failed", request.op)
            result = None
        if request.op == "emit" and request.args.get("ack") is False:
            return  # nobody waits for this answer
        try:
            link.answer(request, result)
        except (TypeError, ValueError):
            link.answer(request, jsonable(result, link.dropped))

    # -- asking every process --------------------------------------------------------

    def fetch_sockets(
        self, room: str | None = None, namespace: str = "/", timeout: float = 5
    ) -> ClusterSockets:
        """Describe the clients of ``namespace`` (in ``room`` if given) in every process.

        :param room: a room name or sid; every client of the namespace when ``None``.
        :param namespace: the namespace.
        :param timeout: seconds to wait for the other processes.
        :return: a :class:`ClusterSockets` list of :class:`RemoteSocket`, whose
            ``missing`` names the processes that did not answer in time.
        """
        found = ClusterSockets(
            _remote(entry, self.process_id) for entry in self.local.describe(namespace, room)
        )
        link = self._require_cluster()
        if link is None:
            return found
        answers, missing = link.request("fetch", namespace, {"room": room}, timeout)
        for process_id, entries in answers.items():
            if isinstance(entries, list):
                found.extend(
                    socket
                    for socket in (_remote(entry, process_id) for entry in entries)
                    if socket is not None
                )
        found.missing = missing
        return found

    def sockets_join(
        self, rooms: str | list[str], room: str | None = None, namespace: str = "/",
        timeout: float = 5,
    ) -> ClusterReply:  # fmt: skip
        """Put the clients of ``room`` (all of ``namespace`` if ``None``) in ``rooms``, everywhere.

        Returns once every process did it (or the timeout passed): a room emit
        sent afterwards reaches them. Results count the clients moved per process.
        """
        return self._act("join", _room_list(rooms), room, namespace, timeout)

    def sockets_leave(
        self, rooms: str | list[str], room: str | None = None, namespace: str = "/",
        timeout: float = 5,
    ) -> ClusterReply:  # fmt: skip
        """Take the clients of ``room`` (all if ``None``) out of ``rooms``, everywhere."""
        return self._act("leave", _room_list(rooms), room, namespace, timeout)

    def disconnect_sockets(
        self, room: str | None = None, namespace: str = "/", timeout: float = 5
    ) -> ClusterReply:
        """Disconnect the clients of ``room`` (all of ``namespace`` if ``None``), everywhere.

        Each disconnect is published once on the bus of the client's process.
        """
        return self._act("disconnect", [], room, namespace, timeout)

    def _act(
        self, op: str, rooms: list[str], room: str | None, namespace: str, timeout: float
    ) -> ClusterReply:
        if len(rooms) > MAX_ROOMS_PER_REQUEST:
            raise ValueError(f"at most {MAX_ROOMS_PER_REQUEST} rooms at once")
        link = self._require_cluster()
        answers: dict[str, Any] = {}
        missing: tuple[str, ...] = ()
        if link is not None:
            answers, missing = link.request(op, namespace, {"room": room, "rooms": rooms}, timeout)
        answers[self.process_id] = self.local.act(op, namespace, room, rooms)
        return ClusterReply(answers, missing)

    def server_side_emit(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        callback: Callable[[ClusterReply], Any] | None = None,
        timeout: float = 5,
    ) -> None:
        """Publish ``event`` on the bus of every other process, as an event of kind ``server``.

        There it is routed like any event (``on``, ``listen``, ``guard`` in
        ``namespace``); the handler gets ``args`` and its return value is the
        acknowledgement.

        :param callback: called in a background task with a
            :class:`ClusterReply` (acks by process id, and the processes that
            did not answer) once every process answered or ``timeout`` passed.
        :raises ValueError: for a reserved or malformed event name, or
            arguments that are not JSON.
        """
        problem = check_event_name(event)
        if problem is not None:
            raise ValueError(f"cannot emit to other processes: {problem}")
        import json

        try:
            size = len(json.dumps(list(args)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"server_side_emit arguments must be JSON: {exc}") from None
        if size > _MAX_ARGS_SIZE:
            raise ValueError(f"server_side_emit arguments over {_MAX_ARGS_SIZE} bytes")
        link = self._require_cluster()
        message = {"event": event, "args": list(args), "ack": callback is not None}
        if link is None:
            if callback is not None:
                callback(ClusterReply())
            return
        if callback is None:
            link.publish_request("emit", namespace, message)
            return

        def gather() -> None:
            answers, missing = link.request("emit", namespace, message, timeout)
            callback(ClusterReply(answers, missing))

        self.sockevents.start_background_task(gather)


def _room_list(rooms: str | list[str]) -> list[str]:
    return [rooms] if isinstance(rooms, str) else list(rooms)


def _remote(entry: Any, process_id: str) -> Any:
    """A :class:`RemoteSocket` from an answer's entry, or ``None`` if it is malformed."""
    try:
        return RemoteSocket(
            sid=str(entry["sid"]),
            namespace=str(entry["namespace"]),
            rooms=[str(room) for room in entry["rooms"]],
            remote_addr=entry.get("remote_addr"),
            headers=dict(entry.get("headers") or {}),
            data=dict(entry.get("data") or {}),
            process=process_id,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
