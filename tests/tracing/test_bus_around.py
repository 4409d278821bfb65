"""``Bus.around``: context managers entered around the whole path of each event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flask_sockevents import Bus, Event, EventKind, Outcome, Reject


def event(name: str = "chat", *args: Any) -> Event:
    return Event(EventKind.EVENT, "/", name, "sid", args)


def recording_hook(log: list[str], label: str) -> Any:
    @contextmanager
    def hook(received: Event) -> Iterator[None]:
        log.append(f"enter {label} {received.name}")
        try:
            yield
        finally:
            log.append(f"exit {label}")

    return hook


def test_hooks_wrap_guards_handler_and_listeners_the_first_outermost() -> None:
    bus = Bus()
    log: list[str] = []
    bus.around += [recording_hook(log, "outer"), recording_hook(log, "inner")]
    bus.guard("chat", "/", lambda e: log.append("guard"))
    bus.on("chat", "/", lambda text: log.append("handler"))
    bus.listen("chat", "/", lambda e: log.append("listener"))
    bus.publish(event("chat", "hi"))
    assert log == [
        "enter outer chat",
        "enter inner chat",
        "guard",
        "handler",
        "listener",
        "exit inner",
        "exit outer",
    ]


def test_a_single_hook_wraps_a_rejected_event_too() -> None:
    bus = Bus()
    log: list[str] = []
    bus.around.append(recording_hook(log, "only"))

    @bus.guard("chat", "/")
    def refuse(e: Event) -> None:
        raise Reject("no")

    bus.listen("chat", "/", lambda e: log.append(f"listener {e.outcome}"))
    finished = bus.publish(event("chat"))
    assert finished.outcome is Outcome.REJECTED
    assert log == ["enter only chat", "listener rejected", "exit only"]


def test_an_exception_from_a_hook_propagates_out_of_publish_before_anything_runs() -> None:
    bus = Bus()
    handled: list[str] = []

    @contextmanager
    def broken(received: Event) -> Iterator[None]:
        raise RuntimeError("hook broke")
        yield  # pragma: no cover

    bus.around.append(broken)
    bus.on("chat", "/", lambda text: handled.append(text))
    with pytest.raises(RuntimeError, match="hook broke"):
        bus.publish(event("chat", "hi"))
    assert handled == []
    assert bus.counts["received"] == 0
