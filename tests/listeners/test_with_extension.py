"""The shipped listeners and guards plugged into a real SockEvents, driven by its test client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session

from flask_sockevents import SockEvents
from flask_sockevents.guards import RateLimiter, RequireUser
from flask_sockevents.listeners import AuditLog, Metrics


@pytest.fixture
def chat_app() -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = "test"
    sockevents = SockEvents(app)

    @sockevents.on("chat message")
    def chat(text: str) -> str:
        return f"got {text}"

    @app.post("/login/<name>")
    def login(name: str) -> str:
        session["user"] = name
        return "ok"

    return app, sockevents


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_audit_log_records_a_whole_session(chat_app: tuple[Flask, SockEvents], tmp_path: Path):
    app, sockevents = chat_app
    audit = AuditLog(tmp_path / "audit.jsonl", sockevents, emits=True)

    client = sockevents.test_client(app)
    client.emit("chat message", "hi", callback=True)
    client.emit("made up")
    sockevents.emit("news", "extra", namespace="/")
    client.disconnect()
    audit.close()

    assert [(r["kind"], r["event"], r["outcome"]) for r in records(tmp_path / "audit.jsonl")] == [
        ("connect", "connect", "unhandled"),
        ("event", "chat message", "handled"),
        ("event", "made up", "unhandled"),
        ("emit", "news", None),
        ("disconnect", "disconnect", "unhandled"),
    ]


def test_audit_log_reads_the_user_from_the_connection_session(
    chat_app: tuple[Flask, SockEvents], tmp_path: Path
):
    app, sockevents = chat_app
    audit = AuditLog(tmp_path / "audit.jsonl", sockevents, user_id=lambda: session.get("user"))
    http = app.test_client()
    http.post("/login/ann")

    client = sockevents.test_client(app, flask_test_client=http)
    client.emit("chat message", "hi")
    audit.close()

    assert {r["user_id"] for r in records(tmp_path / "audit.jsonl")} == {"ann"}


def test_metrics_view_reports_the_traffic(chat_app: tuple[Flask, SockEvents]):
    app, sockevents = chat_app
    metrics = Metrics(sockevents)

    client = sockevents.test_client(app)
    client.emit("chat message", "hi")
    client.emit("invented-1")
    client.emit("invented-2")
    connected_during = metrics.registry.get_sample_value(
        "sockevents_connected_clients", {"namespace": "/"}
    )
    client.disconnect()
    body = app.test_client().get("/metrics").get_data(as_text=True)
    metrics.close()

    assert connected_during == 1
    assert 'sockevents_connected_clients{namespace="/"} 0.0' in body
    assert (
        'sockevents_events_total{event="chat message",namespace="/",outcome="handled"} 1.0' in body
    )
    assert (
        'sockevents_events_total{event="<undeclared>",namespace="/",outcome="unhandled"} 2.0'
        in body
    )


def test_rate_limited_events_get_a_rejection_instead_of_an_ack(
    chat_app: tuple[Flask, SockEvents],
):
    app, sockevents = chat_app
    RateLimiter(sockevents, events_per_second=0.001, burst=2)  # the connect, then one event

    client = sockevents.test_client(app)
    first = client.emit("chat message", "one", callback=True)
    second = client.emit("chat message", "two", callback=True)

    assert first == "got one"
    assert second == {"error": "rejected", "reason": "rate limited"}


def test_sustained_abuse_disconnects_the_client(chat_app: tuple[Flask, SockEvents]):
    app, sockevents = chat_app
    RateLimiter(sockevents, events_per_second=0.001, burst=2, disconnect_after=3)

    client = sockevents.test_client(app)
    for n in range(4):
        client.emit("chat message", str(n))

    assert not client.is_connected()


def test_rate_limiter_budget_survives_a_reconnect_to_the_namespace(
    chat_app: tuple[Flask, SockEvents],
):
    app, sockevents = chat_app
    RateLimiter(sockevents, events_per_second=0.001, burst=2)  # the connect, then one event
    client = sockevents.test_client(app)
    client.emit("chat message", "one")
    client.disconnect()

    client.connect()

    assert not client.is_connected()


def test_require_user_refuses_an_anonymous_connect(chat_app: tuple[Flask, SockEvents]):
    app, sockevents = chat_app
    RequireUser(sockevents, user=lambda: session.get("user"))

    client = sockevents.test_client(app)

    assert not client.is_connected()


def test_require_user_lets_a_logged_in_client_connect(chat_app: tuple[Flask, SockEvents]):
    app, sockevents = chat_app
    RequireUser(sockevents, user=lambda: session.get("user"))
    http = app.test_client()
    http.post("/login/ann")

    client = sockevents.test_client(app, flask_test_client=http)

    assert client.is_connected()
    assert client.emit("chat message", "hi", callback=True) == "got hi"
