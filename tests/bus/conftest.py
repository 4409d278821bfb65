"""Fixtures for the bus's unit tests: a fresh bus and a log of the signals it sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from blinker import NamedSignal

from flask_sockevents import Bus, Event, signals

ALL_SIGNALS: tuple[NamedSignal, ...] = (
    signals.client_connected,
    signals.client_disconnected,
    signals.event_received,
    signals.event_handled,
    signals.event_unhandled,
    signals.event_rejected,
    signals.event_failed,
    signals.event_emitted,
)


class Sent(NamedTuple):
    """One signal as a receiver saw it."""

    signal: str
    sender: Any
    event: Event


class SignalLog(list[Sent]):
    """Every signal sent while the fixture is active, in order."""

    @property
    def names(self) -> list[str]:
        """The names of the signals sent, in order."""
        return [sent.signal for sent in self]

    def of(self, signal: NamedSignal) -> list[Event]:
        """The events sent on ``signal``, in order."""
        return [sent.event for sent in self if sent.signal == signal.name]


@pytest.fixture
def app() -> object:
    """Stands for the Flask app: the sender of every signal."""
    return object()


@pytest.fixture
def bus(app: object) -> Bus:
    """A bus with no routes, sending signals as ``app``."""
    bus = Bus()
    bus.sender = app
    return bus


@pytest.fixture
def sent() -> Iterator[SignalLog]:
    """Record every bus signal sent during the test."""
    log = SignalLog()
    receivers = []
    for signal in ALL_SIGNALS:

        def receiver(sender: Any, event: Event, _name: str = signal.name) -> None:
            log.append(Sent(_name, sender, event))

        signal.connect(receiver)
        receivers.append((signal, receiver))
    yield log
    for signal, receiver in receivers:
        signal.disconnect(receiver)
