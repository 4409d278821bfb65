"""One log line per connect, event and disconnect.

Plug it in with one line::

    from flask_sockevents.listeners import LoggingListener

    LoggingListener(sockevents)

which logs, on the ``flask_sockevents.events`` logger::

    event / 'chat message' sid=Yx3k handled 0.4ms
    event / 'admin' sid=Yx3k rejected (login required) 0.1ms
"""

from __future__ import annotations

import logging
from typing import Any

from flask_sockevents.event import Event, Outcome
from flask_sockevents.listeners._text import DEFAULT_MAX_FIELD_LENGTH, cut

__all__ = ["LoggingListener"]

_FAILURES = (Outcome.REJECTED, Outcome.FAILED)
_log = logging.getLogger(__name__)


class LoggingListener:
    """A listener that logs one line per connect, event and disconnect.

    The line reads ``kind namespace 'event' sid=... outcome (reason) 1.2ms``.
    What a client chose (event name, namespace, reason) is cut to
    ``max_field_length`` characters (a marker says how many were left out)
    and quoted when it holds line breaks (U+2028 included) or other control
    characters, so a client can neither forge log lines nor fill the log.
    A failed handler's reason is its exception's class name, unless the
    extension's ``error_text`` option publishes the text.
    Each record also carries the :class:`Event` as ``record.sockevent``, for
    structured handlers and filters.

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param logger: a :class:`logging.Logger` or the name of one.
    :param level: the level of handled, unhandled and lifecycle events.
    :param failures_level: the level of rejected and failed events.
    :param max_field_length: characters kept of each client-chosen string (256).
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        logger: logging.Logger | str = "flask_sockevents.events",
        level: int = logging.INFO,
        failures_level: int = logging.WARNING,
        max_field_length: int = DEFAULT_MAX_FIELD_LENGTH,
    ) -> None:
        self.logger = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        self.level = level
        self.failures_level = failures_level
        self.max_field_length = max_field_length
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, event: str = "*", namespace: str = "*") -> None:
        """Listen to ``event`` in ``namespace`` (patterns) on ``sockevents``."""
        sockevents.listen(event, namespace)(self)

    def __call__(self, event: Event) -> None:
        """Log ``event``. Never raises."""
        level = self.failures_level if event.outcome in _FAILURES else self.level
        if not self.logger.isEnabledFor(level):
            return
        try:
            self.logger.log(level, *_line(event, self.max_field_length), extra={"sockevent": event})
        except Exception:
            _log.exception("LoggingListener could not log %r", event)


def _printable(text: Any) -> str:
    """``text`` as is, or its ``repr`` when it holds line breaks or other control characters."""
    return text if text.isprintable() else repr(text)


def _line(event: Event, limit: int) -> tuple[Any, ...]:
    outcome = event.outcome.value if event.outcome is not None else "received"
    reason = f" ({_printable(cut(event.reason, limit))})" if event.reason else ""
    duration = f" {event.duration * 1000:.1f}ms" if event.duration is not None else ""
    return (
        "%s %s %r sid=%s %s%s%s",
        event.kind.value,
        _printable(cut(event.namespace, limit)),
        cut(event.name, limit),
        event.sid,
        outcome,
        reason,
        duration,
    )
