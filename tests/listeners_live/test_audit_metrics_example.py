"""The audit + metrics example, in-process: what its README promises, through the test client."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_sockevents.testing import SocketIOTestClient

APP_PATH = Path(__file__).resolve().parents[2] / "examples" / "audit_metrics" / "app.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_metrics_example_app", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def app(audit_path: Path) -> Iterator[Flask]:
    app = example.create_app(audit_path)
    app.testing = True
    yield app
    app.extensions["audit_log"].close()


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


def connect(app: Flask, http: FlaskClient | None = None) -> SocketIOTestClient:
    """A Socket.IO test client carrying the cookies of ``http``."""
    return app.extensions["sockevents"].test_client(app, flask_test_client=http)


def logged_in(app: Flask, http: FlaskClient, user: str = "alice") -> SocketIOTestClient:
    assert http.get("/login", query_string={"user": user}).status_code == 200
    return connect(app, http)


def audit(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_client_that_has_not_logged_in_is_refused(app, http, audit_path) -> None:
    client = connect(app, http)

    assert not client.is_connected()
    [record] = audit(audit_path)
    assert (record["kind"], record["outcome"], record["reason"]) == (
        "connect",
        "rejected",
        example.LOGIN_REQUIRED,
    )


def test_a_logged_in_client_reaches_the_handlers(app, http) -> None:
    client = logged_in(app, http)

    assert client.emit("whoami", callback=True) == "alice"
    assert client.emit("echo", {"text": "hi"}, callback=True) == {"text": "hi"}
    assert client.emit("add", 2, 3, callback=True) == 5


def test_the_audit_records_carry_the_logged_in_user(app, http, audit_path) -> None:
    client = logged_in(app, http, "bob")
    client.emit("whoami", callback=True)
    client.disconnect()

    records = audit(audit_path)
    assert [(r["kind"], r["event"], r["user_id"]) for r in records] == [
        ("connect", "connect", "bob"),
        ("event", "whoami", "bob"),
        ("disconnect", "disconnect", "bob"),
    ]


def test_events_past_the_burst_are_rate_limited(app, http) -> None:
    client = logged_in(app, http)

    acks = [client.emit("echo", n, callback=True) for n in range(40)]

    assert acks[:19] == list(range(19))  # a burst of 20: the connect, then 19 events
    assert {"error": "rejected", "reason": "rate limited"} in acks[19:]


def test_metrics_are_served_at_slash_metrics(app, http) -> None:
    client = logged_in(app, http)
    client.emit("whoami", callback=True)

    text = http.get("/metrics").get_data(as_text=True)
    assert 'sockevents_events_total{event="whoami",namespace="/",outcome="handled"} 1.0' in text
    assert 'sockevents_connected_clients{namespace="/"} 1.0' in text


def test_logout_ends_the_login(app, http) -> None:
    logged_in(app, http)
    http.get("/logout")

    assert not connect(app, http).is_connected()


def test_login_without_a_name_is_a_bad_request(http) -> None:
    assert http.get("/login").status_code == 400
