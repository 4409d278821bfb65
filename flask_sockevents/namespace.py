"""Class-based namespaces: one class per namespace, with an ``on_<event>`` method per event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socketio

from . import dependencies
from .router import LIFECYCLE_NAMES, positional_capacity

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = ["Namespace", "register_namespace"]


class Namespace(socketio.Namespace):
    """A namespace as a class, as in Flask-SocketIO.

    Each ``on_<event>`` method is the handler of ``<event>`` in the namespace
    (``on_connect`` and ``on_disconnect`` included); a method named ``error``
    is its error handler, consulted after ``on_error`` and
    ``on_error_default``. Register an instance with
    :meth:`SockEvents.on_namespace`::

        class Chat(Namespace):
            def on_connect(self, auth):
                ...

            def on_message(self, text):
                self.emit("message", text, room="lobby")

        sockevents.on_namespace(Chat("/chat"))
    """

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.socketio: SockEvents | None = None

    def _set_socketio(self, sockevents: SockEvents) -> None:
        self.socketio = sockevents

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>`` with ``args`` (``connect``/``disconnect`` get what they accept)."""
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return None
        if event in LIFECYCLE_NAMES:
            capacity = positional_capacity(handler)
            if capacity is not None:
                args = args[:capacity]
        return handler(*args)

    def emit(
        self,
        event: str,
        data: Any = None,
        room: Any = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Any = None,
        *,
        to: Any = None,
        skip_sid: Any = None,
        timeout: float | None = None,
    ) -> None:
        """Emit to clients of this namespace (see :meth:`SockEvents.emit`).

        Takes Flask-SocketIO's parameters, and python-socketio's ``to`` and
        ``skip_sid``; ``timeout`` (with ``callback``) calls ``callback`` once,
        error first, as :meth:`SockEvents.emit` does.
        """
        options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._extension().emit(
            event,
            *(() if data is None else (data,)),
            to=to or room,
            include_self=include_self,
            skip_sid=skip_sid,
            namespace=namespace or self.namespace,
            callback=callback,
            **options,
        )

    def send(
        self,
        data: Any,
        room: Any = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Any = None,
    ) -> None:
        """Send an unnamed message to clients of this namespace."""
        self._extension().send(
            data,
            to=room,
            include_self=include_self,
            namespace=namespace or self.namespace,
            callback=callback,
        )

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from ``room`` in this namespace."""
        self._extension().close_room(room, namespace=namespace or self.namespace)

    def _extension(self) -> SockEvents:
        if self.socketio is None:
            raise RuntimeError("register the namespace first: sockevents.on_namespace(instance)")
        return self.socketio


class _NamespaceHandler:
    """The handler of one event of a class-based namespace."""

    __slots__ = ("event", "namespace")

    def __init__(self, namespace: Namespace, event: str) -> None:
        self.namespace = namespace
        self.event = event

    def __call__(self, *args: Any) -> Any:
        return self.namespace.trigger_event(self.event, *args)

    def __repr__(self) -> str:
        return f"<{type(self.namespace).__name__}.on_{self.event}>"


def register_namespace(sockevents: SockEvents, namespace_handler: Namespace) -> None:
    """Route every ``on_<event>`` method of ``namespace_handler`` on ``sockevents``."""
    if not isinstance(namespace_handler, Namespace):
        raise ValueError("on_namespace() needs an instance of flask_sockevents.Namespace")
    namespace = namespace_handler.namespace or "/"
    namespace_handler._set_socketio(sockevents)
    if sockevents.server is not None:
        dependencies.set_namespace_server(namespace_handler, sockevents.server)
    sockevents.namespace_handlers[namespace] = namespace_handler
    for attribute in dir(namespace_handler):
        if attribute.startswith("on_") and callable(getattr(namespace_handler, attribute)):
            event = attribute[3:]
            sockevents.bus.on(event, namespace, _NamespaceHandler(namespace_handler, event))
    error = getattr(namespace_handler, "error", None)
    if callable(error):
        sockevents.bus.namespace_error_handlers[namespace] = error
