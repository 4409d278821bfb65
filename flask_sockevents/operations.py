"""Server-side operations: what the application does to its clients.

- :meth:`Operations.disconnect` sends the client its DISCONNECT and queues
  the namespace's disconnect behind what the client already sent, so it is
  published once, in order;
- :meth:`Operations.emit` sends through python-socketio (rooms, message
  queue, callbacks), then hands ``on_emit`` an ``EMIT`` event whose size is
  the packet's as python-socketio encoded it (:func:`measured_packet_class`
  notes it; nothing is serialized twice);
- with a ``timeout``, :meth:`Operations.emit` and
  :meth:`Operations.emit_with_ack` wait for acknowledgements without
  blocking, from one client or every client of a room (:mod:`.acks`);
- :meth:`Operations.call` emits to one client and waits for its answer;
- :meth:`Operations.shutdown_gracefully` dispatches what was received,
  disconnects every client, then closes the transports, within a deadline;
- :meth:`Operations.connection_stats` counts connections and queued packets.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
from socketio import packet as sio_packet

from .acks import AckTracker, answer_value
from .connection_state import DisconnectItem
from .event import Event, EventKind
from .exceptions import AckTimeout
from .reader import Reader
from .recovering import ConnectionRecovery

__all__ = ["Operations", "measured_packet_class"]

#: The size of the last EVENT packet encoded in this context (greenlet).
_encoded_size: contextvars.ContextVar[int] = contextvars.ContextVar("encoded_size", default=0)
_EVENTS = (sio_packet.EVENT, sio_packet.BINARY_EVENT)


def measured_packet_class(packet_class: type[Any]) -> type[Any]:
    """``packet_class``, noting the size of every EVENT packet it encodes.

    python-socketio encodes an emit once for all its recipients (or once per
    recipient with a callback); the size noted is what went on the wire:
    characters of a text packet plus bytes of its binary attachments.
    """

    class MeasuredPacket(packet_class):
        def encode(self) -> Any:
            encoded = super().encode()
            if self.packet_type in _EVENTS:
                if isinstance(encoded, list):
                    _encoded_size.set(sum(len(part) for part in encoded))
                else:
                    _encoded_size.set(len(encoded))
            return encoded

    MeasuredPacket.__name__ = MeasuredPacket.__qualname__ = packet_class.__name__
    return MeasuredPacket


class Operations(Reader):
    """The operations of :class:`~flask_sockevents.server.Server` on its clients."""

    on_emit: Callable[[Event], None] | None
    recovery: ConnectionRecovery | None

    def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        """Disconnect a client from a namespace; its disconnect is published once, in order.

        :param sid: the client's session id in ``namespace``.
        :param namespace: the namespace, ``"/"`` by default.
        :param ignore_queue: with a message queue, act locally only.
        """
        namespace = namespace or "/"
        if ignore_queue:
            delete_it = self.manager.is_connected(sid, namespace)
        else:
            delete_it = self.manager.can_disconnect(sid, namespace)
        if not delete_it:
            return
        eio_sid = self.manager.pre_disconnect(sid, namespace=namespace)
        self._send_packet(eio_sid, self.packet_class(sio_packet.DISCONNECT, namespace=namespace))
        connection = self._connections.get(eio_sid)
        if connection is None:
            self.manager.disconnect(sid, namespace, ignore_queue=True)
            return
        item = DisconnectItem(namespace, self.reason.SERVER_DISCONNECT, False)
        self._enqueue(connection, item)

    def emit(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Emit ``event`` to clients, as python-socketio does; publish it on the bus.

        The ``EMIT`` event's ``size`` is the encoded packet's, or 0 when the
        packet was not encoded here (no recipient with a callback, or a
        message queue carrying it to the process that encodes it).

        :param timeout: with ``callback``, seconds to wait for the answers:
            ``callback`` is then called once, error first (see :mod:`.acks`).
            Without it, python-socketio's callback: called with each answer,
            never for a client that does not answer.
        """
        if timeout is not None:
            if callback is None:
                raise ValueError("timeout= needs callback=; or use emit_with_ack()")
            self._ack_request(event, data, to or room, skip_sid, namespace, timeout,
                              ignore_queue, None, callback)  # fmt: skip
            return
        token = _encoded_size.set(0)
        try:
            self._emit(event, data, to, room, skip_sid, namespace, callback, ignore_queue)
            size = _encoded_size.get()
        finally:
            _encoded_size.reset(token)
        self._publish_emit(event, data, to or room, namespace, callback is not None, size)

    def emit_with_ack(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        timeout: float = 5,
        ignore_queue: bool = False,
    ) -> gevent.event.AsyncResult:
        """Emit ``event`` and return at once an ``AsyncResult`` of the acknowledgements.

        To one client (``to=sid``): the result holds its answer (one argument
        as is, several as a tuple, none as ``None``) or raises
        :class:`~flask_sockevents.exceptions.AckTimeout` after ``timeout``
        seconds, or :class:`~flask_sockevents.exceptions.AckDisconnected` as
        soon as the client disconnects without answering. To a room, a list
        or everyone (``to=None``): a
        :class:`~flask_sockevents.ack_waiters.BroadcastAcks` of every answer, whose
        ``missing`` names the clients that did not answer. See :mod:`.acks`.

        Example::

            answer = server.emit_with_ack("question", 42, to=sid, timeout=5).get()
        """
        return self._ack_request(event, data, to or room, skip_sid, namespace, timeout,
                                 ignore_queue, None)  # fmt: skip

    def _ack_request(
        self, event: str, data: Any, to: Any, skip_sid: Any, namespace: str | None,
        timeout: float, ignore_queue: bool, single: bool | None,
        callback: Callable[..., Any] | None = None,
    ) -> gevent.event.AsyncResult:  # fmt: skip
        """Send through the ack tracker (:mod:`.acks`); publish the ``EMIT`` event as emit does."""
        token = _encoded_size.set(0)
        try:
            result = self.acks.request(event, data, namespace or "/", to, skip_sid, timeout,
                                       callback, single, ignore_queue)  # fmt: skip
            size = _encoded_size.get()
        finally:
            _encoded_size.reset(token)
        self._publish_emit(event, data, to, namespace, True, size)
        return result

    def _publish_emit(
        self, event: str, data: Any, to: Any, namespace: str | None, ack_requested: bool, size: int
    ) -> None:
        """Hand ``on_emit`` the ``EMIT`` event of an emit just sent."""
        if self.on_emit is not None:
            args = data if isinstance(data, tuple) else () if data is None else (data,)
            self.on_emit(
                Event(
                    EventKind.EMIT,
                    namespace or "/",
                    event,
                    args=args,
                    ack_requested=ack_requested,
                    size=size,
                    to=to,
                )
            )

    @property
    def acks(self) -> AckTracker:
        """The emits of this process waiting for acknowledgements with a timeout."""
        tracker = self.__dict__.get("_ack_tracker")
        if tracker is None:
            tracker = self.__dict__["_ack_tracker"] = AckTracker(self)
        return tracker

    def _emit(
        self,
        event: str,
        data: Any,
        to: Any,
        room: Any,
        skip_sid: Any,
        namespace: str | None,
        callback: Callable[..., Any] | None,
        ignore_queue: bool,
    ) -> None:
        recovery = self.recovery
        if recovery is not None and callback is None:
            # Connection state recovery: log it and append its offset (.recovering).
            data = recovery.logged_args(event, data, namespace or "/", to or room, skip_sid)
        super().emit(
            event,
            data=data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
            ignore_queue=ignore_queue,
        )

    def call(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        sid: Any = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        """Emit ``event`` to one client and wait for its acknowledgement.

        Works from handlers: a handler dispatched on the transport's reader
        hands the reading over first, so the client's answer can arrive
        while the handler waits.

        :raises AckTimeout: (a :class:`TimeoutError`) when no answer came
            within ``timeout`` seconds.
        :raises AckDisconnected: as soon as the client disconnects without
            answering.
        :return: the client's answer: one value, a tuple of values, or None.
        """
        to = to or sid
        if to is None:
            raise ValueError("call() needs a client: pass to=<sid>")
        self._hand_off_reading()  # a handler on the reader: the answer must be read
        if not ignore_queue and not self.acks.carries_queue:
            return self._call_through_socketio(event, data, to, namespace, timeout)
        return self._ack_request(event, data, to, None, namespace, timeout, ignore_queue,
                                 True).get()  # fmt: skip

    def _call_through_socketio(
        self, event: str, data: Any, to: Any, namespace: str | None, timeout: float
    ) -> Any:
        """``call()`` through a message queue that carries only python-socketio's callbacks."""
        answered = gevent.event.Event()
        answers: list[tuple[Any, ...]] = []

        def on_answer(*args: Any) -> None:
            answers.append(args)
            answered.set()

        self.emit(event, data=data, to=to, namespace=namespace, callback=on_answer)
        if not answered.wait(timeout=timeout):
            raise AckTimeout(f"no answer to {event!r} from {to} within {timeout:g} s",
                             event=event, to=to)  # fmt: skip
        return answer_value(answers[0])

    def shutdown_gracefully(self, timeout: float) -> bool:
        """Finish what clients sent, then disconnect every client and close the transports.

        Packets already received are dispatched first, so every event the
        server took gets its handler run and its acknowledgement sent; then
        each connected namespace is disconnected (reason ``SERVER_DISCONNECT``,
        published on the bus once, in order) and every transport is closed.
        With connection state recovery the clients are not sent DISCONNECT:
        their transports close, so they reconnect, and their sessions are
        kept for them to recover.

        :param timeout: seconds allowed for all of it.
        :return: ``True`` if everything finished in time, ``False`` if some
            handler was still running at the deadline (it is left running).
        """
        deadline = time.monotonic() + timeout
        finished = self._join_workers(deadline)
        if self.recovery is not None:
            # As node's server: clients are not told to stay away (no
            # DISCONNECT), their transports close, their sessions are kept.
            self.recovery.shutting_down = True
        else:
            for connection in list(self._connections.values()):
                for namespace, sid in list(connection.sids.items()):
                    self.disconnect(sid, namespace, ignore_queue=True)
        finished = self._join_workers(deadline) and finished
        gevent.spawn(self.eio.disconnect).join(max(0.0, deadline - time.monotonic()))
        return self._join_workers(deadline) and finished

    def connection_stats(self) -> dict[str, int]:
        """Connections known to the server and packets waiting in their queues."""
        return {
            "connections": len(self._connections),
            "queued": sum(len(c.pending) for c in self._connections.values()),
        }
