"""Server-side operations: what the application does to its clients.

- :meth:`Operations.disconnect` sends the client its DISCONNECT and queues
  the namespace's disconnect behind what the client already sent, so it is
  published once, in order;
- :meth:`Operations.emit` sends through python-socketio (rooms, message
  queue, callbacks), then hands ``on_emit`` an ``EMIT`` event whose size is
  the packet's as python-socketio encoded it (:func:`measured_packet_class`
  notes it; nothing is serialized twice);
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

from .connection_state import DisconnectItem
from .event import Event, EventKind
from .reader import Reader

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
    ) -> None:
        """Emit ``event`` to clients, as python-socketio does; publish it on the bus.

        The ``EMIT`` event's ``size`` is the encoded packet's, or 0 when the
        packet was not encoded here (no recipient with a callback, or a
        message queue carrying it to the process that encodes it).
        """
        token = _encoded_size.set(0)
        try:
            self._emit(event, data, to, room, skip_sid, namespace, callback, ignore_queue)
            size = _encoded_size.get()
        finally:
            _encoded_size.reset(token)
        if self.on_emit is not None:
            args = data if isinstance(data, tuple) else () if data is None else (data,)
            self.on_emit(
                Event(
                    EventKind.EMIT,
                    namespace or "/",
                    event,
                    args=args,
                    ack_requested=callback is not None,
                    size=size,
                    to=to or room,
                )
            )

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

        :raises TimeoutError: when no answer came within ``timeout`` seconds.
        :return: the client's answer: one value, a tuple of values, or None.
        """
        to = to or sid
        if to is None:
            raise ValueError("call() needs a client: pass to=<sid>")
        answered = gevent.event.Event()
        answers: list[tuple[Any, ...]] = []

        def on_answer(*args: Any) -> None:
            answers.append(args)
            answered.set()

        self._hand_off_reading()  # a handler on the reader: the answer must be read
        self.emit(
            event,
            data=data,
            to=to,
            namespace=namespace,
            callback=on_answer,
            ignore_queue=ignore_queue,
        )
        if not answered.wait(timeout=timeout):
            raise TimeoutError(f"no answer to {event!r} from {to} within {timeout} s")
        answer = answers[0]
        return answer if len(answer) > 1 else answer[0] if answer else None

    def shutdown_gracefully(self, timeout: float) -> bool:
        """Finish what clients sent, then disconnect every client and close the transports.

        Packets already received are dispatched first, so every event the
        server took gets its handler run and its acknowledgement sent; then
        each connected namespace is disconnected (reason ``SERVER_DISCONNECT``,
        published on the bus once, in order) and every transport is closed.

        :param timeout: seconds allowed for all of it.
        :return: ``True`` if everything finished in time, ``False`` if some
            handler was still running at the deadline (it is left running).
        """
        deadline = time.monotonic() + timeout
        finished = self._join_workers(deadline)
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
