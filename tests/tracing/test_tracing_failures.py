"""Tracing never stops an event: a failing tracer is logged, the event goes on."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.listeners import Tracing


class _BrokenTracer:
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the exporter's disk is full")


class _BrokenProvider:
    def get_tracer(self, *args: Any, **kwargs: Any) -> _BrokenTracer:
        return _BrokenTracer()


def test_a_tracer_that_raises_leaves_events_handled_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    Tracing(sockevents, tracer_provider=_BrokenProvider())
    sockevents.on("chat")(lambda text: text.upper())
    client = sockevents.test_client(app)
    assert client.emit("chat", "hi", callback=True) == "HI"
    sockevents.emit("news", "still sent")
    assert "could not start the span" in caplog.text
    assert "could not trace the emit" in caplog.text
    assert sockevents.stats()["handled"] >= 1
