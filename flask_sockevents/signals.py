"""The bus's signals: the whole lifecycle of an event on one screen.

Every signal is sent with the Flask app as sender and the :class:`~flask_sockevents.Event`
as the keyword argument ``event``, so any blinker receiver can subscribe::

    from flask_sockevents import signals

    @signals.event_failed.connect
    def page_someone(app, event):
        ...

Unlike plain blinker, receivers are held strongly by default (one defined inside a
function keeps working after the function returns), and a receiver that raises is
logged and skipped instead of stopping the ones after it.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import ANY, NamedSignal
from blinker import Namespace as _BlinkerNamespace

__all__ = [
    "BusSignal",
    "client_connected",
    "client_disconnected",
    "event_emitted",
    "event_failed",
    "event_handled",
    "event_received",
    "event_rejected",
    "event_unhandled",
    "publish",
    "user_joined",
    "user_left",
]

logger = logging.getLogger("flask_sockevents.signals")


class BusSignal(NamedSignal):
    """A blinker :class:`~blinker.NamedSignal` that holds receivers strongly by default."""

    def connect(self, receiver: Any, sender: Any = ANY, weak: bool = False) -> Any:
        """Connect ``receiver`` to this signal, strongly unless ``weak=True``.

        :param receiver: a callable ``receiver(sender, event=...)``.
        :param sender: only receive sends from this sender (default: any).
        :param weak: hold a weak reference, as blinker does by default.
        :return: ``receiver``, so this works as a decorator.
        """
        return super().connect(receiver, sender, weak)


class _SignalNamespace(_BlinkerNamespace):
    def signal(self, name: str, doc: str | None = None) -> NamedSignal:
        if name not in self:
            self[name] = BusSignal(name, doc)
        return self[name]


_signals = _SignalNamespace()

client_connected = _signals.signal("client-connected", "A connect was accepted.")
client_disconnected = _signals.signal("client-disconnected", "An accepted client left, any cause.")
event_received = _signals.signal("event-received", "A packet arrived, before dispatch.")
event_handled = _signals.signal("event-handled", "A handler answered: outcome, duration, ack.")
event_unhandled = _signals.signal("event-unhandled", "No handler route matched.")
event_rejected = _signals.signal("event-rejected", "Refused before its handler: see reason.")
event_failed = _signals.signal("event-failed", "The handler raised: see error.")
event_emitted = _signals.signal("event-emitted", "The server emitted to clients.")
# Sent by a Presence listener with ``user=`` and ``namespace=`` (no ``event``).
user_joined = _signals.signal("user-joined", "Presence: a user's first tab connected.")
user_left = _signals.signal("user-left", "Presence: a user's last tab left.")


def publish(signal: NamedSignal, sender: Any, event: Any) -> int:
    """Send ``event`` on ``signal``, isolating receivers from each other.

    A receiver that raises is logged and the remaining receivers still run.
    Nothing is sent while the signal is :meth:`~blinker.Signal.muted`.

    :return: the number of receivers that raised.
    """
    if not signal.receivers or signal.is_muted:
        return 0
    failures = 0
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, event=event)
        except Exception:
            failures += 1
            logger.exception("receiver %r of signal %r raised", receiver, signal.name)
    return failures
