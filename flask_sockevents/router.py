"""The routing table and its cached resolver.

The table holds three kinds of subscriber on the same routes:

- **handlers** answer: exactly one runs for an event, the one on the most
  specific matching route (see :class:`~flask_sockevents.routes.Route`); ties
  go to the earlier registration. A second handler on the very same route
  replaces the first, as in Flask-SocketIO;
- **guards** decide: every matching guard runs, once, in registration order;
- **listeners** observe: the receivers of every matching route signal run,
  once each, in registration order, even when several of their routes match.

Resolving a concrete ``(namespace, event)`` scans the table once; the answer is
cached until a route is added or removed, so dispatch costs the same with one
route or ten thousand.

``connect`` and ``disconnect`` are routed like any event for guards and
listeners, so ``listen("*", namespace="*")`` sees them. A *handler* for them must
name them exactly: a catch-all ``on("*")`` keeps its Flask-SocketIO meaning and
never answers a connect.
"""

from __future__ import annotations

import enum
import inspect
import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from .event import Event
from .routes import WILDCARD, Route

if TYPE_CHECKING:
    from .schemas import PayloadSchema

__all__ = ["LIFECYCLE_NAMES", "DeclaredEmit", "HandlerCall", "Kind", "Resolution", "Router"]

LIFECYCLE_NAMES = frozenset({"connect", "disconnect"})

Listener = Callable[[Event], Any]
Guard = Callable[[Event], Any]


class Kind(str, enum.Enum):
    """The three kinds of subscriber."""

    HANDLER = "handler"
    GUARD = "guard"
    LISTENER = "listener"


class HandlerCall(NamedTuple):
    """A resolved handler and how to call it.

    :param fn: the handler.
    :param route: the route it was registered on.
    :param prepend_name: pass the concrete event name first (pattern routes).
    :param capacity: how many positional arguments it takes (``None``: any).
    :param seq: its registration order.
    :param schema: the payload's contract, checked before the handler runs.
    :param ack_schema: the acknowledgement's contract (documentation only).
    """

    fn: Callable[..., Any]
    route: Route
    prepend_name: bool
    capacity: int | None
    seq: int
    schema: PayloadSchema | None = None
    ack_schema: PayloadSchema | None = None


class DeclaredEmit(NamedTuple):
    """An event the server declares it emits (see ``SockEvents.emits``).

    :param route: its event name (or pattern) and namespace (or pattern).
    :param schema: the payload's contract.
    :param ack_schema: the contract of the client's acknowledgement.
    :param description: what it is for, for the AsyncAPI document.
    """

    route: Route
    schema: PayloadSchema | None
    ack_schema: PayloadSchema | None
    description: str | None


class Resolution(NamedTuple):
    """Everything that subscribes to one concrete ``(namespace, event)``."""

    handler: HandlerCall | None
    guards: tuple[Guard, ...]
    listeners: tuple[Listener, ...]


class _Listener:
    """Adapts a bus listener ``fn(event)`` to a blinker receiver ``(sender, event=)``."""

    __slots__ = ("fn",)

    def __init__(self, fn: Listener) -> None:
        self.fn = fn

    def __call__(self, sender: Any, event: Event) -> Any:
        return self.fn(event)

    def __repr__(self) -> str:
        return f"<listener {self.fn!r}>"


class _Guard(NamedTuple):
    fn: Guard
    seq: int


