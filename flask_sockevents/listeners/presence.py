"""Presence: who is online, per namespace and per room, across every process.

::

    from flask_login import current_user
    from flask_sockevents.listeners import Presence

    presence = Presence(sockevents, user=lambda: current_user.id)

    presence.users()                 # users connected to "/", in any process
    presence.count("lobby")          # users with a client in the room "lobby"

    @signals.user_joined.connect
    def hello(app, user, namespace): ...

``user()`` runs in the Flask context of each accepted connect (so
``current_user``, ``session`` and ``request`` work) and returns the user's id:
a string or an int, or ``None`` for a client that is not counted. A user is
counted once however many clients ("tabs") they have, wherever those are
connected; ``user_joined`` is sent when their first client in a namespace
connects anywhere in the cluster, ``user_left`` when their last one leaves,
each once, by the process where it happened.

With a Redis message queue, each process keeps its users' tab counts in Redis
(a hash per namespace for the cluster, and one per process of what it
added). The process's heartbeat (``cluster_heartbeat``, 5 s) keeps those
entries alive: when a process dies without disconnecting its clients
(``kill -9``, a lost host), the next heartbeat of a live process after the
dead one's entry expires removes its users and sends their ``user_left``.
**Bound:** the users of a dead process leave presence at most
``4 * cluster_heartbeat`` seconds (20 s by default) after its last heartbeat,
as long as one process of the cluster is alive. Counts per namespace are one
Redis call; counts per room ask every process (the rooms live there) and
take at most ``timeout``.

Without a message queue, everything is in memory and instant.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from flask_sockevents import signals
from flask_sockevents.event import Event
from flask_sockevents.listeners._attach import app_of

__all__ = ["Presence"]

logger = logging.getLogger("flask_sockevents.presence")

_JOIN = """
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3])
return redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
"""

_LEAVE = """
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n <= 0 then return -1 end
if n == 1 then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
local m = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if m <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return m
"""

_SWEEP = """
local entries = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
local left = {}
for i = 1, #entries, 2 do
  local namespace, user = string.match(entries[i], '^(.*)\\n([^\\n]*)$')
  if namespace then
    local key = ARGV[1] .. namespace
    local m = redis.call('HINCRBY', key, user, -tonumber(entries[i + 1]))
    if m <= 0 then
      redis.call('HDEL', key, user)
      table.insert(left, namespace)
      table.insert(left, user)
    end
  end
