"""Exceptions a subscriber raises to steer dispatch, and the errors we raise."""

from __future__ import annotations

from typing import Any

from socketio.exceptions import TimeoutError as _SocketIOTimeoutError

__all__ = [
    "AckDisconnected",
    "AckError",
    "AckTimeout",
    "ConnectionRefusedError",
    "Reject",
    "RoutingError",
    "SockEventsError",
]


class SockEventsError(Exception):
    """Base class of the errors flask_sockevents raises."""


class RoutingError(SockEventsError, ValueError):
    """A route was declared with an invalid event or namespace pattern."""


class Reject(SockEventsError):
    """Veto an event or a connection, with a reason the client is told.

    Raise it from a guard (or a handler) to stop the event before, or instead
    of, its handler. For a connect, the client receives the protocol's connect
    error with ``{"message": reason}``, plus ``"data"`` when ``data`` is given.
    For an event, a client that asked for an acknowledgement receives
    :attr:`event_error` instead.

    :param reason: a short text saying why, e.g. ``"rate limited"``.
    :param data: optional JSON-serialisable details, for the client.
    :param disconnect: also close the client's transport (its whole
        Engine.IO session, every namespace it opened) once the rejection is
        published, for sustained abuse: the client cannot simply CONNECT
        again on the same transport.

    Example::

        @sockevents.guard("*")
        def members_only(event):
            if not current_user.is_authenticated:
                raise Reject("login required")
    """

    def __init__(
        self, reason: str = "rejected", data: Any = None, *, disconnect: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data
        self.disconnect = disconnect

    @property
    def error_args(self) -> dict[str, Any]:
        """The payload of the connect error sent to the client."""
        payload: dict[str, Any] = {"message": self.reason}
        if self.data is not None:
            payload["data"] = self.data
        return payload

    @property
    def event_error(self) -> dict[str, Any]:
        """The acknowledgement a rejected event's client gets, if it asked for one.

        ``{"error": "rejected", "reason": reason}``; a ``dict`` ``data`` is
        merged into it (its keys win), any other ``data`` is added as ``"data"``.
        """
        return event_error(self.reason, self.data)


def event_error(reason: str, data: Any = None) -> dict[str, Any]:
    """The acknowledgement of a rejected event: see :attr:`Reject.event_error`."""
    answer: dict[str, Any] = {"error": "rejected", "reason": reason}
    if isinstance(data, dict):
        answer.update(data)
    elif data is not None:
        answer["data"] = data
    return answer


class AckError(SockEventsError):
    """An emit that waited for acknowledgements did not get every answer.

    Raised by (or passed to the callback of) an emit with a ``timeout``
    (see :mod:`flask_sockevents.acks`).

    :param message: what was not answered, by whom.
    :param event: the event's name.
    :param to: the sid, room or rooms the event was sent to (``None``: everyone).
    :param acks: for an emit to a room or to everyone, the answers that did
        come and, in ``acks.missing``, the clients that did not answer
        (a :class:`~flask_sockevents.ack_waiters.BroadcastAcks`); ``None`` for one client.
    """

    def __init__(self, message: str, *, event: str = "", to: Any = None, acks: Any = None) -> None:
        super().__init__(message)
        self.event = event
        self.to = to
        self.acks = acks


class AckTimeout(AckError, TimeoutError, _SocketIOTimeoutError):
    """No answer came within the timeout.

    A :class:`TimeoutError`, and python-socketio's
    ``socketio.exceptions.TimeoutError`` too, so that code written for
    python-socketio's ``call()`` catches it unchanged.
    """


class AckDisconnected(AckError, ConnectionError):
    """The client disconnected before answering (or no client was there to answer).

    Reported at once, without waiting for the timeout.
    """


# The class python-socketio and Flask-SocketIO apps already raise from a
# connect handler; re-exported so ``from flask_sockevents import
# ConnectionRefusedError`` works unchanged.
from socketio.exceptions import ConnectionRefusedError  # noqa: E402