def positional_capacity(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` accepts (``None`` if unbounded or unknown)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


def _key(receiver: object) -> Hashable:
    try:
        hash(receiver)
    except TypeError:
        return id(receiver)
    return receiver


def _foreign_receiver(receiver: Callable[..., Any], sender: Any) -> Listener:
    def call(event: Event) -> Any:
        return receiver(sender, event=event)

    call.__qualname__ = getattr(receiver, "__qualname__", repr(receiver))
    return call


class Router:
    """The table of routes and subscribers, with a cached resolver.

    :param cache_size: how many concrete ``(namespace, event)`` resolutions to
        keep; the oldest is dropped beyond it, so a client inventing names
        cannot grow memory.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self.cache_size = cache_size
        self._sender: Any = None
        self._routes: dict[tuple[str, str], Route] = {}
        self._by_exact_event: dict[str, list[Route]] = {}
        # Pattern routes by their literal prefix (the text before the first
        # "*"): a name can only match patterns whose prefix starts it.
        self._patterns_by_prefix: dict[str, list[Route]] = {}
        self._longest_prefix = 0
        self._handlers: dict[Route, HandlerCall] = {}
        self._guards: dict[Route, list[_Guard]] = {}
        self._listeners: dict[Hashable, _Listener] = {}
        # Per route, the registration order of each receiver of its signal.
        self._receiver_seq: dict[Route, dict[Hashable, int]] = {}
        self._seq = itertools.count()
        self._cache: dict[tuple[str, str], Resolution] = {}
        self._namespace_cache: dict[str, bool] = {}
        #: What the server declares it emits, by ``(event, namespace)``.
        self.emits: dict[tuple[str, str], DeclaredEmit] = {}

    @property
    def sender(self) -> Any:
        """The sender of every signal the routes send (the Flask app); setting it re-resolves."""
        return self._sender

    @sender.setter
    def sender(self, sender: Any) -> None:
        self._sender = sender
        self._routing_changed()

    # -- the table ---------------------------------------------------------

    def route(self, event: str, namespace: str = "/") -> Route:
        """Return the route (and signal) for ``event`` in ``namespace``, creating it once."""
        key = (event, namespace)
        route = self._routes.get(key)
        if route is None:
            route = Route(event, namespace, on_change=self._receivers_changed)
            self._routes[key] = route
            if route.event_is_pattern:
                prefix = event.split(WILDCARD, 1)[0]
                self._patterns_by_prefix.setdefault(prefix, []).append(route)
                self._longest_prefix = max(self._longest_prefix, len(prefix))
            else:
                self._by_exact_event.setdefault(event, []).append(route)
        return route

    @property
    def routes(self) -> list[Route]:
        """Every route declared so far, in declaration order."""
        return list(self._routes.values())

    def add_handler(
        self,
        event: str,
        namespace: str,
        fn: Callable[..., Any],
        *,
        schema: PayloadSchema | None = None,
        ack_schema: PayloadSchema | None = None,
    ) -> Route:
        """Make ``fn`` the handler of the route ``(event, namespace)``, replacing any other.

        :param schema: the payload's contract, checked before ``fn`` runs.
        :param ack_schema: the acknowledgement's contract (documentation only).
        """
        route = self.route(event, namespace)
        self._handlers[route] = HandlerCall(
            fn=fn,
            route=route,
            prepend_name=route.event_is_pattern,
            capacity=positional_capacity(fn),
            seq=next(self._seq),
            schema=schema,
            ack_schema=ack_schema,
        )
        self._routing_changed()
        return route

    def declare_emit(
        self,
        event: str,
        namespace: str = "/",
        *,
        schema: PayloadSchema | None = None,
        ack_schema: PayloadSchema | None = None,
        description: str | None = None,
    ) -> DeclaredEmit:
        """Declare that the server emits ``event`` in ``namespace`` (patterns allowed).

        A second declaration of the same pair replaces the first. Declaring
        adds no route: it does not make a namespace acceptable.
        """
        declared = DeclaredEmit(Route(event, namespace), schema, ack_schema, description)
        self.emits[(event, namespace)] = declared
        return declared

    def declared_emit(self, namespace: str, event: str) -> DeclaredEmit | None:
        """The most specific declaration matching a concrete emit, or ``None``."""
        found = self.emits.get((event, namespace))
        if found is not None:
            return found
        matching = [d for d in self.emits.values() if d.route.matches(namespace, event)]
        return min(matching, key=lambda d: d.route.specificity, default=None)

    def handlers(self) -> list[HandlerCall]:
        """Every handler in the table, in registration order."""
        return sorted(self._handlers.values(), key=lambda call: call.seq)

    def add_guard(self, event: str, namespace: str, fn: Guard) -> Route:
        """Add ``fn`` to the guards of the route ``(event, namespace)``."""
        route = self.route(event, namespace)
        self._guards.setdefault(route, []).append(_Guard(fn, next(self._seq)))
        self._routing_changed()
        return route

    def add_listener(self, event: str, namespace: str, fn: Listener) -> Route:
        """Connect ``fn`` (called as ``fn(event)``) to the signal of ``(event, namespace)``."""
        route = self.route(event, namespace)
        key = _key(fn)
        adapter = self._listeners.get(key)
        if adapter is None:
            adapter = self._listeners[key] = _Listener(fn)
        route.connect(adapter)
        return route

    def remove(
        self,
        fn: Callable[..., Any],
        kind: Kind | None = None,
        event: str | None = None,
        namespace: str | None = None,
    ) -> int:
        """Remove ``fn`` as a subscriber.

        :param kind: only subscriptions of this kind (default: all kinds).
        :param event: only on routes with exactly this event pattern.
        :param namespace: only on routes with exactly this namespace pattern.
        :return: how many subscriptions were removed.
        """
        removed = 0
        for route in self.routes:
            if (event is not None and route.event != event) or (
                namespace is not None and route.namespace != namespace
            ):
                continue
            if kind in (None, Kind.HANDLER) and self._is_handler(route, fn):
                del self._handlers[route]
                removed += 1
            if kind in (None, Kind.GUARD) and route in self._guards:
                kept = [guard for guard in self._guards[route] if guard.fn != fn]
                removed += len(self._guards[route]) - len(kept)
                self._guards[route] = kept
            if kind in (None, Kind.LISTENER):
                adapter = self._listeners.get(_key(fn))
                connected = len(route.receivers)
                route.disconnect(adapter if adapter is not None else fn)
                removed += connected - len(route.receivers)
        self._forget_unused_adapter(fn)
        self._routing_changed()
        return removed

    def _forget_unused_adapter(self, fn: Callable[..., Any]) -> None:
        """Drop ``fn``'s listener adapter once no route has it, so add/remove churn stays flat."""
        key = _key(fn)
        adapter = self._listeners.get(key)
        if adapter is not None and not any(
            adapter in route.receivers_for(self._sender) for route in self._routes.values()
        ):
            del self._listeners[key]

    def _is_handler(self, route: Route, fn: Callable[..., Any]) -> bool:
        call = self._handlers.get(route)
        return call is not None and call.fn == fn

    def _receivers_changed(self, route: Route, receiver: Any) -> None:
        order = self._receiver_seq.setdefault(route, {})
        if receiver is not None:
            order.setdefault(_key(receiver), next(self._seq))
        else:
            live = {_key(value) for value in route.receivers_for(self.sender)}
            for key in [key for key in order if key not in live]:
                del order[key]
        self._routing_changed()

    def _routing_changed(self) -> None:
        self._cache.clear()
        self._namespace_cache.clear()

    # -- queries -----------------------------------------------------------

    def listeners(self) -> list[Any]:
        """Every listener of every route, once each: bus listeners as given to
        :meth:`add_listener`, plain blinker receivers as connected."""
        found: dict[Hashable, Any] = {}
        for route in self._routes.values():
            for receiver in route.receivers_for(self.sender):
                listener = receiver.fn if isinstance(receiver, _Listener) else receiver
                found.setdefault(_key(listener), listener)
        return list(found.values())

    def handler_routes(self) -> dict[Route, Callable[..., Any]]:
        """Every route that has a handler, with its handler, in registration order."""
        calls = sorted(self._handlers.values(), key=lambda call: call.seq)
        return {call.route: call.fn for call in calls}

    def accepts_namespace(self, namespace: str) -> bool:
        """True when some handler route's namespace pattern matches ``namespace``."""
        accepted = self._namespace_cache.get(namespace)
        if accepted is None:
            accepted = any(route.matches_namespace(namespace) for route in self._handlers)
            if self.cache_size > 0:
                if len(self._namespace_cache) >= self.cache_size:
                    del self._namespace_cache[next(iter(self._namespace_cache))]
                self._namespace_cache[namespace] = accepted
        return accepted

    def is_declared(self, event: str, namespace: str) -> bool:
        """True when a route names ``event`` exactly in a namespace matching ``namespace``.

        Metrics use it to keep label values bounded: names no route declares
        are the ones a client can invent.
        """
        routes = self._by_exact_event.get(event, ())
        return any(route.matches_namespace(namespace) for route in routes)

    def resolve(self, namespace: str, event: str) -> Resolution:
        """Return the handler, guards and listeners for a concrete ``(namespace, event)``."""
        key = (namespace, event)
        resolution = self._cache.get(key)
        if resolution is None:
            resolution = self._resolve(namespace, event)
            if self.cache_size > 0:
                if len(self._cache) >= self.cache_size:
                    del self._cache[next(iter(self._cache))]
                self._cache[key] = resolution
        return resolution

    def _matching_routes(self, namespace: str, event: str) -> Iterable[Route]:
        for route in self._by_exact_event.get(event, ()):
            if route.matches_namespace(namespace):
                yield route
        by_prefix = self._patterns_by_prefix
        for length in range(min(len(event), self._longest_prefix) + 1):
            for route in by_prefix.get(event[:length], ()):
                if route.matches_event(event) and route.matches_namespace(namespace):
                    yield route

    def _resolve(self, namespace: str, event: str) -> Resolution:
        handlers: list[HandlerCall] = []
        guards: dict[Hashable, tuple[int, Guard]] = {}
        listeners: dict[Hashable, tuple[int, Listener]] = {}
        lifecycle = event in LIFECYCLE_NAMES
        for route in self._matching_routes(namespace, event):
            call = self._handlers.get(route)
            if call is not None and not (lifecycle and route.event_is_pattern):
                handlers.append(call)
            for guard in self._guards.get(route, ()):
                _keep_earliest(guards, _key(guard.fn), guard.seq, guard.fn)
            if route.is_muted:
                continue
            receiver_seq = self._receiver_seq.get(route, {})
            for receiver in route.receivers_for(self.sender):
                key = _key(receiver)
                seq = receiver_seq.get(key, -1)
                if isinstance(receiver, _Listener):
                    _keep_earliest(listeners, key, seq, receiver.fn)
                else:
                    _keep_earliest(listeners, key, seq, _foreign_receiver(receiver, self.sender))
        return Resolution(
            handler=min(handlers, key=_handler_rank, default=None),
            guards=_in_order(guards),
            listeners=_in_order(listeners),
        )


def _handler_rank(call: HandlerCall) -> tuple[tuple[int, int], int]:
    return call.route.specificity, call.seq


def _in_order(subscribers: dict[Hashable, tuple[int, Any]]) -> tuple[Any, ...]:
    return tuple(fn for _, fn in sorted(subscribers.values(), key=lambda item: item[0]))


def _keep_earliest(
    order: dict[Hashable, tuple[int, Any]], key: Hashable, seq: int, fn: Any
) -> None:
    known = order.get(key)
    if known is None or seq < known[0]:
        order[key] = (seq, fn)
