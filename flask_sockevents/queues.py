"""Message queues: how emits, room changes and disconnects reach every process.

With ``message_queue=<url>`` the extension gives python-socketio's server one
of its pub/sub client managers. Every emit, ``close_room`` and cross-process
``disconnect`` is then published on the queue's channel, and every server
process subscribed to it delivers the message to its own clients; a process
with no app (``SockEvents(message_queue=url)``) only publishes.

What crosses the queue is JSON and nothing else:

- :class:`socketio.RedisManager` (``redis://``, ``rediss://``, ``unix://``,
  ``valkey://``, ``redis+sentinel://``...) publishes ``json.dumps(message)``
  and decodes what it receives with ``json.loads``;
- Kombu (any other URL: ``amqp://``, ``sqs://``...) decodes each message by
  the content type its *sender* chose, and accepts ``pickle`` whenever any
  code in the process has re-enabled Kombu's insecure serializers (Celery's
  ``accept_content`` does). :class:`JSONKombuManager` consumes with
  ``accept=["json"]``, so a message of any other content type (pickle, YAML,
  msgpack) is refused before decoding, logged and dropped;
- Kafka (``kafka://``) and ZeroMQ (``zmq+tcp://``) carry ``json.dumps``
  bytes and decode them with ``json.loads``.

Binary arguments travel base64-encoded inside the JSON.

Beside python-socketio's messages, the checked managers carry those of
acknowledgements with a timeout (``ack_emit``, ``ack_count``,
``ack_answer``; see :mod:`.acks`), checked the same way and handed to the
server's ack tracker.

Whoever can publish on the channel is trusted: a message there can emit
anything to any client, disconnect any client, or move clients between rooms.
Keep the queue private (Redis ACLs, TLS; see the README's production
section). What a publisher cannot do is break the listener: every message is
checked before python-socketio handles it, and one that is not JSON, not an
object, larger than the manager's ``max_message_size`` (16 MiB), of an
unknown ``method`` or missing (or mistyping) a field that method needs is
dropped, logged (the first of each reason at WARNING) and counted in the
manager's ``dropped_messages`` (a :class:`~collections.Counter` by
reason). python-socketio's own listener, given such a message, raised,
resubscribed, and lost the messages published meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import socketio

from .acks import ACK_METHODS, MAX_ACK_TIMEOUT

__all__ = [
    "DEFAULT_MAX_QUEUE_MESSAGE_SIZE",
    "CheckedRedisManager",
    "JSONKombuManager",
    "message_problem",
    "queue_manager",
]

logger = logging.getLogger("flask_sockevents.queues")

_REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "unix")

DEFAULT_MAX_QUEUE_MESSAGE_SIZE = 16 * 1024 * 1024
"""Bytes (or characters) a queue message may have before it is dropped undecoded."""

_OPTIONAL = type(None)
_ROOM = (str, int)
#: For each method python-socketio's managers publish: field -> the types it may have.
#: Fields left out are ignored (python-socketio reads them with ``.get``).
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "emit": {
        "event": (str,),
        "data": (list,),
        "namespace": (str, _OPTIONAL),
        "room": (*_ROOM, list, _OPTIONAL),
        "skip_sid": (str, list, _OPTIONAL),
        "callback": (list, _OPTIONAL),
        "binary": (bool, _OPTIONAL),
        "host_id": (str, _OPTIONAL),
    },
    "callback": {"host_id": (str,), "sid": (str,), "id": (int,), "args": (list,)},
    "disconnect": {"sid": (str,), "namespace": (str, _OPTIONAL), "host_id": (str, _OPTIONAL)},
    "enter_room": {"sid": (str,), "room": _ROOM, "namespace": (str, _OPTIONAL)},
    "leave_room": {"sid": (str,), "room": _ROOM, "namespace": (str, _OPTIONAL)},
    "close_room": {"room": (*_ROOM, _OPTIONAL), "namespace": (str, _OPTIONAL)},
}
_NUMBER = (int, float)
#: The messages of acknowledgements with a timeout across processes (see :mod:`.acks`).
_FIELDS.update({
    "ack_emit": {
        **_FIELDS["emit"], "callback": (_OPTIONAL,), "host_id": (str,), "request": (str,),
        "timeout": _NUMBER,
    },
    "ack_count": {"host_id": (str,), "request": (str,), "sids": (list,), "sid_room": (bool,)},
    "ack_answer": {
        "host_id": (str,), "request": (str,), "sid": (str,), "args": (list, _OPTIONAL),
        "binary": (bool, _OPTIONAL), "gone": (bool, _OPTIONAL),
    },
})  # fmt: skip
_REQUIRED = {"emit": ("event", "data"), "callback": ("host_id", "sid", "id", "args")}
_REQUIRED.update({method: ("sid",) for method in ("disconnect", "enter_room", "leave_room")})
_REQUIRED.update({
    "ack_emit": ("event", "data", "host_id", "request", "timeout"),
    "ack_count": ("host_id", "request", "sids", "sid_room"),
    "ack_answer": ("host_id", "request", "sid"),
})  # fmt: skip


def message_problem(message: Any) -> str | None:
    """Why a decoded queue message cannot be handled, or ``None`` when it can.

    The message must be a JSON object whose ``method`` is one python-socketio
    publishes, with the fields that method reads, each of the type it expects.
    """
    if not isinstance(message, dict):
        return "not a JSON object"
    method = message.get("method")
    if not isinstance(method, str) or method not in _FIELDS:
        return "unknown method"
    fields = _FIELDS[method]
    for name in _REQUIRED.get(method, ()):
        if name not in message:
            return f"{method} without {name}"
    for name, types in fields.items():
        if name in message and not isinstance(message[name], types):
            return f"{method} with a malformed {name}"
        if isinstance(message.get(name), bool) and bool not in types:
            return f"{method} with a malformed {name}"  # True is an int, not an id
    if method == "ack_emit" and not 0 < message["timeout"] <= MAX_ACK_TIMEOUT:
        return "ack_emit with a malformed timeout"
    if method == "ack_count" and not all(isinstance(sid, str) for sid in message["sids"]):
        return "ack_count with a malformed sids"
    if method in ("emit", "ack_emit"):
        callback = message.get("callback")
        if callback is not None and len(callback) != 3:
            return "emit with a malformed callback"
        if message.get("binary") and not (
            message["data"] and all(isinstance(part, str) for part in message["data"][1:])
        ):
            return "emit with malformed binary attachments"
    return None


class _CheckedMessages:
    """Checks every message a pub/sub manager receives; drops, logs and counts the bad ones.

    Mixed in before a python-socketio pub/sub manager: its ``_listen`` then
    yields only decoded messages that :func:`message_problem` accepts, so its
    listening thread never raises on what a publisher sent. It also carries
    the messages of acknowledgements with a timeout (:mod:`.acks`), which
    python-socketio does not know: they go to the server's ack tracker.
    Room changes another process asks for (``enter_room``, ``leave_room``,
    ``close_room`` of clients here) are told to connection state recovery,
    as local ones are, so that a store keeping connected sessions has them
    if this process dies. A client still in its connect handler enters and
    leaves rooms here, never through the queue.
    """

    json: Any
    server: Any
    _publish: Any
    get_participants: Any
    is_connected: Any
    is_pre_connected: Any
    basic_enter_room: Any
    basic_leave_room: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Messages dropped, by reason.
        self.dropped_messages: Counter[str] = Counter()
        #: A message longer than this (bytes or characters) is dropped before decoding.
        self.max_message_size = DEFAULT_MAX_QUEUE_MESSAGE_SIZE

    def publish_ack_message(self, message: dict[str, Any]) -> int | None:
        """Publish an ``ack_*`` message; ``None``: the queue cannot tell who received it."""
        self._publish(message)
        return None

    def _ack_message(self, message: dict[str, Any]) -> None:
        tracker = getattr(self.server, "acks", None)
        if tracker is None:
            return
        try:
            tracker.handle_queue_message(message)
        except Exception:
            logger.exception("could not handle a message queue %s message", message["method"])

    def enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> Any:
        """Put ``sid`` in ``room``: here if it is a client of this process, else through the queue.

        A client still in its connect handler (pre-connected) is one of this
        process's: python-socketio before 5.18.1 published its room change on
        the queue instead, and the change came back too early to be applied
        (its handler drops changes for clients still connecting), so a
        ``join_room`` in a connect handler could be lost.
        """
        if self.is_pre_connected(sid, namespace):
            return self.basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        return super().enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]

    def leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        """Take ``sid`` out of ``room``; here for a client still connecting (see ``enter_room``)."""
        if self.is_pre_connected(sid, namespace):
            return self.basic_leave_room(sid, namespace, room)
        return super().leave_room(sid, namespace, room)  # type: ignore[misc]

    def _handle_enter_room(self, message: dict[str, Any]) -> None:
        super()._handle_enter_room(message)  # type: ignore[misc]
        self._rooms_changed([message.get("sid")], message.get("namespace") or "/")

    def _handle_leave_room(self, message: dict[str, Any]) -> None:
        super()._handle_leave_room(message)  # type: ignore[misc]
        self._rooms_changed([message.get("sid")], message.get("namespace") or "/")

    def _handle_close_room(self, message: dict[str, Any]) -> None:
        namespace = message.get("namespace") or "/"
        room = message.get("room")
        members = [sid for sid, _ in self.get_participants(namespace, room)] if room else []
        super()._handle_close_room(message)  # type: ignore[misc]
        self._rooms_changed(members, namespace)

    def _rooms_changed(self, sids: list[Any], namespace: str) -> None:
        # The server's own hook for room changes (flask_sockevents.server.Server);
        # python-socketio's server has none.
        track = getattr(self.server, "_track", None)
        if track is None:
            return
        for sid in sids:
            if isinstance(sid, str) and self.is_connected(sid, namespace):
                track(sid, namespace)

    def _checked(self, messages: Iterator[Any]) -> Iterator[dict[str, Any]]:
        for message in messages:
            problem = None
            if isinstance(message, (bytes, bytearray, str)):
                if len(message) > self.max_message_size:
                    problem = f"larger than {self.max_message_size} bytes"
                else:
                    try:
                        message = self.json.loads(message)
                    except Exception:
                        problem = "not JSON"
            if problem is None:
                problem = message_problem(message)
            if problem is None:
                if message["method"] in ACK_METHODS:
                    self._ack_message(message)
                else:
                    yield message
                continue
            self.dropped_messages[problem] += 1
            first = self.dropped_messages[problem] == 1
            logger.log(
                logging.WARNING if first else logging.DEBUG,
                "dropped a message queue message: %s%s",
                problem,
                " (further ones are logged at DEBUG; see dropped_messages)" if first else "",
            )


def queue_manager(url: str, channel: str = "flask-socketio", write_only: bool = False) -> Any:
    """The python-socketio client manager for the message queue at ``url``.

    :param url: ``redis://host:port/db`` (Redis or Valkey, also ``rediss://``,
        ``unix://`` and ``+sentinel`` forms), ``kafka://host:port``,
        ``zmq+tcp://host:port+port``, or any Kombu URL (``amqp://...``).
    :param channel: the channel (or exchange, or topic) the processes share.
    :param write_only: publish only (a process that emits but serves no
        clients).
    :raises RuntimeError: when the client library for ``url`` is missing
        (``pip install redis``, ``kombu``, ``kafka-python`` or ``pyzmq``).
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme.split("+", 1)[0] in _REDIS_SCHEMES:
        return CheckedRedisManager(url, channel=channel, write_only=write_only)
    if scheme == "kafka":
        return socketio.KafkaManager(url, channel=channel, write_only=write_only)
    if scheme.startswith("zmq"):
        return socketio.ZmqManager(url, channel=channel, write_only=write_only)
    return JSONKombuManager(url, channel=channel, write_only=write_only)


