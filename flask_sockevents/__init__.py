"""flask_sockevents: Socket.IO for Flask as an event bus of blinker signals.

Every connect, event and disconnect becomes an :class:`Event` published on a
bus: handlers answer it, guards may veto it, listeners observe it, and blinker
signals announce it. The API is a superset of Flask-SocketIO's.
"""

from . import signals
from .acks import BroadcastAcks
from .bus import Bus, check_event_name
from .context import current_event
from .event import Event, EventKind, Outcome
from .exceptions import (
    AckDisconnected,
    AckError,
    AckTimeout,
    ConnectionRefusedError,
    Reject,
    RoutingError,
    SockEventsError,
)
from .extension import SocketIO, SockEvents
from .helpers import (
    call,
    close_room,
    disconnect,
    emit,
    emit_with_ack,
    join_room,
    leave_room,
    rooms,
    send,
)
from .namespace import Namespace
from .router import Kind, Router
from .routes import Route

__all__ = [
    "AckDisconnected",
    "AckError",
    "AckTimeout",
    "BroadcastAcks",
    "Bus",
    "ConnectionRefusedError",
    "Event",
    "EventKind",
    "Kind",
    "Namespace",
    "Outcome",
    "Reject",
    "Route",
    "Router",
    "RoutingError",
    "SockEvents",
    "SockEventsError",
    "SocketIO",
    "call",
    "check_event_name",
    "close_room",
    "current_event",
    "disconnect",
    "emit",
    "emit_with_ack",
    "join_room",
    "leave_room",
    "rooms",
    "send",
    "signals",
]