end
return left
"""


class Presence:
    """Who is online, counting each user once, across the processes of a cluster.

    :param sockevents: the :class:`~flask_sockevents.SockEvents` extension
        (initialized with its app).
    :param user: called in the Flask context of each accepted connect;
        returns the user's id (a string or int) or ``None`` to leave the
        client out.
    :param name: tells two presences of one app apart in Redis.

    :raises RuntimeError: when the extension has no app, or its message queue
        is not Redis.
    """

    def __init__(
        self, sockevents: Any, user: Callable[[], Hashable | None], *, name: str = "presence"
    ) -> None:
        cluster = getattr(sockevents, "cluster", None)
        app = app_of(sockevents)
        if cluster is None or app is None:
            raise RuntimeError("Presence needs a SockEvents extension initialized with its app")
        if cluster.url and not cluster.distributed:
            raise RuntimeError("Presence across processes needs a Redis message queue")
        self.sockevents = sockevents
        self.cluster = cluster
        self.user = user
        self.name = name
        self.app = app
        #: (namespace, sid) -> the user's key (JSON), for this process's clients.
        self._user_of: dict[tuple[str, str], str] = {}
        #: (namespace, user key) -> this process's clients of that user.
        self._tabs: Counter[tuple[str, str]] = Counter()
        link = cluster.link
        self._redis = link.redis if link is not None else None
        prefix = f"{link.prefix if link else 'local'}#presence#{name}"
        self._namespace_prefix = f"{prefix}#ns#"
        self._process_prefix = f"{prefix}#process#"
        if self._redis is not None:
            self._join = self._redis.register_script(_JOIN)
            self._leave = self._redis.register_script(_LEAVE)
            self._sweep = self._redis.register_script(_SWEEP)
            cluster.heartbeat_hooks.append(self._heartbeat)
            cluster.sweep_hooks.append(self._remove_process)
        cluster.operations[self._operation] = self._local_room_users
        signals.client_connected.connect(self._connected, sender=app, weak=False)
        signals.client_disconnected.connect(self._disconnected, sender=app, weak=False)

    @property
    def _operation(self) -> str:
        return f"presence:{self.name}"

    def close(self) -> None:
        """Stop tracking connects and disconnects, and answering for this presence."""
        signals.client_connected.disconnect(self._connected)
        signals.client_disconnected.disconnect(self._disconnected)
        cluster = self.cluster
        cluster.operations.pop(self._operation, None)
        if self._heartbeat in cluster.heartbeat_hooks:
            cluster.heartbeat_hooks.remove(self._heartbeat)
        if self._remove_process in cluster.sweep_hooks:
            cluster.sweep_hooks.remove(self._remove_process)

    # -- recording -------------------------------------------------------------

    def _connected(self, sender: Any, event: Event, **_: Any) -> None:
        if event.sid is None:
            return
        try:
            user = self.user()
        except Exception:
            logger.exception("presence: user() raised on %r", event)
            return
        if user is None:
            return
        key = json.dumps(user)
        namespace = event.namespace
        self._user_of[(namespace, event.sid)] = key
        self._tabs[(namespace, key)] += 1
        if self._redis is None:
            if self._tabs[(namespace, key)] == 1:
                self._announce(signals.user_joined, namespace, key)
            return
        self.cluster.start()
        total = self._join(
            keys=[self._process_key, self._namespace_prefix + namespace],
            args=[f"{namespace}\n{key}", key, 1],
        )
        if int(total) == 1:
            self._announce(signals.user_joined, namespace, key)

    def _disconnected(self, sender: Any, event: Event, **_: Any) -> None:
        namespace = event.namespace
        key = self._user_of.pop((namespace, event.sid or ""), None)
        if key is None:
            return
        tabs = self._tabs
        tabs[(namespace, key)] -= 1
        if tabs[(namespace, key)] <= 0:
            del tabs[(namespace, key)]
        if self._redis is None:
            if (namespace, key) not in tabs:
                self._announce(signals.user_left, namespace, key)
            return
        left = self._leave(
            keys=[self._process_key, self._namespace_prefix + namespace],
            args=[f"{namespace}\n{key}", key],
        )
        if int(left) == 0:
            self._announce(signals.user_left, namespace, key)

    @property
    def _process_key(self) -> str:
        return self._process_prefix + self.cluster.process_id

    def _announce(self, signal: Any, namespace: str, key: str) -> None:
        user = json.loads(key)
        for receiver in signal.receivers_for(self.app):
            try:
                receiver(self.app, user=user, namespace=namespace)
            except Exception:
                logger.exception("receiver %r of %s raised", receiver, signal.name)

    def _heartbeat(self, forgotten: bool) -> None:
        """Register this process's users again if it had been declared dead."""
        if not forgotten:
            return
        for (namespace, key), tabs in list(self._tabs.items()):
            total = self._join(
                keys=[self._process_key, self._namespace_prefix + namespace],
                args=[f"{namespace}\n{key}", key, tabs],
            )
            if int(total) == tabs:
                self._announce(signals.user_joined, namespace, key)

    def _remove_process(self, process_id: str) -> None:
        """Remove the users of a dead process; send ``user_left`` for those now gone."""
        left = self._sweep(keys=[self._process_prefix + process_id], args=[self._namespace_prefix])
        for index in range(0, len(left) - 1, 2):
            namespace, key = (_text(value) for value in left[index : index + 2])
            self._announce(signals.user_left, namespace, key)

    # -- reading ---------------------------------------------------------------

    def _local_room_users(self, namespace: str, args: dict[str, Any]) -> list[str]:
        room = args.get("room")
        sids = self.cluster.local.members(namespace, room if isinstance(room, str) else None)
        user_of = self._user_of
        return sorted({user_of[(namespace, sid)] for sid in sids if (namespace, sid) in user_of})

    def users(self, room: str | None = None, namespace: str = "/", timeout: float = 5) -> list[Any]:
        """The users with a client in ``namespace`` (in ``room`` if given), in any process.

        Each user once, in no particular order. A room query asks every
        process and waits at most ``timeout`` seconds; the users of a process
        that did not answer are missing from it.
        """
        if room is None:
            if self._redis is None:
                keys = {key for (ns, key) in self._tabs if ns == namespace}
            else:
                keys = {_text(key) for key in self._redis.hkeys(self._namespace_prefix + namespace)}
        else:
            keys = set(self._local_room_users(namespace, {"room": room}))
            link = self.cluster._require_cluster()
            if link is not None:
                answers, _ = link.request(
                    "presence", namespace, {"operation": self._operation, "room": room}, timeout
                )
                for found in answers.values():
                    if isinstance(found, list):
                        keys.update(key for key in found if isinstance(key, str))
        return [_decoded(key) for key in keys]

    def count(self, room: str | None = None, namespace: str = "/", timeout: float = 5) -> int:
        """How many users :meth:`users` would list."""
        if room is None and self._redis is not None:
            return int(self._redis.hlen(self._namespace_prefix + namespace))
        return len(self.users(room, namespace, timeout))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decoded(key: str) -> Any:
    try:
        return json.loads(key)
    except ValueError:
        return key
