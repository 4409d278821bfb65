"""The cluster's link through Redis: requests, responses and the process registry.

The same Redis as the message queue carries it, on channels and keys derived
from the queue's channel name ``<channel>`` (so two apps sharing a Redis with
different channels never see each other):

- ``<channel>#cluster#request``: every process subscribes; a request is
  published there once and every *other* process answers it;
- ``<channel>#cluster#reply#<request id>``: the requester subscribes to it
  for the life of one request, before publishing the request; answers are
  published there. A request naming any other reply channel is dropped, so a
  message cannot make a process publish on the queue's channel;
- ``<channel>#cluster#processes``: a sorted set of process ids scored by the
  Redis clock (milliseconds) of their last heartbeat;
- ``<channel>#cluster#stats``: a hash of each process's last counters (JSON),
  for the monitor.

A request, step by step:

1. the requester reads the live processes (heartbeat younger than the
   time-to-live) from the registry: those are the answers it waits for;
2. it subscribes to its reply channel, publishes the request and collects
   answers until every expected process answered or the timeout passed; the
   processes that did not answer are reported, never waited on longer;
3. each other process validates the request, runs the operation in a
   bounded pool of greenlets and publishes its answer.

Every message is JSON, at most ``max_message_size`` bytes, and is checked
field by field; a message that is too large, not JSON or not shaped as
described is dropped and counted in :attr:`ClusterLink.dropped` by reason.
Messages are trusted exactly as much as the queue is: anyone who can publish
on the Redis can ask for sockets' data and disconnect clients.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_PROCESSES", "OPERATIONS", "ClusterLink", "redis_client"]

logger = logging.getLogger("flask_sockevents.cluster")

VERSION = 1
#: The operations a request may ask for.
OPERATIONS = frozenset({"fetch", "join", "leave", "disconnect", "emit", "presence"})
#: Processes a request waits for, at most (and answers it keeps).
MAX_PROCESSES = 1024
#: Requests one process may have waiting for answers at once (each holds a
#: Redis connection); more wait for a slot within their own timeout.
MAX_REQUESTS_IN_FLIGHT = 64
_MAX_ID = 64
_MAX_PROCESS_ID = 200
_MAX_NAME = 1024

_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local existed = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]),
                        'LIMIT', 0, 100)
if existed then existed = 1 else existed = 0 end
return {existed, now, dead}
"""

_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf',
                  'LIMIT', 0, tonumber(ARGV[2]))
