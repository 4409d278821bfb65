"""AuditLog: one JSON line per event, with redaction, digest and a sink that never raises."""

from __future__ import annotations

import datetime
import errno
import hashlib
import io
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g

from flask_sockevents import signals
from flask_sockevents.event import EventKind, Outcome
from flask_sockevents.exceptions import Reject
from flask_sockevents.listeners import AuditLog
from flask_sockevents.listeners import audit as audit_module

from .conftest import FakeSockEvents, MakeEvent


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def canonical_sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FailingStream(io.StringIO):
    """A text stream whose writes fail with ``error`` while ``failing`` is set."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.failing = True

    def write(self, text: str) -> int:
        if self.failing:
            raise self.error
        return super().write(text)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def audit(log_path: Path) -> Any:
    log = AuditLog(log_path)
    yield log
    log.close()


def test_writes_one_json_line_per_event(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("a"))
    audit(make_event("b"))
    audit(make_event(kind=EventKind.DISCONNECT))

    assert [record["event"] for record in read_records(log_path)] == ["a", "b", "disconnect"]


def test_record_describes_the_event(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(
        make_event(
            "chat message",
            "hi",
            namespace="/chat",
            sid="abc",
            remote_addr="10.0.0.7",
            size=42,
            ack_requested=True,
            ack="ok",
            replied=True,
            duration=0.0125,
        )
    )

    (record,) = read_records(log_path)
    assert record["kind"] == "event"
    assert record["outcome"] == "handled"
    assert record["namespace"] == "/chat"
    assert record["event"] == "chat message"
    assert record["sid"] == "abc"
    assert record["remote_addr"] == "10.0.0.7"
    assert record["size"] == 42
    assert record["ack_requested"] is True
    assert record["replied"] is True
    assert record["duration_ms"] == 12.5
    assert record["reason"] is None
    assert record["user_id"] is None


def test_time_is_utc_iso8601_with_milliseconds(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    before = time.time()
    event = make_event("a")
    after = time.time()
    audit(event)

    stamp = read_records(log_path)[0]["time"]
    assert stamp.endswith("Z")
    assert len(stamp.split(".")[1]) == len("123Z")
    moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert moment.utcoffset() == datetime.timedelta(0)
    assert before - 0.001 <= moment.timestamp() <= after + 0.001


def test_connect_and_disconnect_are_recorded_with_their_kind(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event(kind=EventKind.CONNECT))
    audit(make_event(kind=EventKind.DISCONNECT))

    records = read_records(log_path)
    assert [(r["kind"], r["event"]) for r in records] == [
        ("connect", "connect"),
        ("disconnect", "disconnect"),
    ]


def test_rejection_records_outcome_and_reason(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event("a", outcome=Outcome.REJECTED, reason="rate limited", error=Reject("x")))

    (record,) = read_records(log_path)
    assert record["outcome"] == "rejected"
    assert record["reason"] == "rate limited"
    assert record["error"] == "Reject"


def test_failure_records_the_exception_class(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    error = KeyError("missing")
    audit(make_event("a", outcome=Outcome.FAILED, reason="KeyError: 'missing'", error=error))

    (record,) = read_records(log_path)
    assert record["outcome"] == "failed"
    assert record["error"] == "KeyError"
    assert record["reason"] == "KeyError: 'missing'"


def test_payloads_are_left_out_by_default(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("a", {"text": "private"}, ack="reply", replied=True))

    (record,) = read_records(log_path)
    assert "args" not in record
    assert "ack" not in record
    assert "private" not in log_path.read_text()


def test_payloads_are_recorded_when_asked(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, payloads=True)
    log(make_event("a", {"text": "hello"}, 3, ack={"ok": True}, replied=True))
    log.close()

    (record,) = read_records(log_path)
    assert record["args"] == [{"text": "hello"}, 3]
    assert record["ack"] == {"ok": True}


def test_a_payload_over_the_limit_is_replaced_by_its_size(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, payloads=True, max_payload_bytes=100)
    log(make_event("big", "x" * 500, ack="y" * 500, replied=True))
    log(make_event("small", "x" * 10))
    log.close()

    big, small = read_records(log_path)
    assert big["args"] == {"$truncated": 504}  # ["xxx…"] encoded
    assert big["ack"] == {"$truncated": 502}  # "yyy…" encoded
    assert small["args"] == ["x" * 10]


def test_a_truncated_payload_still_has_the_digest_of_all_of_it(
    log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, payloads=True, max_payload_bytes=10)
    log(make_event("big", "a" * 100))
    log(make_event("big", "b" * 100))
    log.close()

    first, second = read_records(log_path)
    assert first["args"] == second["args"] == {"$truncated": 104}
    assert first["sha256"] != second["sha256"]


def test_payload_keys_are_redacted_case_insensitively_at_any_depth(
    log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, payloads=True)
    args = {"user": "ann", "Password": "hunter2", "nested": [{"AUTHORIZATION": "Bearer x"}]}
    log(make_event("login", args))
    log.close()

    (record,) = read_records(log_path)
    assert record["args"] == [
        {"user": "ann", "Password": "[redacted]", "nested": [{"AUTHORIZATION": "[redacted]"}]}
    ]
    assert "hunter2" not in log_path.read_text()


def test_redaction_covers_keys_containing_a_redacted_word(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, payloads=True)
    log(make_event("a", {"access_token": "t0k", "client_secret": "s3c", "note": "kept"}))
    log.close()

    (record,) = read_records(log_path)
    assert record["args"] == [
        {"access_token": "[redacted]", "client_secret": "[redacted]", "note": "kept"}
    ]


def test_redacted_words_are_configurable(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, payloads=True, redact=("email",))
    log(make_event("a", {"Email": "a@b.c", "password": "visible"}))
    log.close()

    (record,) = read_records(log_path)
    assert record["args"] == [{"Email": "[redacted]", "password": "visible"}]


def test_redacted_acks_too(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, payloads=True)
    log(make_event("a", ack={"token": "new-session-token"}, replied=True))
    log.close()

    (record,) = read_records(log_path)
    assert record["ack"] == {"token": "[redacted]"}


def test_digest_is_sha256_of_canonical_json_args(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event("a", {"b": 1, "a": [1, 2]}, "x"))

    (record,) = read_records(log_path)
    assert record["sha256"] == canonical_sha256([{"a": [1, 2], "b": 1}, "x"])


def test_digest_does_not_depend_on_key_order(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event("a", {"x": 1, "y": 2}))
    audit(make_event("a", {"y": 2, "x": 1}))

    first, second = read_records(log_path)
    assert first["sha256"] == second["sha256"]


def test_digest_tells_different_args_apart(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("a", {"x": 1}))
    audit(make_event("a", {"x": 2}))

    first, second = read_records(log_path)
    assert first["sha256"] != second["sha256"]


def test_digest_is_computed_after_redaction(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("login", {"user": "ann", "password": "hunter2"}))
    audit(make_event("login", {"user": "ann", "password": "letmein"}))

    first, second = read_records(log_path)
    assert first["sha256"] == second["sha256"]
    assert first["sha256"] == canonical_sha256([{"user": "ann", "password": "[redacted]"}])


def test_digest_covers_the_content_of_binary_args(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event("upload", b"\x00\x01\x02"))
    audit(make_event("upload", b"\x00\x01\x03"))

    first, second = read_records(log_path)
    assert first["sha256"] != second["sha256"]


def test_binary_and_non_json_args_are_recorded_not_refused(log_path: Path, make_event: MakeEvent):
    class Point:
        def __repr__(self) -> str:
            return "Point(1, 2)"

    log = AuditLog(log_path, payloads=True)
    log(make_event("a", b"\x00" * 5, Point(), float("nan"), {1: "int key"}))
    log.close()

    (record,) = read_records(log_path)
    five_zeros = {"$bytes": 5, "sha256": hashlib.sha256(b"\x00" * 5).hexdigest()}
    assert record["args"] == [five_zeros, "Point(1, 2)", "nan", {"1": "int key"}]
    assert log.errors == 0


def test_self_referencing_args_are_cut_not_crashed(log_path: Path, make_event: MakeEvent):
    loop: list[Any] = []
    loop.append(loop)
    log = AuditLog(log_path, payloads=True)
    log(make_event("a", loop))
    log.close()

    (record,) = read_records(log_path)
    assert "[too deep]" in json.dumps(record["args"])
    assert log.errors == 0


def test_emit_records_carry_their_target(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("news", "hi", kind=EventKind.EMIT, sid=None, to="room-1", outcome=None))

    (record,) = read_records(log_path)
    assert record["kind"] == "emit"
    assert record["to"] == "room-1"
    assert record["outcome"] is None


def test_user_id_is_read_in_the_flask_context(app: Flask, log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, user_id=lambda: g.user_id)
    with app.test_request_context():
        g.user_id = 17
        log(make_event("a"))
    log.close()

    assert read_records(log_path)[0]["user_id"] == 17


def test_user_id_that_raises_is_recorded_as_null(log_path: Path, make_event: MakeEvent):
    def broken_user_id() -> Any:
        raise RuntimeError("no session")

    log = AuditLog(log_path, user_id=broken_user_id)
    log(make_event("a"))
    log.close()

    (record,) = read_records(log_path)
    assert record["user_id"] is None
    assert log.errors == 0


def test_each_record_is_on_disk_when_the_listener_returns(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    audit(make_event("a"))

    assert len(log_path.read_text().splitlines()) == 1


def test_file_is_appended_not_truncated(log_path: Path, make_event: MakeEvent):
    log_path.write_text('{"earlier": true}\n')
    log = AuditLog(log_path)
    log(make_event("a"))
    log.close()

    records = read_records(log_path)
    assert records[0] == {"earlier": True}
    assert records[1]["event"] == "a"


def test_fsync_syncs_every_record(
    log_path: Path, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
):
    synced: list[int] = []
    monkeypatch.setattr(audit_module.os, "fsync", synced.append)
    log = AuditLog(log_path, fsync=True)
    log(make_event("a"))
    log(make_event("b"))

    assert len(synced) == 2
    log.close()


def test_no_fsync_unless_asked(
    log_path: Path, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
):
    synced: list[int] = []
    monkeypatch.setattr(audit_module.os, "fsync", synced.append)
    log = AuditLog(log_path)
    log(make_event("a"))
    log.close()

    assert synced == []


def test_failing_sink_never_raises_and_counts_errors(make_event: MakeEvent):
    stream = FailingStream(OSError(errno.ENOSPC, "No space left on device"))
    log = AuditLog(stream)

    log(make_event("a"))
    log(make_event("b"))

    assert log.errors == 2


def test_failing_sink_is_reported_once(make_event: MakeEvent, caplog: pytest.LogCaptureFixture):
    log = AuditLog(FailingStream(OSError(errno.ENOSPC, "No space left on device")))

    with caplog.at_level(logging.ERROR, logger=audit_module.__name__):
        for name in ("a", "b", "c"):
            log(make_event(name))

    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_sink_that_recovers_gets_the_next_records(make_event: MakeEvent):
    stream = FailingStream(OSError(errno.ENOSPC, "No space left on device"))
    log = AuditLog(stream)
    log(make_event("lost"))
    stream.failing = False
    log(make_event("kept"))

    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["kept"]
    assert log.errors == 1


def test_records_after_close_are_counted_not_raised(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path)
    log(make_event("a"))
    log.close()
    log(make_event("b"))

    assert log.errors == 1
    assert [record["event"] for record in read_records(log_path)] == ["a"]


def test_close_is_idempotent(log_path: Path):
    log = AuditLog(log_path)
    log.close()
    log.close()

    assert log.errors == 0


def test_writes_to_a_logging_handler(make_event: MakeEvent):
    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(record.getMessage())

    handler = Collect()
    log = AuditLog(handler)
    log(make_event("a"))

    assert [json.loads(line)["event"] for line in handler.lines] == ["a"]


def test_writes_to_a_logger(make_event: MakeEvent, caplog: pytest.LogCaptureFixture):
    log = AuditLog(logging.getLogger("test.audit"))
    with caplog.at_level(logging.INFO, logger="test.audit"):
        log(make_event("a"))

    assert [json.loads(r.getMessage())["event"] for r in caplog.records] == ["a"]


def test_rejects_a_sink_it_cannot_write_to():
    with pytest.raises(TypeError, match="a file path"):
        AuditLog(42)  # type: ignore[arg-type]


def test_concurrent_records_stay_whole_lines(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    def record_many(worker: int) -> None:
        for n in range(200):
            audit(make_event(f"w{worker}", "x" * 500, n))

    threads = [threading.Thread(target=record_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = read_records(log_path)
    assert len(records) == 8 * 200
    assert audit.errors == 0


def test_init_app_listens_to_every_event_in_every_namespace(
    sockevents: FakeSockEvents, log_path: Path
):
    log = AuditLog(log_path, sockevents)
    log.close()

    assert sockevents.listeners == [("*", "*", log)]


def test_emits_are_recorded_when_asked(
    app: Flask, sockevents: FakeSockEvents, log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, sockevents, emits=True)
    emitted = make_event("news", "hi", kind=EventKind.EMIT, sid=None, to="room", outcome=None)
    signals.publish(signals.event_emitted, app, emitted)
    log.close()

    assert [(r["kind"], r["event"]) for r in read_records(log_path)] == [("emit", "news")]


def test_emits_are_not_recorded_by_default(
    app: Flask, sockevents: FakeSockEvents, log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, sockevents)
    emitted = make_event("news", kind=EventKind.EMIT, sid=None, outcome=None)
    signals.publish(signals.event_emitted, app, emitted)
    log.close()

    assert read_records(log_path) == []


def test_emits_of_another_app_are_not_recorded(
    sockevents: FakeSockEvents, log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, sockevents, emits=True)
    emitted = make_event("news", kind=EventKind.EMIT, sid=None, outcome=None)
    signals.publish(signals.event_emitted, Flask("other"), emitted)
    log.close()

    assert read_records(log_path) == []


def test_close_stops_recording_emits(
    app: Flask, sockevents: FakeSockEvents, log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, sockevents, emits=True)
    log.close()
    signals.publish(signals.event_emitted, app, make_event("news", kind=EventKind.EMIT))

    assert log.errors == 0
    assert read_records(log_path) == []


# -- bounded work and space, whatever the client sends ----------------------------


def test_a_900_kb_event_name_and_namespace_are_cut_with_a_marker(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    name, namespace = "n" * 900_000, "/" + "s" * 900_000
    audit(make_event(name, namespace=namespace, outcome=Outcome.REJECTED, reason="r" * 900_000))

    (record,) = read_records(log_path)
    assert record["event"] == "n" * 256 + "…[+899744 chars]"
    assert record["namespace"] == "/" + "s" * 255 + "…[+899745 chars]"
    assert record["reason"] == "r" * 256 + "…[+899744 chars]"
    assert log_path.stat().st_size < 4096


def test_the_field_length_is_configurable(log_path: Path, make_event: MakeEvent):
    log = AuditLog(log_path, max_field_length=8)
    log(make_event("abcdefghijkl"))
    log.close()

    assert read_records(log_path)[0]["event"] == "abcdefgh…[+4 chars]"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_record_stays_one_line_for_str_splitlines(
    audit: AuditLog, log_path: Path, make_event: MakeEvent, separator: str
):
    audit(make_event(f"a{separator}b", f"text{separator}more", namespace=f"/x{separator}y"))
    audit(make_event("next"))

    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert (first["event"], first["namespace"]) == (f"a{separator}b", f"/x{separator}y")


def test_a_body_whose_packet_is_over_max_digest_bytes_is_not_examined(
    log_path: Path, make_event: MakeEvent
):
    examined: list[int] = []

    class Counted:
        def __repr__(self) -> str:
            examined.append(1)
            return "counted"

    log = AuditLog(log_path, payloads=True, max_digest_bytes=1000)
    log(make_event("big", [Counted() for _ in range(10)], size=2000))
    log.close()

    (record,) = read_records(log_path)
    assert examined == []
    assert record["sha256"] is None
    assert record["args"] == {"$truncated": 2000}


def test_a_body_of_unknown_size_is_examined_only_up_to_max_digest_bytes(
    log_path: Path, make_event: MakeEvent
):
    examined: list[int] = []

    class Counted:
        def __repr__(self) -> str:
            examined.append(1)
            return "counted"  # 7 characters: about 140 fit in 1000 bytes

    log = AuditLog(log_path, max_digest_bytes=1000)
    log(make_event("big", [Counted() for _ in range(100_000)]))
    log.close()

    assert 0 < len(examined) <= 1000 // len("counted") + 1
    assert read_records(log_path)[0]["sha256"] is None


def test_a_body_under_max_digest_bytes_is_still_hashed_and_redacted(
    log_path: Path, make_event: MakeEvent
):
    log = AuditLog(log_path, payloads=True, max_digest_bytes=1000)
    log(make_event("login", {"password": "hunter2", "user": "ann"}, size=60))
    log.close()

    (record,) = read_records(log_path)
    assert record["args"] == [{"password": "[redacted]", "user": "ann"}]
    assert record["sha256"] == canonical_sha256([{"password": "[redacted]", "user": "ann"}])


def test_a_failure_record_names_the_exception_but_never_its_text(
    audit: AuditLog, log_path: Path, make_event: MakeEvent
):
    error = ValueError("bad password 'hunter2'")
    audit(make_event("login", outcome=Outcome.FAILED, reason="ValueError", error=error))

    assert "hunter2" not in log_path.read_text()
    assert read_records(log_path)[0]["error"] == "ValueError"


def test_records_carry_the_transport(audit: AuditLog, log_path: Path, make_event: MakeEvent):
    audit(make_event("x", transport="eio-1"))

    assert read_records(log_path)[0]["transport"] == "eio-1"
