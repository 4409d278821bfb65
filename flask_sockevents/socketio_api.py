"""python-socketio's handler API on our server: ``on``, ``event``, ``register_namespace``.

An app written for python-socketio registers its handlers on the server
(``sockevents.server``); ours dispatches every packet through the bus, so
each such registration becomes a *handler route* on the bus, wrapped in an
adapter that calls the handler the way python-socketio does:

1. an event handler gets ``sid`` first, then the event's arguments; its
   return value is the acknowledgement;
2. a ``connect`` handler gets ``sid, environ, auth`` (``sid, environ`` when it
   accepts only two arguments); returning ``False`` or raising
   ``ConnectionRefusedError`` refuses the connection;
3. a ``disconnect`` handler gets ``sid, reason`` (``sid`` when it accepts only
   one argument);
4. the catch-all event ``"*"`` gets the event name first; the catch-all
   namespace ``"*"`` gets the namespace first (after the event name when both
   are catch-alls);
5. a :class:`socketio.Namespace` instance gets a catch-all route in its
   namespace: every event goes through its ``trigger_event`` (so an override
   of it sees every event, as in python-socketio), plus ``connect`` and
   ``disconnect`` routes.

Because they are bus routes, guards vet and listeners see the events of these
handlers like any other. ``server.handlers`` and ``server.namespace_handlers``
are read-only views of the bus's handler routes, never a second table that
could disagree with what actually runs.

Three differences remain, all from the bus's routing rules: an event or
namespace name containing ``*`` (other than the catch-all ``"*"`` itself) is a
pattern here, whose handler gets no event name or namespace first; a
namespace's own catch-all route outranks a handler registered for the same
event in the catch-all namespace; and a handler in the catch-all namespace
makes every namespace accepted (python-socketio still refuses a namespace
absent from its ``namespaces`` option).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

import flask
import socketio

from . import dependencies
from .bus import Bus
from .context import current_event
from .event import Event, EventKind
from .namespace import Namespace as FlaskNamespace
from .router import positional_capacity
from .routes import WILDCARD

__all__ = ["NamespaceRoute", "SocketIOHandler", "SocketIOServerAPI"]


def _current() -> Event:
    """The event being dispatched, resolved once (``current_event`` is a proxy)."""
    return cast(Event, cast(Any, current_event)._get_current_object())


def _environ(server: Any, sid: str, namespace: str) -> dict[str, Any]:
    """The WSGI environ of client ``sid``, as python-socketio hands it to ``connect``."""
    environ = server.get_environ(sid, namespace)
    if environ is None and flask.has_request_context():
        environ = flask.request.environ
    return environ if environ is not None else {}


def _lead(
    event_name: str,
    namespace: str,
    event_catch_all: bool,
    namespace_catch_all: bool,
) -> tuple[str, ...]:
    """What python-socketio passes before ``sid`` to a catch-all handler."""
    lead: tuple[str, ...] = ()
    if event_catch_all:
        lead += (event_name,)
    if namespace_catch_all:
        lead += (namespace,)
    return lead


class SocketIOHandler:
    """A handler registered through python-socketio's API, called with its calling convention.

    :param fn: the handler, as given to ``server.on``.
    :param event: the event it was registered for (``"*"`` for the catch-all).
    :param namespace: the namespace it was registered for (``"*"`` for all).
    :param server: the server (for the client's environ on connect).
    """

    __slots__ = ("capacity", "event", "fn", "namespace", "server")

    def __init__(self, fn: Callable[..., Any], event: str, namespace: str, server: Any) -> None:
        self.fn = fn
        self.event = event
        self.namespace = namespace
        self.server = server
        self.capacity = positional_capacity(fn)

    def __call__(self, *args: Any) -> Any:
        event = _current()
        sid = event.sid
        kind = event.kind
        namespace_catch_all = self.namespace == WILDCARD
        if kind is EventKind.EVENT or kind is EventKind.SERVER:  # a server event: sid is None
            event_catch_all = self.event == WILDCARD
            data = args[1:] if event_catch_all else args  # the bus put the name first
            lead = _lead(event.name, event.namespace, event_catch_all, namespace_catch_all)
            return self.fn(*lead, sid, *data)
        lead = _lead("", event.namespace, False, namespace_catch_all)
        fixed = len(lead) + 1  # the lead and sid
        if kind is EventKind.CONNECT:
            environ = _environ(self.server, sid, event.namespace)  # type: ignore[arg-type]
            auth = args[0] if args else None
            if self.capacity is not None and self.capacity < fixed + 2:
                return self.fn(*lead, sid, environ)
            return self.fn(*lead, sid, environ, auth)
        reason = args[0] if args else None
        if self.capacity is not None and self.capacity < fixed + 1:
            return self.fn(*lead, sid)
        return self.fn(*lead, sid, reason)

    def __repr__(self) -> str:
        return f"<python-socketio handler {self.fn!r}>"


class NamespaceRoute:
    """One route of a :class:`socketio.Namespace` instance: calls its ``trigger_event``.

    :param handler: the namespace instance.
    :param server: the server (for the client's environ on connect).
    :param catch_all_namespace: it was registered for every namespace (``"*"``).
    """

    __slots__ = ("catch_all_namespace", "namespace", "server")

    def __init__(self, handler: socketio.Namespace, server: Any, catch_all_namespace: bool) -> None:
        self.namespace = handler
        self.server = server
        self.catch_all_namespace = catch_all_namespace

    def __call__(self, *args: Any) -> Any:
        event = _current()
        sid = event.sid
        trigger = self.namespace.trigger_event
        lead = (event.namespace,) if self.catch_all_namespace else ()
        if event.kind is EventKind.EVENT or event.kind is EventKind.SERVER:
            return trigger(args[0], *lead, sid, *args[1:])  # the bus put the name first
        if event.kind is EventKind.DISCONNECT:
            # Namespace.trigger_event drops the reason for a handler without one.
            return trigger("disconnect", *lead, sid, *args[:1])
        environ = _environ(self.server, sid, event.namespace)  # type: ignore[arg-type]
        auth = args[0] if args else None
        if auth:
            return trigger("connect", *lead, sid, environ, auth)
        # python-socketio's own rule: try the handler with ``auth=None``, then
        # without it, and report the first failure if both raise TypeError.
        try:
            return trigger("connect", *lead, sid, environ, None)
        except TypeError as exc:
            try:
                return trigger("connect", *lead, sid, environ)
            except TypeError:
                raise exc from None

    def __repr__(self) -> str:
        return f"<python-socketio namespace {self.namespace!r}>"


def _route_handler(fn: Any) -> Any:
    """The function an app registered, behind whatever adapter the route holds."""
    return fn.fn if isinstance(fn, SocketIOHandler) else fn


def _namespace_object(fn: Any) -> socketio.Namespace | None:
    """The namespace instance a route's handler belongs to, if any."""
    handler = getattr(fn, "namespace", None)
    return handler if isinstance(handler, socketio.Namespace) else None


class SocketIOServerAPI:
    """python-socketio's registration methods for a server whose dispatch is the bus.

    A mixin for :class:`~flask_sockevents.server.Server`; ``bus`` (a keyword
    argument of the constructor) is the bus its routes go to.
    """

    bus: Bus

    def __init__(self, *args: Any, bus: Bus | None = None, **kwargs: Any) -> None:
        self.bus = bus if bus is not None else Bus()
        super().__init__(*args, **kwargs)

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` in ``namespace``, as python-socketio does.

        The handler becomes a route on the bus (guards and listeners see its
        events) and is called with python-socketio's arguments (``sid``
        first; see :mod:`flask_sockevents.socketio_api`). Without ``handler``
        this is a decorator.

        :param event: the event name; ``"*"`` for every event without a handler.
        :param handler: the function; omitted when used as a decorator.
        :param namespace: the namespace (``"/"``); ``"*"`` for every namespace.
        """
        namespace = namespace or "/"

        def set_handler(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.bus.on(event, namespace, SocketIOHandler(fn, event, namespace, self))
            return fn

        if handler is None:
            return set_handler
        set_handler(handler)
        return None

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a :class:`socketio.Namespace` instance: its ``trigger_event`` gets every event.

        :raises ValueError: for anything but a ``socketio.Namespace`` instance,
            and for a :class:`flask_sockevents.Namespace` (register it with
            ``sockevents.on_namespace``: its handlers take Flask-style arguments).
        """
        if isinstance(namespace_handler, FlaskNamespace):
            raise ValueError(
                "a flask_sockevents.Namespace takes Flask-SocketIO's arguments: "
                "register it with sockevents.on_namespace(), not server.register_namespace()"
            )
        if not isinstance(namespace_handler, socketio.Namespace):
            raise ValueError("Not a namespace instance: register a socketio.Namespace subclass")
        dependencies.set_namespace_server(namespace_handler, self)
        namespace = namespace_handler.namespace or "/"
        route = NamespaceRoute(namespace_handler, self, namespace == WILDCARD)
        for event in ("connect", "disconnect", WILDCARD):
            self.bus.on(event, namespace, route)

    def instrument(
        self,
        auth: Any = None,
        mode: str = "development",
        read_only: bool = False,
        server_id: str | None = None,
        namespace: str = "/admin",
        server_stats_interval: float = 2,
    ) -> Any:
        """Instrument the server for the Socket.IO Admin UI, as python-socketio does.

        The arguments are python-socketio's (``auth``: a dict of credentials,
        a list of them, a callable, or ``False`` for none). The admin
        namespace's ``connect`` checks the credentials on every connect, and
        the admin clients see our traffic: connected sockets, their rooms and
        live events (see :mod:`flask_sockevents.admin_ui`).

        :return: the instrumentation (``shutdown()`` stops its stats task,
            ``uninstrument()`` undoes it).
        """
        from .admin_ui import BusInstrumentedServer

        return BusInstrumentedServer(
            self,
            auth=auth,
            mode=mode,
            read_only=read_only,
            server_id=server_id,
            namespace=namespace,
            server_stats_interval=server_stats_interval,
        )

    @property
    def handlers(self) -> Mapping[str, Mapping[str, Callable[..., Any]]]:
        """Every handler route, ``{namespace: {event: handler}}``: a read-only view of the bus.

        Handlers registered with ``server.on`` and with the extension's
        ``on`` appear alike; class-based namespaces are in
        :attr:`namespace_handlers`. Assigning to it registers what it holds.
        """
        table: dict[str, dict[str, Callable[..., Any]]] = {}
        for route, fn in self.bus.router.handler_routes().items():
            if _namespace_object(fn) is None:
                table.setdefault(route.namespace, {})[route.event] = _route_handler(fn)
        return MappingProxyType({ns: MappingProxyType(events) for ns, events in table.items()})

    @handlers.setter
    def handlers(self, table: Mapping[str, Mapping[str, Callable[..., Any]]]) -> None:
        for namespace, events in table.items():
            for event, fn in events.items():
                self.on(event, fn, namespace)

    @property
    def namespace_handlers(self) -> Mapping[str, socketio.Namespace]:
        """Every class-based namespace, ``{namespace: instance}``: a read-only view of the bus.

        Holds python-socketio namespaces registered with
        :meth:`register_namespace` and Flask-style ones registered with
        ``sockevents.on_namespace``. Assigning to it registers what it holds.
        """
        table: dict[str, socketio.Namespace] = {}
        for route, fn in self.bus.router.handler_routes().items():
            handler = _namespace_object(fn)
            if handler is not None:
                table.setdefault(route.namespace, handler)
        return MappingProxyType(table)

    @namespace_handlers.setter
    def namespace_handlers(self, table: Mapping[str, socketio.Namespace]) -> None:
        for handler in table.values():
            self.register_namespace(handler)
