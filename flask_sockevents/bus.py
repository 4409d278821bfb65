"""The bus: where each :class:`Event` meets its guards, its handler and its listeners.

:meth:`Bus.publish` is the whole path of one event, in order:

1. ``event_received`` is sent;
2. a client event with a reserved or malformed name is rejected;
3. the guards run in registration order (not for disconnects, nor for a
   recovered connect when :attr:`Bus.skip_guards_on_recovery`); the first
   that returns ``False`` or raises :class:`Reject` rejects the event;
4. when the handler's route declares a payload schema, the payload is
   validated (:mod:`.schemas`): an invalid one is rejected with reason
   ``"invalid payload"``, a valid one reaches the handler parsed;
5. the handler runs; its return value is the ack. If it raises, the error
   handlers answer (``on_error(namespace)``, then ``on_error_default``, then a
   class-based namespace's ``error``), and their answer is the ack (for a
   connect: the verdict, ``False`` refusing);
6. the listeners run with the finished event, each isolated from the others;
7. the outcome's signal is sent (``event_handled``, ``event_unhandled``,
   ``event_rejected`` or ``event_failed``), then ``client_connected`` or
   ``client_disconnected`` for the lifecycle.

The hooks of :attr:`Bus.around` (tracing, for one) are entered before step 1
and left after step 7, so whatever they make current is current for every
subscriber of the event.

A server emit takes a shorter path, :meth:`Bus.publish_emit`: it has no
guard, handler or outcome; the emit listeners matching its name
(``listen(..., emits=True)``) run, then ``event_emitted`` is sent, once.

The bus knows nothing of Flask or the network: the extension pushes the
Flask context around :meth:`Bus.publish` and sends the answer it returns.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any, TypeVar

from socketio.exceptions import ConnectionRefusedError as SocketIOConnectionRefused

from . import signals
from .bounded import BoundedCounter
from .event import Event, EventKind, Outcome
from .exceptions import Reject, event_error
from .router import HandlerCall, Kind, Resolution, Router

__all__ = [
    "DEFAULT_MAX_EVENT_NAME_LENGTH",
    "RESERVED_EVENT_NAMES",
    "Bus",
    "check_event_name",
]

logger = logging.getLogger("flask_sockevents")

F = TypeVar("F", bound=Callable[..., Any])
ErrorHandler = Callable[[BaseException], Any]
#: ``hook(event)``: a context manager entered around the whole path of ``event``.
AroundHook = Callable[[Event], AbstractContextManager[Any]]

RESERVED_EVENT_NAMES = frozenset({"connect", "disconnect", "connect_error", "error"})
DEFAULT_MAX_EVENT_NAME_LENGTH = 256
CONNECTION_REFUSED = "Connection rejected by server"
_MAX_DISTINCT_REASONS = 100

_OUTCOME_SIGNALS = {
    Outcome.HANDLED: signals.event_handled,
    Outcome.UNHANDLED: signals.event_unhandled,
    Outcome.REJECTED: signals.event_rejected,
    Outcome.FAILED: signals.event_failed,
}


def check_event_name(name: object, max_length: int = DEFAULT_MAX_EVENT_NAME_LENGTH) -> str | None:
    """Return why a client event name is refused, or ``None`` if it is fine.

    A name must be a non-empty string of at most ``max_length`` characters and
    must not be one of :data:`RESERVED_EVENT_NAMES`, which only the server may
    produce.
    """
    if type(name) is not str:
        return f"event name must be a string, not {type(name).__name__}"
    if not name:
        return "event name must not be empty"
    if len(name) > max_length:
        return f"event name longer than {max_length} characters"
    if name in RESERVED_EVENT_NAMES:
        return f"reserved event name {name!r}"
    return None


class Bus:
    """Routes and publishes events: the core of flask_sockevents, with no Flask in it.

    :param max_event_name_length: longer client event names are rejected.
    :param cache_size: how many concrete ``(namespace, event)`` resolutions the
        router keeps.
    :param error_text: publish a failed handler's exception text in the
        event's ``reason`` (``"ValueError: bad password 'hunter2'"``). Off by
        default: the reason is the exception's class name only
        (``"ValueError"``), since an exception's text often quotes what the
        client sent (a password) and listeners write reasons to logs, audit
        trails and the monitor. The exception itself is still on
        :attr:`Event.error` for in-process subscribers, and the server log's
        traceback of an unanswered failure shows it in full.

    ``counts`` tallies events by ``"received"`` and by outcome; ``rejections``
    tallies rejections by reason (at most 100 distinct reasons, the rest under
    ``"other"``); ``listener_errors`` counts listeners and signal receivers
    that raised.

    ``around`` is a list of hooks ``hook(event)`` returning a context manager
    that :meth:`publish` enters before anything else and leaves once the
    event is finished and every subscriber has seen it (in list order, the
    first outermost). Tracing makes its span current this way. A hook must
    not raise: an exception from it propagates out of :meth:`publish`.
    """

    def __init__(
        self,
        *,
        max_event_name_length: int = DEFAULT_MAX_EVENT_NAME_LENGTH,
        cache_size: int = 4096,
        error_text: bool = False,
    ) -> None:
        self.router = Router(cache_size=cache_size)
        #: The listeners of server emits (``listen(..., emits=True)``), by emitted name.
        self.emit_router = Router(cache_size=cache_size)
        self.max_event_name_length = max_event_name_length
        self.error_text = error_text
        self.error_handlers: dict[str, ErrorHandler] = {}
        self.default_error_handler: ErrorHandler | None = None
        self.namespace_error_handlers: dict[str, ErrorHandler] = {}
        self.counts: Counter[str] = Counter()
        self.rejections = BoundedCounter(_MAX_DISTINCT_REASONS, "other")
        self.listener_errors = 0
        self.around: list[AroundHook] = []
        #: Whether a recovered connect (``event.recovered``) skips the guards,
        #: as connection state recovery's ``skip_guards`` asks.
        self.skip_guards_on_recovery = False

    @property
    def sender(self) -> Any:
        """The sender of every signal the bus sends (the Flask app)."""
        return self.router.sender

    @sender.setter
    def sender(self, sender: Any) -> None:
        self.emit_router.sender = sender
        self.router.sender = sender

    # -- subscribing -------------------------------------------------------

    def on(
        self,
        event: str,
        namespace: str = "/",
        handler: F | None = None,
        *,
        schema: Any = None,
        ack: Any = None,
    ) -> Any:
        """Register the handler of ``event`` in ``namespace`` (decorator if ``handler`` is omitted).

        The handler is called with the event's arguments (with the concrete
        event name first when ``event`` is a pattern); ``connect`` handlers get
        ``auth`` and ``disconnect`` handlers get ``reason`` if they take an
        argument. Its return value is the acknowledgement.

        :param schema: the payload's contract, checked before the handler
            runs: a pydantic model (or any type pydantic validates) or a JSON
            Schema ``dict``; see :func:`~flask_sockevents.schemas.payload_schema`.
            The handler gets the parsed payload.
        :param ack: the acknowledgement's contract, for the AsyncAPI document
            (not enforced).
        :raises TypeError: for a schema on ``disconnect``, or one that is
            neither a type nor a ``dict``.
        """
        if handler is None:
            return lambda fn: self.on(event, namespace, fn, schema=schema, ack=ack)
        if schema is None and ack is None:
            self.router.add_handler(event, namespace, handler)
            return handler
        from .schemas import payload_schema

        if schema is not None and event == "disconnect":
            raise TypeError("a disconnect carries no payload: it cannot have a schema")
        self.router.add_handler(
            event,
            namespace,
            handler,
            schema=None if schema is None else payload_schema(schema),
            ack_schema=None if ack is None else payload_schema(ack),
        )
        return handler

    def listen(
        self,
        event: str = "*",
        namespace: str = "/",
        listener: F | None = None,
        *,
        emits: bool = False,
    ) -> Any:
        """Register a listener ``listener(event: Event)`` (decorator if ``listener`` is omitted).

        Listeners see every matching event once dispatch is over, whatever its
        outcome, and are held strongly.

        :param emits: listen to the server's emits of matching names instead
            (``EMIT`` events, with no outcome; see :meth:`publish_emit`).
        """
        if listener is None:
            return lambda fn: self.listen(event, namespace, fn, emits=emits)
        router = self.emit_router if emits else self.router
        router.add_listener(event, namespace, listener)
        return listener

    def guard(self, event: str = "*", namespace: str = "/", guard: F | None = None) -> Any:
        """Register a guard ``guard(event: Event)`` (decorator if ``guard`` is omitted).

        A guard vetoes the event (or the connection, for a connect) by
        returning ``False`` or raising :class:`Reject`. A guard that raises
        anything else rejects the event too: guards fail closed.
        """
        if guard is None:
            return lambda fn: self.guard(event, namespace, fn)
        self.router.add_guard(event, namespace, guard)
        return guard

    def remove(
        self,
        fn: Callable[..., Any],
        kind: Kind | None = None,
        event: str | None = None,
        namespace: str | None = None,
    ) -> int:
        """Unsubscribe ``fn``; see :meth:`Router.remove`. Returns how many were removed."""
        removed = self.router.remove(fn, kind, event, namespace)
        if kind in (None, Kind.LISTENER):
            removed += self.emit_router.remove(fn, kind, event, namespace)
        return removed

    # -- publishing --------------------------------------------------------

    def publish(self, event: Event, rejection: str | None = None) -> Event:
        """Dispatch ``event`` to its subscribers and return it finished.

        :param event: the event as received.
        :param rejection: a reason decided before the bus (e.g. a malformed
            packet or an unknown namespace); the event is then rejected with it
            without reaching guards or handler, but listeners still see it.
        :return: the event with its outcome, reason, duration and ack.
        """
        around = self.around
        if not around:
            return self._publish(event, rejection)
        if len(around) == 1:
            with around[0](event):
                return self._publish(event, rejection)
        with ExitStack() as hooks:
            for hook in around:
                hooks.enter_context(hook(event))
            return self._publish(event, rejection)

    def publish_emit(self, event: Event) -> None:
        """Publish a server emit (an ``EMIT`` event): its listeners run, then ``event_emitted``.

        Each listener is isolated from the others, as for client events.
        """
        listeners = self.emit_router.resolve(event.namespace, event.name).listeners
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                self.listener_errors += 1
                logger.exception("emit listener %r raised on %r", listener, event)
        if signals.event_emitted.receivers:
            sender = self.router.sender
            self.listener_errors += signals.publish(signals.event_emitted, sender, event)

    def _publish(self, event: Event, rejection: str | None) -> Event:
        self.counts["received"] += 1
        sender = self.router.sender
        if signals.event_received.receivers:
            self.listener_errors += signals.publish(signals.event_received, sender, event)
        resolution = self.router.resolve(event.namespace, event.name)
        if rejection is None and event.kind is EventKind.EVENT:
            rejection = check_event_name(event.name, self.max_event_name_length)
        if rejection is None:
            finished = self._dispatch(event, resolution)
        else:
            finished = self._rejected(event, rejection)
        self._notify(finished, resolution, sender)
        return finished

    def _dispatch(self, event: Event, resolution: Resolution) -> Event:
        kind = event.kind
        if kind is not EventKind.DISCONNECT and not (
            event.recovered and self.skip_guards_on_recovery
        ):
            for guard in resolution.guards:
                try:
                    verdict = guard(event)
                except Reject as exc:
                    return self._rejected(event, exc.reason, exc)
                except Exception as exc:
                    logger.exception("guard %r raised on %r", guard, event)
                    return self._rejected(event, f"guard error: {type(exc).__name__}", exc)
                if verdict is False:
                    return self._rejected(event, "rejected by guard")
        handler = resolution.handler
        if handler is None:
            return event.finished(Outcome.UNHANDLED)
        args = event.args
        if handler.schema is not None:
            try:
                args = handler.schema.parse_args(args)
            except Reject as exc:
                return self._rejected(event, exc.reason, exc)
        try:
            ack = handler.fn(*_handler_args(event, handler, args))
        except Reject as exc:
            return self._rejected(event, exc.reason, exc)
        except (SocketIOConnectionRefused, ConnectionRefusedError) as exc:
            if kind is not EventKind.CONNECT:
                return self._failed(event, exc, handler)
            payload = getattr(exc, "error_args", None) or {
                "message": "Connection refused by server"
            }
            return self._rejected(event, str(payload.get("message")), exc, payload)
        except Exception as exc:
            return self._failed(event, exc, handler)
        if ack is False and kind is EventKind.CONNECT:
            return self._rejected(event, CONNECTION_REFUSED)
        return event.finished(Outcome.HANDLED, ack=ack, replied=True)

    def _rejected(
        self,
        event: Event,
        reason: str,
        error: BaseException | None = None,
        payload: Any = None,
    ) -> Event:
        if payload is None and event.kind is EventKind.CONNECT:
            payload = error.error_args if isinstance(error, Reject) else {"message": reason}
        elif event.kind is EventKind.EVENT:
            payload = error.event_error if isinstance(error, Reject) else event_error(reason)
        self.rejections.add(reason)
        return event.finished(Outcome.REJECTED, reason=reason, error=error, ack=payload)

    def _failed(self, event: Event, error: Exception, handler: HandlerCall) -> Event:
        reason = failure_reason(error, self.error_text)
        error_handler = self._error_handler_for(event.namespace, handler.route.namespace)
        if error_handler is None:
            logger.error("handler %r failed on %r", handler.fn, event, exc_info=error)
            return event.finished(Outcome.FAILED, reason=reason, error=error)
        try:
            ack = error_handler(error)
        except Exception:
            logger.exception("error handler %r raised on %r", error_handler, event)
            return event.finished(Outcome.FAILED, reason=reason, error=error)
        return event.finished(Outcome.FAILED, reason=reason, error=error, ack=ack, replied=True)

    def _error_handler_for(self, namespace: str, pattern: str) -> ErrorHandler | None:
        handlers = self.error_handlers
        found = handlers.get(namespace) or handlers.get(pattern) or self.default_error_handler
        if found is None:
            found = self.namespace_error_handlers.get(namespace) or (
                self.namespace_error_handlers.get(pattern)
            )
        return found

    def _notify(self, event: Event, resolution: Resolution, sender: Any) -> None:
        self.counts[event.outcome._value_] += 1  # type: ignore[union-attr]  # not .value: slow
        for listener in resolution.listeners:
            try:
                listener(event)
            except Exception:
                self.listener_errors += 1
                logger.exception("listener %r raised on %r", listener, event)
        signal = _OUTCOME_SIGNALS[event.outcome]  # type: ignore[index]
        if signal.receivers:
            self.listener_errors += signals.publish(signal, sender, event)
        if event.kind is EventKind.CONNECT:
            if event.accepted:
                self.listener_errors += signals.publish(signals.client_connected, sender, event)
        elif event.kind is EventKind.DISCONNECT:
            self.listener_errors += signals.publish(signals.client_disconnected, sender, event)


def failure_reason(error: BaseException, with_text: bool = False) -> str:
    """The reason a failed event is published with: the exception's class, and its text if asked."""
    name = type(error).__name__
    return f"{name}: {error}" if with_text else name


def _handler_args(event: Event, handler: HandlerCall, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if event.kind is EventKind.EVENT or event.kind is EventKind.SERVER:
        return (event.name, *args) if handler.prepend_name else args
    capacity = handler.capacity
    return args if capacity is None else args[:capacity]
