"""How the shipped listeners and guards attach to a :class:`SockEvents` extension.

Kept apart so that each listener module reads as what it records, not as
plumbing. Nothing here is public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_sockevents.event import Event


def app_of(sockevents: Any) -> Any:
    """Return the Flask app the extension was created with, or ``None``."""
    return getattr(sockevents, "app", None)


def router_of(sockevents: Any) -> Any:
    """Return the router of a :class:`~flask_sockevents.Bus` or of a ``SockEvents`` (its bus's)."""
    router = getattr(sockevents, "router", None)
    if router is None:
        router = getattr(getattr(sockevents, "bus", None), "router", None)
    return router


def connect_emitted(sockevents: Any, receiver: Callable[[Event], None]) -> Callable[[], None]:
    """Call ``receiver(event)`` for every server emit the extension publishes.

    Subscribes to :data:`flask_sockevents.signals.event_emitted`, restricted to
    the extension's app when it has one (any sender otherwise). The
    subscription is strong: it lives until the returned function is called.

    :return: a function that undoes the subscription.
    """
    from flask_sockevents import signals

    def on_emitted(sender: Any, event: Event, **_: Any) -> None:
        receiver(event)

    app = app_of(sockevents)
    if app is None:
        signals.event_emitted.connect(on_emitted, weak=False)
    else:
        signals.event_emitted.connect(on_emitted, sender=app, weak=False)

    def disconnect() -> None:
        signals.event_emitted.disconnect(on_emitted)

    return disconnect
