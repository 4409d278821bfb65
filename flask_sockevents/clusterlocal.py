"""What one process of the cluster answers for: its own clients.

:class:`LocalClients` describes and acts on the clients connected to this
process, keeps their app data (``socket_data``), publishes the server-side
events other processes send on this process's bus, and turns a validated
request (see :mod:`.clusterlink`) into this process's answer.
:class:`~flask_sockevents.cluster.Cluster` merges the answers of every process.

python-socketio keeps the rooms of a namespace as ``manager.rooms[namespace]``
(room -> sids, the room ``None`` holding every client) and no index from a
client to its rooms; describing many clients reads that table once instead of
asking ``get_rooms`` per client, which would scan every room each time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from .bus import check_event_name
from .clusterlink import Request
from .event import Event, EventKind

__all__ = ["DEFAULT_HEADERS", "MAX_ROOMS_PER_REQUEST", "BadRequest", "LocalClients", "jsonable"]

#: Handshake headers :meth:`Cluster.fetch_sockets` shows by default. Cookies
#: and credentials (``Cookie``, ``Authorization``) are never in it.
DEFAULT_HEADERS = ("user-agent", "accept-language", "origin")
#: Rooms one request may name.
MAX_ROOMS_PER_REQUEST = 100


class LocalClients:
    """The clients of this process, as the cluster sees them.

    :param sockevents: the extension.
    :param headers: handshake headers :meth:`describe` shows (lower-case names).
    :param operations: extra request operations, ``handler(namespace, args)``
        by name (presence registers its own).
    """

    def __init__(
        self,
        sockevents: Any,
        headers: Iterable[str] | None = None,
        operations: dict[str, Callable[[str, dict[str, Any]], Any]] | None = None,
    ) -> None:
        self.sockevents = sockevents
        self.headers = tuple(
            name.lower() for name in (DEFAULT_HEADERS if headers is None else headers)
        )
        self._environ_keys = [
            (name, "HTTP_" + name.upper().replace("-", "_")) for name in self.headers
        ]
        self.operations = operations if operations is not None else {}
        self._data: dict[tuple[str, str], dict[str, Any]] = {}
        self._server_environ: dict[str, Any] | None = None

    def socket_data(self, sid: str, namespace: str = "/") -> dict[str, Any]:
        """The mutable dict of app data of client ``sid``, connected to this process.

        What it holds is what :meth:`Cluster.fetch_sockets` shows as ``data`` in every
        process, so keep it small and JSON-serializable (data that is not JSON
        reaches other processes as ``None``); it is dropped when the client
        disconnects.

        :raises KeyError: when ``sid`` is not connected here to ``namespace``.
        """
        key = (namespace, sid)
        data = self._data.get(key)
        if data is None:
            server = self.sockevents.server
            manager = server.manager if server is not None else None
            if manager is None or not (
                manager.is_connected(sid, namespace) or manager.is_pre_connected(sid, namespace)
            ):
                raise KeyError(f"{sid} is not connected to {namespace} in this process")
            data = self._data[key] = {}
        return data

    @property
    def data_kept(self) -> int:
        """How many clients have socket data in this process (for health checks)."""
        return len(self._data)

    def forget(self, sid: str, namespace: str) -> None:
        """Drop the data of a client that left."""
        self._data.pop((namespace, sid), None)

    # -- the operations, on this process's clients ------------------------------

    def members(self, namespace: str, room: str | None) -> list[str]:
        """The sids of this process's clients connected to ``namespace`` (in ``room``)."""
        server = self.sockevents.server
        if server is None:
            return []
        manager = server.manager
        members = manager.rooms.get(namespace, {}).get(room)
        if not members:
            return []
        return [sid for sid in list(members) if manager.is_connected(sid, namespace)]

    def describe(self, namespace: str, room: str | None) -> list[dict[str, Any]]:
        """Each client of :meth:`members` as a JSON-ready dict (sid, rooms, headers, data...)."""
        server = self.sockevents.server
        sids = self.members(namespace, room)
        if not sids:
            return []
        by_room = server.manager.rooms.get(namespace, {})
        rooms_of: dict[str, list[str]] = {sid: [] for sid in sids}
        for name, members in list(by_room.items()):
            if name is None:
                continue
            for sid in list(members):
                found = rooms_of.get(sid)
                if found is not None:
                    found.append(name)
        sockets = []
        environs = server.environ
        for sid in sids:
            eio_sid = server.manager.eio_sid_from_sid(sid, namespace)
            environ = environs.get(eio_sid) or {}
            sockets.append(
                {
                    "sid": sid,
                    "namespace": namespace,
                    "rooms": rooms_of[sid],
                    "remote_addr": environ.get("REMOTE_ADDR"),
                    "headers": {
                        name: environ[key] for name, key in self._environ_keys if key in environ
                    },
                    "data": self._data.get((namespace, sid)) or {},
                }
            )
        return sockets

    def act(self, op: str, namespace: str, room: str | None, rooms: list[str]) -> int:
        """``join`` or ``leave`` ``rooms``, or ``disconnect``, for each of :meth:`members`.

        :return: how many clients were acted on.
        """
        server = self.sockevents.server
        sids = self.members(namespace, room)
        for sid in sids:
            if op == "join":
                for name in rooms:
                    server.enter_room(sid, name, namespace=namespace)
            elif op == "leave":
                for name in rooms:
                    if name != sid:
                        server.leave_room(sid, name, namespace=namespace)
            else:
                server.disconnect(sid, namespace=namespace, ignore_queue=True)
        return len(sids)

    def publish_server_event(self, namespace: str, event: str, args: list[Any]) -> Event:
        """Publish a server-to-server event on this process's bus; returns it finished."""
        sockevents = self.sockevents
        if self._server_environ is None:
            from werkzeug.test import EnvironBuilder

            self._server_environ = EnvironBuilder(
                path="/" + str(sockevents.path).strip("/") + "/"
            ).get_environ()
        message = Event(EventKind.SERVER, namespace, event, None, tuple(args))
        finished: Event = sockevents._dispatch(self._server_environ, message, None)
        return finished

    def run(self, request: Request) -> Any:
        """The result of ``request`` for this process's clients.

        :raises BadRequest: when its arguments are not shaped as the operation needs.
        """
        op, namespace, args = request.op, request.namespace, request.args
        room = args.get("room")
        if room is not None and not _is_name(room):
            raise BadRequest("room")
        if op == "fetch":
            return self.describe(namespace, room)
        if op in ("join", "leave", "disconnect"):
            rooms = args.get("rooms", [])
            if not (
                isinstance(rooms, list)
                and len(rooms) <= MAX_ROOMS_PER_REQUEST
                and all(_is_name(name) for name in rooms)
            ):
                raise BadRequest("rooms")
            return self.act(op, namespace, room, rooms)
        if op == "emit":
            event, event_args = args.get("event"), args.get("args")
            if (
                not isinstance(event, str)
                or check_event_name(event) is not None
                or not isinstance(event_args, list)
            ):
                raise BadRequest("event")
            finished = self.publish_server_event(namespace, event, event_args)
            return finished.ack if finished.replied else None
        handler = self.operations.get(str(args.get("operation")))
        if handler is None:
            raise BadRequest("operation")
        return handler(namespace, args)


class BadRequest(Exception):
    """A request whose arguments are not shaped as the operation needs."""


def _is_name(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= 1024


def jsonable(result: Any, dropped: Counter[str]) -> Any:
    """``result`` (that does not encode as JSON) with each socket's bad ``data`` replaced."""
    import json

    if isinstance(result, list):
        cleaned = []
        for entry in result:
            if isinstance(entry, dict) and "data" in entry:
                try:
                    json.dumps(entry["data"])
                except (TypeError, ValueError):
                    dropped["socket data not sent"] += 1
                    entry = {**entry, "data": None}
            cleaned.append(entry)
        try:
            json.dumps(cleaned)
            return cleaned
        except (TypeError, ValueError):
            pass
    dropped["answer not JSON"] += 1
    return None
