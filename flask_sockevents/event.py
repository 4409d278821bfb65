"""The :class:`Event` record: one Socket.IO packet as the bus sees it.

Every connect, event and disconnect that reaches the server becomes one
immutable ``Event``. The bus publishes it twice: as received (``outcome`` is
``None``) and, once dispatch is over, as finished, with its outcome, reason,
duration and acknowledgement filled in by :meth:`Event.finished`.
"""

from __future__ import annotations

import enum
import time
from typing import Any, NamedTuple

__all__ = ["Event", "EventKind", "Outcome", "client_event"]


class EventKind(str, enum.Enum):
    """What a packet is: a client's connect, event or disconnect, a server emit,
    or an event another process of the cluster sent (``server``)."""

    CONNECT = "connect"
    EVENT = "event"
    DISCONNECT = "disconnect"
    EMIT = "emit"
    SERVER = "server"

    def __str__(self) -> str:
        return self.value


class Outcome(str, enum.Enum):
    """How dispatch of an :class:`Event` ended.

    ``HANDLED``: a handler ran and returned (its value is the ack).
    ``UNHANDLED``: no handler route matched.
    ``REJECTED``: the event never reached a handler: its name was reserved or
    malformed, a guard vetoed it, or a connect was refused.
    ``FAILED``: the handler raised; the error handlers may still have answered.
    """

    HANDLED = "handled"
    UNHANDLED = "unhandled"
    REJECTED = "rejected"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class _EventFields(NamedTuple):
    kind: EventKind
    namespace: str
    name: str
    sid: str | None
    args: tuple[Any, ...]
    ack_requested: bool
    received_at: float
    remote_addr: str | None
    size: int
    to: Any
    transport: str | None
    outcome: Outcome | None
    reason: str | None
    duration: float | None
    ack: Any
    replied: bool
    error: BaseException | None
    recovered: bool


_new_tuple = tuple.__new__
_DISPATCH_FIELDS = 11  # fields up to and including ``transport`` are set on receipt
_RESULT_END = 17  # fields from ``outcome`` to ``error`` are set by ``finished()``; later
# ones (``recovered``) are set on receipt, after the others to keep their positions


class Event(_EventFields):
    """One connect, event or disconnect, as published on the bus.

    :param kind: :class:`EventKind` of the packet.
    :param namespace: the Socket.IO namespace, ``"/"`` by default.
    :param name: the event name; ``"connect"`` and ``"disconnect"`` for the
        lifecycle kinds. For a malformed name (not a string) it is the
        ``repr`` of what the client sent, cut to 64 characters.
    :param sid: the Socket.IO session id of the client in this namespace
        (``None`` for a connect that was refused before a sid was assigned,
        for a server emit and for a server-to-server event).
    :param args: the event's arguments; ``(auth,)`` for a connect and
        ``(reason,)`` for a disconnect.
    :param ack_requested: whether the client asked for an acknowledgement.
    :param received_at: :func:`time.monotonic` when the packet was received.
    :param remote_addr: the client's address from the handshake, if known.
    :param size: the size in bytes of the packet as received (0 if unknown).
    :param to: for a server emit, its target (a sid, a room or a list of
        them); ``None`` for a broadcast or a client's packet.
    :param transport: the Engine.IO session id of the client's transport,
        shared by every namespace the client opens on it (``None`` for a
        server emit or when unknown). Limits that must hold however many
        namespaces a client opens or reopens are keyed by it.
    :param outcome: :class:`Outcome` once dispatched, ``None`` before.
    :param reason: why the event was rejected or failed.
    :param duration: seconds from receipt to the end of dispatch: the wait in
        the connection's queue, guards, handler and error handlers.
    :param ack: the acknowledgement value (the handler's return value); for
        a refused connect, the connect-error payload sent to the client; for a
        rejected event, the error answer sent if the client asked for an ack
        (``{"error": "rejected", "reason": ...}``, see
        :attr:`~flask_sockevents.Reject.event_error`).
    :param replied: whether a handler or error handler produced ``ack``.
    :param error: the exception a handler raised, for ``FAILED`` events.
    :param recovered: for a connect, whether it brings back a session whose
        transport was lost (connection state recovery): same sid, rooms and
        managed session; the client also gets the packets it missed.

    A tuple underneath (immutable, no ``__dict__``), so building one on every
    packet stays cheap.
    """

    __slots__ = ()

    def __new__(
        cls,
        kind: EventKind,
        namespace: str,
        name: str,
        sid: str | None = None,
        args: tuple[Any, ...] = (),
        ack_requested: bool = False,
        received_at: float | None = None,
        remote_addr: str | None = None,
        size: int = 0,
        to: Any = None,
        transport: str | None = None,
        outcome: Outcome | None = None,
        reason: str | None = None,
        duration: float | None = None,
        ack: Any = None,
        replied: bool = False,
        error: BaseException | None = None,
        recovered: bool = False,
    ) -> Event:
        if received_at is None:
            received_at = time.monotonic()
        return _new_tuple(
            cls,
            (
                kind, namespace, name, sid, args, ack_requested, received_at,
                remote_addr, size, to, transport, outcome, reason, duration, ack, replied,
                error, recovered,
            ),
        )  # fmt: skip

    @property
    def is_connect(self) -> bool:
        """True for a connect."""
        return self.kind is EventKind.CONNECT

    @property
    def is_disconnect(self) -> bool:
        """True for a disconnect."""
        return self.kind is EventKind.DISCONNECT

    @property
    def dispatched(self) -> bool:
        """True once the event carries an outcome."""
        return self.outcome is not None

    @property
    def accepted(self) -> bool:
        """True when a finished connect let the client in.

        A connect handler that raised lets the client in when an error handler
        answered for it with anything but ``False``, as in Flask-SocketIO (the
        error handler's answer stands for the connect handler's return value).
        """
        outcome = self.outcome
        if outcome is Outcome.FAILED:
            return self.replied and self.ack is not False
        return outcome is Outcome.HANDLED or outcome is Outcome.UNHANDLED

    def finished(
        self,
        outcome: Outcome,
        *,
        reason: str | None = None,
        ack: Any = None,
        replied: bool = False,
        error: BaseException | None = None,
        duration: float | None = None,
    ) -> Event:
        """Return a copy of this event with its dispatch result filled in.

        ``duration`` defaults to the time since :attr:`received_at`.
        """
        if duration is None:
            duration = time.monotonic() - self.received_at
        return _new_tuple(
            type(self),
            (
                *self[:_DISPATCH_FIELDS],
                outcome,
                reason,
                duration,
                ack,
                replied,
                error,
                *self[_RESULT_END:],
            ),
        )

    def __repr__(self) -> str:
        status = f" {self.outcome.value}" if self.outcome is not None else ""
        if self.reason:
            status += f" ({self.reason})"
        return f"<Event {self.kind.value} {self.name!r} {self.namespace} sid={self.sid}{status}>"


def client_event(
    namespace: str,
    name: str,
    sid: str | None,
    args: tuple[Any, ...],
    ack_requested: bool,
    remote_addr: str | None,
    size: int,
    transport: str | None,
) -> Event:
    """A client's ``EVENT`` as received: ``Event(EventKind.EVENT, ...)`` with these fields.

    Built without :meth:`Event.__new__`'s keyword arguments, as the reader
    builds one for every packet.
    """
    return _new_tuple(
        Event,
        (
            _EVENT, namespace, name, sid, args, ack_requested, _monotonic(), remote_addr,
            size, None, transport, None, None, None, None, False, None, False,
        ),
    )  # fmt: skip


_EVENT = EventKind.EVENT
_monotonic = time.monotonic
