"""flask_sockevents: Socket.IO for Flask as an event bus of blinker signals."""

from . import signals
from .bus import Bus, check_event_name
from .event import Event, EventKind, Outcome
from .exceptions import ConnectionRefusedError, Reject, RoutingError, SockEventsError
from .router import Kind, Router
from .routes import Route

__all__ = [
    "Bus",
    "ConnectionRefusedError",
    "Event",
    "EventKind",
    "Kind",
    "Outcome",
    "Reject",
    "Route",
    "Router",
    "RoutingError",
    "SockEventsError",
    "check_event_name",
    "signals",
]
