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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import socketio

__all__ = ["JSONKombuManager", "queue_manager"]

logger = logging.getLogger("flask_sockevents.queues")

_REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "unix")


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
        return socketio.RedisManager(url, channel=channel, write_only=write_only)
    if scheme == "kafka":
        return socketio.KafkaManager(url, channel=channel, write_only=write_only)
    if scheme.startswith("zmq"):
        return socketio.ZmqManager(url, channel=channel, write_only=write_only)
    return JSONKombuManager(url, channel=channel, write_only=write_only)


def _drop_refused(message: Any, exc: Exception) -> None:
    """Acknowledge and drop a message Kombu refused to decode (not JSON)."""
    logger.warning("dropped a message queue message that is not JSON: %s", exc)
    message.ack()


class JSONKombuManager(socketio.KombuManager):
    """python-socketio's Kombu manager that only ever decodes JSON messages.

    Takes the same parameters as :class:`socketio.KombuManager`.
    """

    name = "kombu-json"

    def _listen(self) -> Iterator[Any]:
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