"""

_FORGET = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


def redis_client(url: str) -> Any:
    """A Redis (or Valkey) client for the queue URL ``url``, Sentinel URLs included."""
    scheme = url.split("://", 1)[0].lower()
    if scheme.startswith("valkey"):
        import valkey as module
    else:
        import redis as module
    if "+sentinel" in scheme:
        from socketio.redis_manager import parse_redis_sentinel_url

        sentinels, service, options = parse_redis_sentinel_url(url)
        return module.sentinel.Sentinel(sentinels, **options).master_for(service or "mymaster")
    return module.Redis.from_url(url)


class Request:
    """A validated request from another process."""

    __slots__ = ("args", "id", "namespace", "op", "origin", "reply_to")

    def __init__(
        self, id: str, origin: str, reply_to: str, op: str, namespace: str, args: dict[str, Any]
    ) -> None:
        self.id = id
        self.origin = origin
        self.reply_to = reply_to
        self.op = op
        self.namespace = namespace
        self.args = args


def _short_str(value: Any, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit


class ClusterLink:
    """Requests and answers between the processes of one channel, and their registry.

    :param redis: a Redis client (see :func:`redis_client`).
    :param channel: the message queue's channel name.
    :param process_id: this process's id in the cluster.
    :param heartbeat: seconds between two heartbeats; a process whose last
        heartbeat is older than ``3 * heartbeat`` is dead.
    :param max_message_size: bytes; larger messages are neither sent nor read.
    :param spawn: starts a background task (the server's ``start_background_task``).
    """

    def __init__(
        self,
        redis: Any,
        channel: str,
        process_id: str,
        *,
        heartbeat: float = 5.0,
        max_message_size: int = 16_000_000,
        spawn: Callable[..., Any] | None = None,
    ) -> None:
        self.redis = redis
        self.process_id = process_id
        self.heartbeat = heartbeat
        self.max_message_size = max_message_size
        self.spawn = spawn
        base = f"{channel}#cluster"
        self.prefix = base
        self.request_channel = f"{base}#request"
        self.reply_prefix = f"{base}#reply#"
        self.processes_key = f"{base}#processes"
        self.stats_key = f"{base}#stats"
        self.dropped: Counter[str] = Counter()
        self._in_flight = threading.BoundedSemaphore(MAX_REQUESTS_IN_FLIGHT)
        self._heartbeat_script = redis.register_script(_HEARTBEAT)
        self._live_script = redis.register_script(_LIVE)
        self._forget_script = redis.register_script(_FORGET)

    @property
    def ttl_ms(self) -> int:
        """Milliseconds after its last heartbeat at which a process counts as dead."""
        return int(self.heartbeat * 3 * 1000)

    # -- the registry --------------------------------------------------------

    def beat(self, stats: dict[str, Any]) -> tuple[bool, int, list[str]]:
        """Renew this process's entry and publish its ``stats``.

        :return: ``(was registered, Redis time in ms, dead process ids)``.
        """
        existed, now, dead = self._heartbeat_script(
            keys=[self.processes_key, self.stats_key],
            args=[self.process_id, json.dumps(stats), self.ttl_ms],
        )
        return (
            bool(existed),
            int(now),
            [_text(pid) for pid in dead if _text(pid) != self.process_id],
        )

    def forget(self, process_id: str, cutoff_ms: int) -> bool:
        """Remove a dead process from the registry, unless it came back since ``cutoff_ms``."""
        return bool(
            self._forget_script(
                keys=[self.processes_key, self.stats_key], args=[process_id, cutoff_ms]
            )
        )

    def leave(self) -> None:
        """Remove this process from the registry (on a clean exit)."""
        pipe = self.redis.pipeline()
        pipe.zrem(self.processes_key, self.process_id)
        pipe.hdel(self.stats_key, self.process_id)
        pipe.execute()

    def live_processes(self) -> list[str]:
        """The ids of the processes whose heartbeat is fresh, this one included."""
        found = self._live_script(keys=[self.processes_key], args=[self.ttl_ms, MAX_PROCESSES])
        return [_text(pid) for pid in found]

    def process_stats(self, process_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The last stats each of ``process_ids`` published (unreadable ones left out)."""
        if not process_ids:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for pid, raw in zip(
            process_ids, self.redis.hmget(self.stats_key, process_ids), strict=False
        ):
            try:
                stats = json.loads(raw) if raw is not None else None
            except ValueError:
                stats = None
            if isinstance(stats, dict):
                found[pid] = stats
        return found

    # -- asking --------------------------------------------------------------

    def encode(self, message: dict[str, Any]) -> str | None:
        """``message`` as JSON, or ``None`` (counted) when it is larger than allowed."""
        data = json.dumps(message, separators=(",", ":"))
        if len(data) > self.max_message_size:
            self.dropped["too large to send"] += 1
            logger.warning("a cluster message of %d bytes was not sent", len(data))
            return None
        return data

    def publish_request(
        self, op: str, namespace: str, args: dict[str, Any], request_id: str | None = None
    ) -> str | None:
        """Publish a request without waiting for answers; returns its id (``None`` if too large)."""
        request_id = request_id or uuid.uuid4().hex
        data = self.encode(
            {
                "v": VERSION,
                "type": "request",
                "id": request_id,
                "from": self.process_id,
                "reply_to": self.reply_prefix + request_id,
                "op": op,
                "ns": namespace,
                "args": args,
            }
        )
        if data is None:
            return None
        self.redis.publish(self.request_channel, data)
        return request_id

    def request(
        self, op: str, namespace: str, args: dict[str, Any], timeout: float
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Ask every other live process and gather their answers.

        :return: ``(answers by process id, ids of the processes that did not
            answer within timeout)``.
        """
        deadline = time.monotonic() + timeout
        expected = {pid for pid in self.live_processes() if pid != self.process_id}
        if not self._in_flight.acquire(timeout=timeout):
            logger.warning("%s not sent: %d requests already wait", op, MAX_REQUESTS_IN_FLIGHT)
            return {}, tuple(sorted(expected))
        try:
            return self._ask(op, namespace, args, expected, deadline)
        finally:
            self._in_flight.release()

    def _ask(
        self, op: str, namespace: str, args: dict[str, Any], expected: set[str], deadline: float
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        request_id = uuid.uuid4().hex
        answers: dict[str, Any] = {}
        subscription = self.redis.pubsub()
        try:
            subscription.subscribe(self.reply_prefix + request_id)
            # Answers can only be heard once Redis confirmed the subscription.
            while (confirmed := subscription.get_message(timeout=0.1)) is None or (
                confirmed.get("type") != "subscribe"
            ):
                if time.monotonic() >= deadline:
                    return answers, tuple(sorted(expected))
            if self.publish_request(op, namespace, args, request_id) is None:
                return answers, tuple(sorted(expected))
            while not expected <= answers.keys() and len(answers) < MAX_PROCESSES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                message = subscription.get_message(timeout=left)
                if message is None or message.get("type") != "message":
                    continue
                answer = self.read_answer(message.get("data"), request_id)
                if answer is not None and answer[0] not in answers:
                    answers[answer[0]] = answer[1]
        finally:
            subscription.close()
        missing = tuple(sorted(expected - answers.keys()))
        if missing:
            logger.warning("no answer to %s from %s in time", op, ", ".join(missing))
        return answers, missing

    def read_answer(self, data: Any, request_id: str) -> tuple[str, Any] | None:
        """``(process id, result)`` of a valid answer to ``request_id``, else ``None`` (counted)."""
        message = self._decode(data)
        if message is None:
            return None
        origin = message.get("from")
        if (
            message.get("type") != "response"
            or message.get("id") != request_id
            or not _short_str(origin, _MAX_PROCESS_ID)
            or "result" not in message
        ):
            self.dropped["malformed answer"] += 1
            return None
        return str(origin), message["result"]

    # -- answering -----------------------------------------------------------

    def read_request(self, data: Any) -> Request | None:
        """The request in ``data``; ``None`` for this process's own or a bad one (counted)."""
        message = self._decode(data)
        if message is None:
            return None
        request_id = message.get("id")
        origin = message.get("from")
        reply_to = message.get("reply_to")
        op = message.get("op")
        namespace = message.get("ns")
        args = message.get("args")
        if not (
            message.get("type") == "request"
            and _short_str(request_id, _MAX_ID)
            and _short_str(origin, _MAX_PROCESS_ID)
            and reply_to == self.reply_prefix + str(request_id)
            and op in OPERATIONS
            and _short_str(namespace, _MAX_NAME)
            and isinstance(args, dict)
        ):
            self.dropped["malformed request"] += 1
            return None
        if origin == self.process_id:
            return None
        return Request(str(request_id), str(origin), str(reply_to), str(op), str(namespace), args)

    def answer(self, request: Request, result: Any) -> None:
        """Publish ``result`` as this process's answer to ``request``."""
        data = self.encode(
            {"v": VERSION, "type": "response", "id": request.id, "from": self.process_id,
             "result": result}
        )  # fmt: skip
        if data is not None:
            self.redis.publish(request.reply_to, data)

    def requests(self) -> Any:
        """Yield the raw data of every message on the request channel (reconnecting forever)."""
        retry = 1.0
        while True:
            subscription = None
            try:
                subscription = self.redis.pubsub(ignore_subscribe_messages=True)
                subscription.subscribe(self.request_channel)
                retry = 1.0
                for message in subscription.listen():
                    if message.get("type") == "message":
                        yield message.get("data")
            except Exception as exc:
                logger.error("cluster requests: cannot read from Redis (%s), retrying", exc)
                time.sleep(retry)
                retry = min(retry * 2, 30.0)
            finally:
                if subscription is not None:
                    with contextlib.suppress(Exception):  # the connection may be broken
                        subscription.close()

    def _decode(self, data: Any) -> dict[str, Any] | None:
        if not isinstance(data, (bytes, str)):
            self.dropped["not text"] += 1
            return None
        if len(data) > self.max_message_size:
            self.dropped["too large"] += 1
            return None
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            self.dropped["not JSON"] += 1
            return None
        if not isinstance(message, dict) or message.get("v") != VERSION:
            self.dropped["malformed"] += 1
            return None
        return message


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
