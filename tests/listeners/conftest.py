"""Fixtures for the shipped listeners and guards: events built by hand and a fake extension."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask

from flask_sockevents import signals
from flask_sockevents.event import Event, EventKind, Outcome

MakeEvent = Callable[..., Event]


def build_event(
    name: str = "chat message",
    *args: Any,
    kind: EventKind = EventKind.EVENT,
    namespace: str = "/",
    sid: str | None = "sid-1",
    outcome: Outcome | None = Outcome.HANDLED,
    reason: str | None = None,
    duration: float | None = 0.002,
    ack: Any = None,
    replied: bool = False,
    error: BaseException | None = None,
    **fields: Any,
) -> Event:
    """An event as received, finished with ``outcome`` unless it is ``None``."""
    if kind is EventKind.CONNECT:
        name = "connect"
    elif kind is EventKind.DISCONNECT:
        name = "disconnect"
    event = Event(kind, namespace, name, sid, tuple(args), **fields)
    if outcome is None:
        return event
    return event.finished(
        outcome, reason=reason, ack=ack, replied=replied, error=error, duration=duration
    )


@pytest.fixture
def make_event() -> MakeEvent:
    """Build an :class:`Event`: ``make_event("name", *args, kind=..., outcome=..., ...)``."""
    return build_event


class FakeRouter:
    """Answers the two questions listeners ask a router, from fixed sets."""

    def __init__(self, declared: Iterable[str] = (), namespaces: Iterable[str] = ("/",)) -> None:
        self.declared = set(declared)
        self.namespaces = set(namespaces)

    def is_declared(self, event: str, namespace: str) -> bool:
        return event in self.declared and self.accepts_namespace(namespace)

    def accepts_namespace(self, namespace: str) -> bool:
        return namespace in self.namespaces


class FakeSockEvents:
    """The part of the extension that listeners and guards attach to."""

    def __init__(self, app: Flask | None = None, router: FakeRouter | None = None) -> None:
        self.app = app
        self.router = router if router is not None else FakeRouter()
        self.listeners: list[tuple[str, str, Callable[[Event], Any]]] = []
        self.guards: list[tuple[str, str, Callable[[Event], Any]]] = []

    def listen(self, event: str = "*", namespace: str = "/") -> Callable[[Any], Any]:
        def decorate(fn: Any) -> Any:
            self.listeners.append((event, namespace, fn))
            return fn

        return decorate

    def guard(self, event: str = "*", namespace: str = "/") -> Callable[[Any], Any]:
        def decorate(fn: Any) -> Any:
            self.guards.append((event, namespace, fn))
            return fn

        return decorate


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.testing = True
    return app


@pytest.fixture
def sockevents(app: Flask) -> FakeSockEvents:
    """A fake extension on ``app`` whose router declares ``chat message`` in ``/``."""
    return FakeSockEvents(app, FakeRouter(declared={"chat message"}, namespaces={"/"}))


@pytest.fixture(autouse=True)
def _forget_emit_receivers() -> Any:
    """Disconnect the emit receivers a test's listeners left on the process-wide signal."""
    before = set(signals.event_emitted.receivers)
    yield
    for key in set(signals.event_emitted.receivers) - before:
        receiver = signals.event_emitted.receivers[key]
        if isinstance(receiver, weakref.ref):
            receiver = receiver()
        if receiver is not None:
            signals.event_emitted.disconnect(receiver)