def _drop_refused(message: Any, exc: Exception) -> None:
    """Acknowledge and drop a message Kombu refused to decode (not JSON)."""
    logger.warning("dropped a message queue message that is not JSON: %s", exc)
    message.ack()


class CheckedRedisManager(_CheckedMessages, socketio.RedisManager):
    """python-socketio's Redis manager, dropping and counting messages it cannot handle.

    Takes the same parameters as :class:`socketio.RedisManager`; see
    :func:`message_problem` and ``dropped_messages``.
    """

    def _listen(self) -> Iterator[Any]:
        return self._checked(super()._listen())

    def publish_ack_message(self, message: dict[str, Any]) -> int | None:
        """Publish an ``ack_*`` message; how many *other* processes received it.

        Redis answers PUBLISH with the number of subscribers that received the
        message; this process is one of them once its listener subscribed.
        ``None`` when the message could not be published.
        """
        received = self._publish(message)
        if isinstance(received, bool) or not isinstance(received, int):
            return None
        subscribed = bool(getattr(self.pubsub, "subscribed", False))
        return max(0, received - subscribed)


class JSONKombuManager(_CheckedMessages, socketio.KombuManager):
    """python-socketio's Kombu manager that only ever decodes JSON messages.

    Takes the same parameters as :class:`socketio.KombuManager`; a message
    that is JSON but not one it can handle is dropped and counted as with
    :class:`CheckedRedisManager`.
    """

    name = "kombu-json"

    def _listen(self) -> Iterator[Any]:
        return self._checked(self._receive())

    def _receive(self) -> Iterator[Any]:
        retry_sleep = 1
        while True:
            try:
                reader_queue = self._queue()
                with (
                    self._connection() as connection,
                    connection.SimpleQueue(reader_queue, accept=["json"]) as queue,
                ):
                    queue.consumer.on_decode_error = _drop_refused
                    while True:
                        message = queue.get(block=True)
                        message.ack()
                        yield message.payload
                        retry_sleep = 1
            except Exception as exc:
                logger.error(
                    "cannot receive from the message queue (%s), retrying in %s s",
                    exc,
                    retry_sleep,
                )
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 60)
