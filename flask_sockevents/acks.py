"""Acknowledgements with a timeout: one client's answer, or every answer of a room.

python-socketio calls an emit's ``callback`` when the client answers and
never otherwise: the pending callback stays in ``manager.callbacks`` until
the client disconnects, and across processes only one client can be asked.
:class:`AckTracker` adds what node's server has (``socket.timeout(ms).emit``,
``io.to(room).timeout(ms).emit``, ``emitWithAck``), in four steps:

1. :meth:`AckTracker.request` sends the event to each recipient connected to
   this process with an ack id of its own (python-socketio's bookkeeping,
   ``manager.callbacks``) and, with a message queue, publishes an
   ``ack_emit`` message (not when ``to`` is a client of this process);
2. every other process delivers it to its own recipients the same way,
   publishes an ``ack_count`` naming them, then an ``ack_answer`` for each
   answer, or for each recipient that disconnected without answering;
3. the request ends when every recipient answered or disconnected and every
   process reported (Redis tells how many processes received the message;
   with another queue only the timeout ends a request that may reach other
   processes), or when the timeout passes, whichever comes first. A process
   that dies without reporting is waited for until the timeout, no longer;
4. a recipient's pending ack leaves ``manager.callbacks`` as soon as it
   answers, disconnects or the timeout passes.

What the caller gets depends on the target:

- **one client** (``to`` is the sid of a connected client, in any process):
  the callback is called ``fn(None, *answer)``, or ``fn(error)`` with
  :class:`~flask_sockevents.exceptions.AckTimeout` or
  :class:`~flask_sockevents.exceptions.AckDisconnected`; the
  :class:`~gevent.event.AsyncResult` of ``emit_with_ack`` holds the answer
  (one argument as is, several as a tuple, none as ``None``, as ``call()``
  returns it) or that error;
- **a room, several, or everyone** (``to`` a room, a list, or ``None``): the
  callback is called ``fn(error, acks)`` with a :class:`~.ack_waiters.BroadcastAcks` (the
  answers by sid, and ``acks.missing``, the clients that did not answer);
  ``error`` is ``None`` when every client answered, else ``AckTimeout`` or,
  when the only ones missing disconnected, ``AckDisconnected``. The
  ``AsyncResult`` holds the :class:`~.ack_waiters.BroadcastAcks` whatever was missing;
- **no one**: a name that is neither a connected client nor a room with
  clients gives ``fn(AckDisconnected(...), BroadcastAcks())`` (both forms
  can read it) and an ``AsyncResult`` holding that error.

The waiters (the emitting process's request, another process's relay) and
the results are in :mod:`.ack_waiters`; this module delivers, indexes and
routes. Callbacks run in a greenlet of their own, never in the reader of the
client that answered. Across processes, the answers travel as JSON (binary
arguments base64-encoded, as python-socketio's messages carry them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

import gevent
from gevent.event import AsyncResult
from socketio import packet as sio_packet
from socketio.pubsub_manager import PubSubManager

from .ack_waiters import BroadcastAcks, Relay, Request, Waiter, answer_value, decoded, encoded

__all__ = [
    "ACK_METHODS",
    "MAX_ACK_TIMEOUT",
    "AckQueue",
    "AckTracker",
    "BroadcastAcks",
    "answer_value",
]

logger = logging.getLogger("flask_sockevents.acks")

#: Seconds an emit may wait for acknowledgements, at most.
MAX_ACK_TIMEOUT = 3600.0
#: The message queue methods of acknowledgements across processes.
ACK_METHODS = ("ack_emit", "ack_count", "ack_answer")


class AckQueue(Protocol):
    """What a message queue manager offers for acknowledgements across processes.

    :class:`~flask_sockevents.queues.CheckedRedisManager` and
    :class:`~flask_sockevents.queues.JSONKombuManager` have it.
    """

    host_id: str
    write_only: bool

    def publish_ack_message(self, message: dict[str, Any]) -> int | None:
        """Publish ``message``; how many *other* processes received it, if the queue knows."""


def _arguments(data: Any) -> list[Any]:
    """python-socketio's ``data``: a tuple is several arguments, ``None`` none."""
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


def _checked_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, not {timeout!r}")
    if not 0 < timeout <= MAX_ACK_TIMEOUT:
        raise ValueError(f"timeout must be more than 0 and at most {MAX_ACK_TIMEOUT} s")
    return float(timeout)


class _WatchedCallbacks(dict[str, Any]):
    """python-socketio's ``manager.callbacks``, telling when a client's entry is deleted.

    python-socketio deletes a client's entry when it disconnects (and only
    then): its pending acknowledgements will never be answered.
    """

    def __init__(self, existing: dict[str, Any], on_delete: Callable[[str], None]) -> None:
        super().__init__(existing)
        self.on_delete = on_delete

    def __delitem__(self, sid: str) -> None:
        super().__delitem__(sid)
        self.on_delete(sid)


