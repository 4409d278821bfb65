"""Routes: which events a subscriber wants, and how specific that wish is.

A route is an ``(event pattern, namespace pattern)`` pair. A pattern is an exact
name, or contains ``*``, which matches any run of characters (including none);
every other character is literal. Incoming names are matched literally: a client
sending ``"a*"`` matches the route ``"a*"`` only because ``*`` matches ``"*"``.

Each route is also a blinker signal: listeners are its receivers, and anything
connected to it with plain blinker is called with each matching :class:`Event`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from blinker import ANY

from .exceptions import RoutingError
from .signals import BusSignal

__all__ = ["WILDCARD", "Route", "Specificity", "check_pattern", "compile_pattern"]

WILDCARD = "*"

# (tier, -literal characters): lower sorts first, i.e. is more specific.
Specificity = tuple[int, int]


def check_pattern(pattern: object, what: str) -> str:
    """Return ``pattern`` if it is a valid route pattern, else raise :class:`RoutingError`."""
    if not isinstance(pattern, str):
        raise RoutingError(f"{what} pattern must be a string, not {type(pattern).__name__}")
    if not pattern:
        raise RoutingError(f"{what} pattern must not be empty")
    return pattern


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """Return a predicate telling whether a concrete name matches ``pattern``."""
    if WILDCARD not in pattern:
        return pattern.__eq__
    if pattern.strip(WILDCARD) == "":
        return _match_anything
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split(WILDCARD)), re.DOTALL)

    def matches(name: str) -> bool:
        return regex.fullmatch(name) is not None

    return matches


def _match_anything(name: str) -> bool:
    return True


class Route(BusSignal):
    """An ``(event, namespace)`` pattern pair, and the signal of the events it matches.

    Routes are created by the :class:`~flask_sockevents.router.Router` (one per
    distinct pair) and compared by specificity, most specific first:

    1. exact namespace and exact event,
    2. exact namespace and event pattern,
    3. namespace pattern and exact event,
    4. namespace pattern and event pattern;

    within a tier, more literal (non-``*``) characters first.

    :param event: the event name or pattern.
    :param namespace: the namespace or namespace pattern, ``"/"`` by default.
    :param on_change: told of every receiver connected (with it) or
        disconnected (with ``None``); the owning router keeps its order and
        cache right with it.
    """

    def __init__(
        self,
        event: str,
        namespace: str = "/",
        on_change: Callable[[Route, Any], None] | None = None,
    ) -> None:
        check_pattern(event, "event")
        check_pattern(namespace, "namespace")
        super().__init__(f"{namespace} {event}", f"Events matching {event!r} in {namespace!r}.")
        self.event = event
        self.namespace = namespace
        self.event_is_pattern = WILDCARD in event
        self.namespace_is_pattern = WILDCARD in namespace
        tier = (2 if self.namespace_is_pattern else 0) + (1 if self.event_is_pattern else 0)
        literal = len(event) - event.count(WILDCARD) + len(namespace) - namespace.count(WILDCARD)
        self.specificity: Specificity = (tier, -literal)
        self.matches_event = compile_pattern(event)
        self.matches_namespace = compile_pattern(namespace)
        self._on_change = on_change

    def matches(self, namespace: str, event: str) -> bool:
        """True when the concrete ``namespace`` and ``event`` fall under this route."""
        return self.matches_namespace(namespace) and self.matches_event(event)

    def connect(self, receiver: Any, sender: Any = ANY, weak: bool = False) -> Any:
        """Connect a listener: ``receiver(sender, event=...)`` for each matching event.

        The router's cached resolutions are invalidated, so the receiver is
        called from the next event on. Receivers are held strongly by default;
        a weak one (``weak=True``) is kept alive by the resolution cache until
        the routing table next changes.
        """
        result = super().connect(receiver, sender, weak)
        if self._on_change is not None:
            self._on_change(self, receiver)
        return result

    def disconnect(self, receiver: Callable[..., Any], sender: Any = ANY) -> None:
        """Disconnect ``receiver`` and invalidate the router's cached resolutions."""
        super().disconnect(receiver, sender)
        if self._on_change is not None:
            self._on_change(self, None)

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Within the block, the bus does not call this route's receivers.

        The router's cached resolutions are refreshed on entry and on exit.
        """
        self.is_muted = True
        if self._on_change is not None:
            self._on_change(self, None)
        try:
            yield
        finally:
            self.is_muted = False
            if self._on_change is not None:
                self._on_change(self, None)

    def __repr__(self) -> str:
        return f"<Route {self.event!r} namespace={self.namespace!r}>"
