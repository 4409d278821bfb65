"""Builders for the events a server would publish on the bus."""

from __future__ import annotations

from typing import Any

from flask_sockevents import Event, EventKind


def client_event(
    name: str, *args: Any, namespace: str = "/", sid: str = "sid-1", ack_requested: bool = False
) -> Event:
    """A client's event ``name`` with ``args``, as received."""
    return Event(EventKind.EVENT, namespace, name, sid=sid, args=args, ack_requested=ack_requested)


def connect_event(auth: Any = None, *, namespace: str = "/", sid: str = "sid-1") -> Event:
    """A client's connect to ``namespace`` with ``auth``, as received."""
    return Event(EventKind.CONNECT, namespace, "connect", sid=sid, args=(auth,))


def disconnect_event(
    reason: str = "client disconnect", *, namespace: str = "/", sid: str = "sid-1"
) -> Event:
    """A client's disconnect from ``namespace`` for ``reason``, as received."""
    return Event(EventKind.DISCONNECT, namespace, "disconnect", sid=sid, args=(reason,))