class AckTracker:
    """Emits waiting for acknowledgements with a timeout, in one server process.

    Created by the server on first use (``server.acks``); see the module
    docstring for the steps and what callers get.

    :param server: the :class:`~flask_sockevents.server.Server`.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.manager = server.manager
        self._requests: dict[str, Request] = {}
        #: Every recipient of this process waiting to answer: sid -> ack id -> waiter.
        self._waiting: dict[str, dict[int, Waiter]] = {}
        # python-socketio keeps pending acks in this plain dict; watching it is
        # the one place that learns of every disconnect, whatever caused it.
        callbacks = self.manager.callbacks
        if not isinstance(callbacks, _WatchedCallbacks):
            self.manager.callbacks = _WatchedCallbacks(callbacks, self._client_gone)
        self.queue: AckQueue | None = (
            self.manager if hasattr(self.manager, "publish_ack_message") else None
        )

    @property
    def carries_queue(self) -> bool:
        """Whether the answers of other processes' clients can reach this one.

        True without a message queue (there are no other processes) and with
        the checked Redis and Kombu managers; False with python-socketio's
        other pub/sub managers (Kafka, ZeroMQ), which carry only its own
        single-client callbacks.
        """
        return self.queue is not None or not isinstance(self.manager, PubSubManager)

    @property
    def pending(self) -> int:
        """Emits of this process still waiting for answers."""
        return len(self._requests)

    @property
    def waiting(self) -> int:
        """Clients of this process that were sent an event and have not answered yet.

        Counted once per event they were sent (by this process's emits and by
        other processes' through the queue); each leaves as it answers,
        disconnects or times out.
        """
        return sum(len(acks) for acks in self._waiting.values())

    def request(
        self,
        event: str,
        data: Any,
        namespace: str,
        to: Any,
        skip_sid: Any,
        timeout: float,
        callback: Callable[..., Any] | None = None,
        single: bool | None = None,
        ignore_queue: bool = False,
    ) -> AsyncResult:
        """Send ``event`` to ``to`` (a sid, a room, a list, or ``None`` for everyone) and wait.

        :param data: python-socketio's ``data`` (a tuple is several arguments).
        :param timeout: seconds to wait for the answers.
        :param callback: called once when the request ends (see the module).
        :param single: ``True`` for one answer whatever ``to`` is (``call()``).
        :param ignore_queue: ask this process's clients only.
        :raises RuntimeError: in a process that cannot receive answers (emit
            only), or with a message queue that does not carry them.
        :return: the request's :class:`~gevent.event.AsyncResult`.
        """
        timeout = _checked_timeout(timeout)
        queue = None if ignore_queue else self._queue()
        manager = self.manager
        sid_room = isinstance(to, str) and bool(manager.is_sid_room(namespace, to))
        if single is None:
            if sid_room:
                single = True
            elif to is None or isinstance(to, (list, tuple, set)):
                single = False
        request = Request(self._finished, event, to, timeout, callback, single)
        self._requests[request.id] = request
        args = _arguments(data)
        request.add(self._deliver(request, event, args, namespace, to, skip_sid))
        if queue is not None and not sid_room:  # a client of this process is nowhere else
            data, binary = encoded(args)
            # Publishing lets other greenlets run: answers that come meanwhile
            # are kept, and the request cannot end before it is sent (``sent``).
            request.processes = queue.publish_ack_message({
                "method": "ack_emit", "host_id": queue.host_id, "request": request.id,
                "event": event, "data": data, "binary": binary, "namespace": namespace,
                "room": list(to) if isinstance(to, (tuple, set)) else to,
                "skip_sid": skip_sid, "timeout": timeout,
            })  # fmt: skip
        request.sent = True
        request.report((), sid_room, remote=False)
        if not request.done:
            request.timer = gevent.get_hub().loop.timer(timeout)
            request.timer.start(request.expire)
        return request.result

    def _queue(self) -> AckQueue | None:
        manager = self.manager
        if self.queue is None:
            if isinstance(manager, PubSubManager):
                raise RuntimeError(
                    f"acknowledgements with a timeout across processes need a Redis or Kombu "
                    f"message queue (flask_sockevents.queues); {type(manager).__name__} does "
                    f"not carry them: pass ignore_queue=True to ask this process's clients only"
                )
            return None
        if self.queue.write_only:
            raise RuntimeError(
                "this process only publishes on the message queue (write_only, or no app): "
                "it cannot receive acknowledgements; emit without a callback or timeout"
            )
        if not self.server.manager_initialized:
            # python-socketio starts the queue's listener at the first request
            # the server handles; answers may come before that.
            self.server.manager_initialized = True
            manager.initialize()
        return self.queue

    def _deliver(
        self, waiter: Waiter, event: str, args: list[Any], namespace: str, to: Any,
        skip_sid: Any,
    ) -> list[str]:  # fmt: skip
        """Send the event to this process's recipients, each with its own ack id."""
        manager = self.manager
        server = self.server
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        room = list(to) if isinstance(to, (tuple, set)) else to
        sids = []
        for sid, eio_sid in list(manager.get_participants(namespace, room)):
            if sid in skip:
                continue
            # python-socketio's own ack bookkeeping: the client's ACK reaches
            # the callback through manager.trigger_callback, as for any emit.
            ack_id = manager._generate_ack_id(sid, functools.partial(self._answered, waiter, sid))
            waiter.pending[sid] = ack_id
            self._waiting.setdefault(sid, {})[ack_id] = waiter
            sids.append(sid)
            pkt = server.packet_class(
                sio_packet.EVENT, namespace=namespace, data=[event, *args], id=ack_id
            )
            server._send_packet(eio_sid, pkt)
        return sids

    def _answered(self, waiter: Waiter, sid: str, *args: Any) -> None:
        ack_id = waiter.pending.pop(sid, None)
        if ack_id is None:
            return
        self._unindex(sid, ack_id)
        waiter.answered(sid, args)

    def _client_gone(self, sid: str) -> None:
        """python-socketio let go of a disconnected client's acks: so do its waiters."""
        waiters = self._waiting.pop(sid, None)
        if not waiters:
            return
        for waiter in waiters.values():
            waiter.pending.pop(sid, None)
        # Called from inside python-socketio's disconnect: the waiters (which
        # may call back or publish) continue in a greenlet of their own.
        gevent.spawn(_notify_gone, list(waiters.values()), sid)

    def _unindex(self, sid: str, ack_id: int) -> None:
        waiting = self._waiting.get(sid)
        if waiting is not None:
            waiting.pop(ack_id, None)
            if not waiting:
                del self._waiting[sid]

    def _release(self, waiter: Waiter) -> None:
        """Take every ack still pending for ``waiter`` out of python-socketio's bookkeeping."""
        callbacks = self.manager.callbacks
        for sid, ack_id in waiter.pending.items():
            pending = callbacks.get(sid)
            if pending is not None:
                pending.pop(ack_id, None)
            self._unindex(sid, ack_id)
        waiter.pending.clear()

    def _finished(self, request: Request) -> None:
        self._requests.pop(request.id, None)
        self._release(request)

    # -- messages from the other processes ------------------------------------

    def handle_queue_message(self, message: dict[str, Any]) -> None:
        """Handle an ``ack_*`` message the queue delivered (checked by :mod:`.queues`)."""
        queue = self.queue
        if queue is None:
            return
        method = message["method"]
        if method == "ack_emit":
            if message["host_id"] != queue.host_id:
                self._relay(message)
            return
        if message["host_id"] != queue.host_id:
            return
        request = self._requests.get(message["request"])
        if request is None:
            return
        if method == "ack_count":
            request.report(message["sids"], message["sid_room"], remote=True)
        elif message.get("gone"):
            request.gone(message["sid"])
        else:
            args = decoded(message.get("args") or [], bool(message.get("binary")))
            request.answered(message["sid"], tuple(args))

    def _relay(self, message: dict[str, Any]) -> None:
        """Deliver another process's emit to this process's clients; report and forward."""
        namespace = message.get("namespace") or "/"
        to = message.get("room")
        timeout = min(float(message["timeout"]), MAX_ACK_TIMEOUT)
        queue = self.queue
        assert queue is not None
        relay = Relay(queue.publish_ack_message, self._release, message["host_id"],
                      message["request"])  # fmt: skip
        args = decoded(message["data"], bool(message.get("binary")))
        sids = self._deliver(relay, message["event"], args, namespace, to, message.get("skip_sid"))
        sid_room = isinstance(to, str) and bool(self.manager.is_sid_room(namespace, to))
        queue.publish_ack_message({
            "method": "ack_count", "host_id": relay.requester, "request": relay.request_id,
            "sids": sids, "sid_room": sid_room,
        })  # fmt: skip
        if relay.pending:
            relay.timer = gevent.get_hub().loop.timer(timeout)
            relay.timer.start(relay.expire)


def _notify_gone(waiters: list[Waiter], sid: str) -> None:
    for waiter in waiters:
        try:
            waiter.gone(sid)
        except Exception:
            logger.exception("could not report that %s disconnected before answering", sid)
