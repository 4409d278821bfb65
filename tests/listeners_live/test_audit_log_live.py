"""AuditLog on a live server: one record per outcome, in arrival order, written before the ack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from flask import Flask

from flask_sockevents import ConnectionRefusedError, Event, Reject, SockEvents
from flask_sockevents.listeners import AuditLog
from flask_sockevents.testing import LiveServer

from ._support import audit_records, wait_for


class Audited:
    """A live app with an audit log, and where its records go."""

    def __init__(self, server: LiveServer, path: Path) -> None:
        self.url = server.url
        self.path = path

    def records(self, sid: str | None = None) -> list[dict[str, Any]]:
        """The records written so far (for client ``sid`` only, if given)."""
        return [r for r in audit_records(self.path) if sid is None or r["sid"] == sid]


@pytest.fixture
def audited(serve: Callable[[Flask], LiveServer], tmp_path: Path) -> Iterator[Audited]:
    """A live app whose handlers produce every outcome, audited with payloads."""
    app = Flask(__name__)
    sockevents = SockEvents(app)
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, sockevents, payloads=True)

    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        if isinstance(auth, dict) and auth.get("name") == "mallory":
            raise ConnectionRefusedError("not you")

    @sockevents.on("x")
    def x(n: Any = None) -> dict[str, Any]:
        return {"n": n}

    @sockevents.on("boom")
    def boom() -> None:
        raise ValueError("boom")

    @sockevents.on("secret")
    def secret() -> str:
        return "leaked"

    @sockevents.guard("secret")
    def no_secrets(event: Event) -> None:
        raise Reject("no secrets")

    yield Audited(serve(app), path)
    audit.close()


def test_a_session_is_audited_in_arrival_order_with_every_outcome(audited, clients) -> None:
    client = clients.connect(audited.url, auth={"name": "alice"})
    sid = client.get_sid()
    assert client.call("x", 1, timeout=5) == {"n": 1}
    client.emit("nobody listens", "hi")
    client.emit("boom")
    assert client.call("secret", timeout=5) == {"error": "rejected", "reason": "no secrets"}
    client.disconnect()

    wait_for(lambda: any(r["kind"] == "disconnect" for r in audited.records(sid)))
    assert [(r["kind"], r["event"], r["outcome"], r["reason"]) for r in audited.records(sid)] == [
        ("connect", "connect", "handled", None),
        ("event", "x", "handled", None),
        ("event", "nobody listens", "unhandled", None),
        ("event", "boom", "failed", "ValueError"),
        ("event", "secret", "rejected", "no secrets"),
        ("disconnect", "disconnect", "unhandled", None),
    ]


def test_a_failed_event_record_names_the_exception(audited, clients) -> None:
    client = clients.connect(audited.url)
    sid = client.get_sid()
    client.emit("boom")
    client.call("x", timeout=5)

    [failed] = [r for r in audited.records(sid) if r["event"] == "boom"]
    assert (failed["outcome"], failed["error"], failed["replied"]) == (
        "failed",
        "ValueError",
        False,
    )


def test_a_refused_connect_is_audited_with_its_reason_and_no_disconnect(audited, clients) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(audited.url, auth={"name": "mallory"})

    [refused] = audited.records()
    assert (refused["kind"], refused["outcome"], refused["reason"]) == (
        "connect",
        "rejected",
        "not you",
    )
    other = clients.connect(audited.url)
    other_sid = other.get_sid()
    other.disconnect()
    wait_for(lambda: any(r["kind"] == "disconnect" for r in audited.records(other_sid)))
    assert audited.records(refused["sid"]) == [refused]


def test_the_connect_record_is_written_before_the_client_is_connected(audited, clients) -> None:
    client = clients.connect(audited.url)

    assert [(r["kind"], r["outcome"]) for r in audited.records(client.get_sid())] == [
        ("connect", "handled")
    ]


def test_each_ack_reaches_the_client_after_the_audit_record_of_its_event(audited, clients) -> None:
    client = clients.connect(audited.url)
    sid = client.get_sid()

    for n in range(50):
        ack = client.call("x", n, timeout=5)
        last = audited.records(sid)[-1]  # read at once: no waiting
        assert ack == {"n": n}
        assert (last["event"], last["outcome"], last["args"], last["ack"]) == (
            "x",
            "handled",
            [n],
            {"n": n},
        )


def test_a_rejection_ack_reaches_the_client_after_the_audit_record(audited, clients) -> None:
    client = clients.connect(audited.url)
    sid = client.get_sid()

    for _ in range(10):
        ack = client.call("secret", timeout=5)
        last = audited.records(sid)[-1]
        assert ack == {"error": "rejected", "reason": "no secrets"}
        assert (last["event"], last["outcome"], last["replied"]) == ("secret", "rejected", False)

    assert len([r for r in audited.records(sid) if r["event"] == "secret"]) == 10
