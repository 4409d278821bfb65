"""Metrics: Prometheus counters of the bus, with label values a client cannot grow."""

from __future__ import annotations

import random
import string
import sys

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry

from flask_sockevents import signals
from flask_sockevents.bus import Bus
from flask_sockevents.event import EventKind, Outcome
from flask_sockevents.listeners import Metrics
from flask_sockevents.listeners.metrics import OTHER, UNDECLARED

from .conftest import FakeRouter, FakeSockEvents, MakeEvent


@pytest.fixture
def metrics(sockevents: FakeSockEvents) -> Metrics:
    return Metrics(sockevents)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def label_values(metrics: Metrics, name: str, label: str) -> set[str]:
    return {
        s.labels[label]
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == name
    }


def random_name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 40)))


def test_counts_events_by_namespace_event_and_outcome(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message"))
    metrics(make_event("chat message"))
    metrics(make_event("chat message", outcome=Outcome.FAILED))

    assert (
        sample(
            metrics,
            "sockevents_events_total",
            namespace="/",
            event="chat message",
            outcome="handled",
        )
        == 2
    )
    assert (
        sample(
            metrics,
            "sockevents_events_total",
            namespace="/",
            event="chat message",
            outcome="failed",
        )
        == 1
    )


def test_counts_connects_and_disconnects_under_their_own_names(
    metrics: Metrics, make_event: MakeEvent
):
    metrics(make_event(kind=EventKind.CONNECT, outcome=Outcome.UNHANDLED))
    metrics(make_event(kind=EventKind.DISCONNECT))

    assert (
        sample(
            metrics, "sockevents_events_total", namespace="/", event="connect", outcome="unhandled"
        )
        == 1
    )
    assert (
        sample(
            metrics, "sockevents_events_total", namespace="/", event="disconnect", outcome="handled"
        )
        == 1
    )


def test_undeclared_event_names_share_one_label(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("made-up-1", outcome=Outcome.UNHANDLED))
    metrics(make_event("made-up-2", outcome=Outcome.UNHANDLED))

    assert (
        sample(
            metrics, "sockevents_events_total", namespace="/", event=UNDECLARED, outcome="unhandled"
        )
        == 2
    )
    assert label_values(metrics, "sockevents_events_total", "event") == {UNDECLARED}


def test_undeclared_namespaces_share_one_label(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message", namespace="/nowhere", outcome=Outcome.REJECTED))

    assert label_values(metrics, "sockevents_events_total", "namespace") == {UNDECLARED}


def test_a_namespace_a_client_was_let_into_keeps_its_name(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event(kind=EventKind.CONNECT, namespace="/open", outcome=Outcome.UNHANDLED))
    metrics(make_event("chat message", namespace="/open"))

    assert label_values(metrics, "sockevents_events_total", "namespace") == {"/open"}


def test_a_refused_connect_does_not_name_its_namespace(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event(kind=EventKind.CONNECT, namespace="/nowhere", outcome=Outcome.REJECTED))
    metrics(make_event("chat message", namespace="/nowhere", outcome=Outcome.REJECTED))

    assert label_values(metrics, "sockevents_events_total", "namespace") == {UNDECLARED}


def test_a_flood_of_random_names_keeps_labels_bounded(metrics: Metrics, make_event: MakeEvent):
    rng = random.Random(1234)
    for _ in range(2000):
        metrics(
            make_event(
                random_name(rng),
                namespace="/" + random_name(rng),
                outcome=rng.choice(list(Outcome)),
                reason=random_name(rng),
            )
        )

    assert label_values(metrics, "sockevents_events_total", "event") == {UNDECLARED}
    assert label_values(metrics, "sockevents_events_total", "namespace") == {UNDECLARED}
    assert len(label_values(metrics, "sockevents_rejections_total", "reason")) <= 51


def test_namespaces_accepted_by_a_pattern_are_capped(make_event: MakeEvent):
    class PatternRouter(FakeRouter):
        def accepts_namespace(self, namespace: str) -> bool:
            return namespace.startswith("/rooms/")

    metrics = Metrics(FakeSockEvents(router=PatternRouter()), max_namespaces=3)
    for room in range(10):
        metrics(make_event("chat message", namespace=f"/rooms/{room}"))

    assert label_values(metrics, "sockevents_events_total", "namespace") == {
        "/rooms/0",
        "/rooms/1",
        "/rooms/2",
        OTHER,
    }


def test_rejections_are_counted_by_reason(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message", outcome=Outcome.REJECTED, reason="rate limited"))
    metrics(make_event("chat message", outcome=Outcome.REJECTED, reason="rate limited"))

    assert sample(metrics, "sockevents_rejections_total", namespace="/", reason="rate limited") == 2


def test_rejection_reasons_are_cut_to_64_characters(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message", outcome=Outcome.REJECTED, reason="x" * 500))

    assert label_values(metrics, "sockevents_rejections_total", "reason") == {"x" * 64}


def test_rejection_reasons_past_50_distinct_are_other(metrics: Metrics, make_event: MakeEvent):
    for n in range(60):
        metrics(make_event("chat message", outcome=Outcome.REJECTED, reason=f"reason {n}"))

    reasons = label_values(metrics, "sockevents_rejections_total", "reason")
    assert len(reasons) == 51
    assert OTHER in reasons
    assert sample(metrics, "sockevents_rejections_total", namespace="/", reason=OTHER) == 10


def test_accepted_connect_counts_a_connected_client(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event(kind=EventKind.CONNECT, sid="a"))
    metrics(make_event(kind=EventKind.CONNECT, sid="b", outcome=Outcome.UNHANDLED))

    assert sample(metrics, "sockevents_connected_clients", namespace="/") == 2


def test_disconnect_uncounts_the_client(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event(kind=EventKind.CONNECT, sid="a"))
    metrics(make_event(kind=EventKind.DISCONNECT, sid="a"))

    assert sample(metrics, "sockevents_connected_clients", namespace="/") == 0


def test_refused_connect_is_not_a_connected_client(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event(kind=EventKind.CONNECT, sid="a", outcome=Outcome.REJECTED))
    metrics(make_event(kind=EventKind.CONNECT, sid="b", outcome=Outcome.FAILED))

    assert sample(metrics, "sockevents_connected_clients", namespace="/") == 0


def test_disconnect_of_an_unseen_client_does_not_go_negative(
    metrics: Metrics, make_event: MakeEvent
):
    metrics(make_event(kind=EventKind.DISCONNECT, sid="never-connected"))

    assert sample(metrics, "sockevents_connected_clients", namespace="/") == 0


def test_received_bytes_add_up_packet_sizes(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message", size=100))
    metrics(make_event("chat message", size=23))

    assert sample(metrics, "sockevents_received_bytes_total", namespace="/") == 123


def test_emitted_bytes_come_from_the_emit_signal(
    app: Flask, metrics: Metrics, make_event: MakeEvent
):
    emitted = make_event("news", kind=EventKind.EMIT, sid=None, outcome=None, size=77)
    signals.publish(signals.event_emitted, app, emitted)
    metrics.close()

    assert sample(metrics, "sockevents_emitted_bytes_total", namespace="/") == 77
    assert sample(metrics, "sockevents_received_bytes_total", namespace="/") == 0


def test_handler_durations_are_observed(metrics: Metrics, make_event: MakeEvent):
    metrics(make_event("chat message", duration=0.003))

    labels = {"namespace": "/", "event": "chat message"}
    assert sample(metrics, "sockevents_handler_duration_seconds_count", **labels) == 1
    assert sample(metrics, "sockevents_handler_duration_seconds_sum", **labels) == 0.003


def test_each_instance_has_its_own_registry(make_event: MakeEvent):
    first = Metrics(FakeSockEvents())
    second = Metrics(FakeSockEvents())
    first(make_event("x"))

    assert first.registry is not second.registry
    assert (
        sample(second, "sockevents_events_total", namespace="/", event="x", outcome="handled") == 0
    )


def test_uses_the_registry_it_is_given(make_event: MakeEvent):
    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    metrics(make_event("x"))

    assert (
        registry.get_sample_value(
            "sockevents_events_total", {"namespace": "/", "event": "x", "outcome": "handled"}
        )
        == 1
    )


def test_init_app_listens_to_everything_and_serves_the_view(
    app: Flask, sockevents: FakeSockEvents, make_event: MakeEvent
):
    metrics = Metrics(sockevents)
    metrics(make_event("chat message"))

    response = app.test_client().get("/metrics")

    assert sockevents.listeners == [("*", "*", metrics)]
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert 'sockevents_events_total{event="chat message",namespace="/",outcome="handled"} 1.0' in (
        response.get_data(as_text=True)
    )


def test_view_path_is_configurable(app: Flask, sockevents: FakeSockEvents):
    Metrics(sockevents, path="/internal/metrics")

    client = app.test_client()
    assert client.get("/internal/metrics").status_code == 200
    assert client.get("/metrics").status_code == 404


def test_no_view_when_path_is_none(app: Flask, sockevents: FakeSockEvents):
    Metrics(sockevents, path=None)

    assert app.test_client().get("/metrics").status_code == 404


def test_view_goes_on_the_given_app_when_the_extension_has_none(app: Flask):
    Metrics(FakeSockEvents(app=None), app=app)

    assert app.test_client().get("/metrics").status_code == 200


def test_check_refusal_answers_403(app: Flask, sockevents: FakeSockEvents):
    Metrics(sockevents, check=lambda: False)

    assert app.test_client().get("/metrics").status_code == 403


def test_check_approval_serves_the_metrics(app: Flask, sockevents: FakeSockEvents):
    Metrics(sockevents, check=lambda: True)

    assert app.test_client().get("/metrics").status_code == 200


def test_missing_prometheus_client_says_what_to_install(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)

    with pytest.raises(ImportError, match=r"pip install flask-sockevents\[metrics\]"):
        Metrics()


def test_labels_are_bounded_by_a_real_router(make_event: MakeEvent):
    bus = Bus()
    bus.on("chat message", "/")(lambda data: data)
    metrics = Metrics(bus)

    bus.publish(make_event("chat message", "hi", outcome=None))
    bus.publish(make_event("invented", outcome=None))

    assert label_values(metrics, "sockevents_events_total", "event") == {
        "chat message",
        UNDECLARED,
    }
