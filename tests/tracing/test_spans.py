"""Tracing on a live server: a span per connect, event, disconnect and emit, with the client's
trace as parent, the handler's work as children, and the outcome as attributes and status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
import websocket
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from flask_sockevents import Event, Reject, SockEvents, emit
from flask_sockevents.listeners.tracing import UNDECLARED_EMIT, UNROUTED
from flask_sockevents.testing import LiveServer

from .conftest import TIMEOUT, Spans

Connect = Callable[..., socketio.Client]

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"
NPM_CLIENT = Path(__file__).with_name("npm_client.js")
SOCKETIO_CLIENT = (
    Path(__file__).parents[2] / "examples" / "chat" / "node_modules" / "socket.io-client"
)


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def assert_continues_the_client_trace(span: ReadableSpan) -> None:
    assert span.context is not None
    assert span.context.trace_id == TRACE_ID
    assert parent_id(span) == PARENT_ID
    assert span.parent is not None and span.parent.is_remote


@pytest.fixture
def chat(sockevents: SockEvents) -> None:
    @sockevents.on("chat")
    def on_chat(text: str) -> str:
        return text.upper()


def test_a_traceparent_in_the_handshake_headers_parents_every_span_of_the_connection(
    connect: Connect, spans: Spans, chat: None
) -> None:
    client = connect(headers={"traceparent": TRACEPARENT})
    assert client.call("chat", "hi", timeout=TIMEOUT) == "HI"
    client.disconnect()
    for name in ("connect", "/ chat", "disconnect"):
        (span,) = spans.wait_for(name)
        assert span.kind is SpanKind.SERVER
        assert_continues_the_client_trace(span)


def test_a_traceparent_in_the_query_string_parents_the_spans(
    connect: Connect, spans: Spans, chat: None
) -> None:
    client = connect(url_suffix=f"?traceparent={TRACEPARENT}")
    assert client.call("chat", "hi", timeout=TIMEOUT) == "HI"
    (span,) = spans.wait_for("/ chat")
    assert_continues_the_client_trace(span)


def test_a_traceparent_in_the_auth_of_the_npm_client_parents_its_spans(
    live: Callable[[], LiveServer], spans: Spans, chat: None
) -> None:
    node = shutil.which("node")
    if node is None or not SOCKETIO_CLIENT.is_dir():
        message = "needs node and the npm socket.io-client (make node-deps)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run it")
        pytest.skip(message)
    done = subprocess.run(
        [node, str(NPM_CLIENT), live().url, TRACEPARENT, "chat"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "HELLO"
    for name in ("connect", "/ chat", "disconnect"):
        (span,) = spans.wait_for(name)
        assert_continues_the_client_trace(span)


def test_without_a_traceparent_the_spans_of_a_client_are_roots(
    connect: Connect, spans: Spans, chat: None
) -> None:
    client = connect()
    assert client.call("chat", "hi", timeout=TIMEOUT) == "HI"
    (span,) = spans.wait_for("/ chat")
    assert span.parent is None


def test_a_malformed_traceparent_is_ignored(connect: Connect, spans: Spans, chat: None) -> None:
    client = connect(headers={"traceparent": "00-not-a-trace-01"})
    assert client.call("chat", "hi", timeout=TIMEOUT) == "HI"
    (span,) = spans.wait_for("/ chat")
    assert span.parent is None


def test_work_the_handler_does_and_its_emits_are_children_of_the_event_span(
    connect: Connect, spans: Spans, sockevents: SockEvents
) -> None:
    database = spans.provider.get_tracer("database")
    sockevents.emits("said")

    @sockevents.on("chat")
    def on_chat(text: str) -> str:
        with database.start_as_current_span("SELECT messages"):
            pass
        emit("said", text)
        return "ok"

    client = connect(headers={"traceparent": TRACEPARENT})
    assert client.call("chat", "hi", timeout=TIMEOUT) == "ok"
    (event_span,) = spans.wait_for("/ chat")
    (query,) = spans.named("SELECT messages")
    (emitted,) = spans.named("/ said")
    assert event_span.context is not None
    assert parent_id(query) == event_span.context.span_id
    assert parent_id(emitted) == event_span.context.span_id
    assert emitted.kind is SpanKind.PRODUCER
    assert emitted.attributes is not None
    assert emitted.attributes["messaging.operation.type"] == "send"


def test_the_span_is_current_while_guards_the_handler_and_listeners_run(
    connect: Connect, spans: Spans, sockevents: SockEvents
) -> None:
    current: dict[str, int] = {}

    def remember(where: str) -> None:
        current[where] = trace.get_current_span().get_span_context().span_id

    @sockevents.guard("chat")
    def guard(event: Event) -> None:
        remember("guard")

    @sockevents.on("chat")
    def on_chat(text: str) -> str:
        remember("handler")
        return text

    @sockevents.listen("chat")
    def listener(event: Event) -> None:
        remember("listener")

    client = connect()
    client.call("chat", "hi", timeout=TIMEOUT)
    (span,) = spans.wait_for("/ chat")
    assert span.context is not None
    assert current == dict.fromkeys(("guard", "handler", "listener"), span.context.span_id)


def test_span_names_are_routes_never_the_names_clients_choose(
    connect: Connect, spans: Spans, sockevents: SockEvents
) -> None:
    @sockevents.on("*", namespace="/any")
    def anything(name: str, *args: Any) -> str:
        return name

    @sockevents.on("room.*")
    def room(name: str, *args: Any) -> str:
        return name

    client = connect(namespaces=["/", "/any"])
    for number in range(3):
        client.emit(f"invented {number}", "x")  # unhandled: no acknowledgement
        client.call(f"room.{number}", "x", timeout=TIMEOUT)
        client.call(f"whatever {number}", "x", namespace="/any", timeout=TIMEOUT)
    spans.wait_for("/any *", count=3)
    spans.wait_for(UNROUTED, count=3)
    names = {span.name for span in spans.all()}
    assert names == {"connect", UNROUTED, "/ room.*", "/any *"}
    invented = spans.named(UNROUTED)
    assert sorted(s.attributes["sockevents.event"] for s in invented if s.attributes) == [
        "invented 0",
        "invented 1",
        "invented 2",
    ]


def test_the_attributes_follow_the_messaging_conventions(
    connect: Connect, spans: Spans, chat: None
) -> None:
    client = connect()
    client.call("chat", "hi", timeout=TIMEOUT)
    (span,) = spans.wait_for("/ chat")
    attributes = dict(span.attributes or {})
    assert attributes["messaging.system"] == "socket.io"
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.operation.name"] == "event"
    assert attributes["messaging.destination.name"] == "/"
    assert attributes["messaging.client.id"] == client.get_sid()
    assert attributes["messaging.message.body.size"] > 0
    assert attributes["client.address"] == "127.0.0.1"
    assert attributes["sockevents.namespace"] == "/"
    assert attributes["sockevents.event"] == "chat"
    assert attributes["sockevents.outcome"] == "handled"
    assert "sockevents.reason" not in attributes
    assert span.status.status_code is StatusCode.UNSET


@pytest.fixture
def outcomes(sockevents: SockEvents) -> None:
    @sockevents.on("fine")
    def fine() -> str:
        return "ok"

    @sockevents.guard("forbidden")
    def refuse(event: Event) -> None:
        raise Reject("not for you")

    @sockevents.on("forbidden")
    def forbidden() -> str:
        return "never"

    @sockevents.on("broken")
    def broken() -> None:
        raise ZeroDivisionError("the handler broke")


@pytest.mark.parametrize(
    ("event", "name", "outcome", "status", "reason", "error_type"),
    [
        ("fine", "/ fine", "handled", StatusCode.UNSET, None, None),
        ("nobody", UNROUTED, "unhandled", StatusCode.UNSET, None, None),
        ("forbidden", "/ forbidden", "rejected", StatusCode.ERROR, "not for you", "rejected"),
        (
            "broken",
            "/ broken",
            "failed",
            StatusCode.ERROR,
            "ZeroDivisionError",  # the reason carries no exception text unless error_text=True
            "ZeroDivisionError",
        ),
    ],
    ids=["handled", "unhandled", "rejected", "failed"],
)
def test_each_outcome_sets_its_attributes_and_status(
    connect: Connect,
    spans: Spans,
    outcomes: None,
    event: str,
    name: str,
    outcome: str,
    status: StatusCode,
    reason: str | None,
    error_type: str | None,
) -> None:
    client = connect()
    client.emit(event)
    (span,) = spans.wait_for(name)
    attributes = dict(span.attributes or {})
    assert attributes["sockevents.outcome"] == outcome
    assert attributes.get("sockevents.reason") == reason
    assert attributes.get("error.type") == error_type
    assert span.status.status_code is status
    assert span.status.description == (reason if status is StatusCode.ERROR else None)


def test_a_handlers_exception_is_recorded_on_its_span(
    connect: Connect, spans: Spans, outcomes: None
) -> None:
    client = connect()
    client.emit("broken")
    (span,) = spans.wait_for("/ broken")
    (recorded,) = [e for e in span.events if e.name == "exception"]
    assert recorded.attributes is not None
    assert recorded.attributes["exception.type"] == "ZeroDivisionError"
    assert recorded.attributes["exception.message"] == "the handler broke"


def test_a_refused_connect_is_an_error_span_followed_by_no_disconnect_span(
    connect: Connect, spans: Spans, sockevents: SockEvents, chat: None
) -> None:
    @sockevents.on("connect")
    def on_connect(auth: Any) -> bool:
        return bool(auth)

    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(headers={"traceparent": TRACEPARENT})
    connect(auth={"ok": True}).disconnect()
    spans.wait_for("disconnect")
    refused, accepted = spans.wait_for("/ connect", count=2)
    assert refused.status.status_code is StatusCode.ERROR
    assert (refused.attributes or {})["sockevents.outcome"] == "rejected"
    assert_continues_the_client_trace(refused)
    assert accepted.status.status_code is StatusCode.UNSET
    assert len(spans.named("disconnect")) == 1


def test_an_emit_outside_any_event_is_a_root_producer_span(
    app: Any, spans: Spans, sockevents: SockEvents
) -> None:
    sockevents.emits("news", namespace="/feed")
    sockevents.emit("news", "hello", namespace="/feed")
    sockevents.emit("gossip", "psst")
    (news,) = spans.named("/feed news")
    (gossip,) = spans.named(UNDECLARED_EMIT)
    for span in (news, gossip):
        assert span.kind is SpanKind.PRODUCER
        assert span.parent is None
    assert (gossip.attributes or {})["sockevents.event"] == "gossip"


def test_a_refused_second_connect_keeps_the_trace_of_the_first_for_later_events(
    live: Callable[[], LiveServer], spans: Spans, chat: None
) -> None:
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    url = live().url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=TIMEOUT)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40" + json.dumps({"traceparent": TRACEPARENT}))
        assert ws.recv().startswith('40{"sid":')
        ws.send("40" + json.dumps({"traceparent": other}))  # refused: already connected
        ws.send('421["chat","hi"]')
        assert ws.recv() == '431["HI"]'
    finally:
        ws.close()
    connects = spans.wait_for("connect", count=2)
    assert sorted(parent_id(s) or 0 for s in connects) == [PARENT_ID, 0x2222222222222222]
    (span,) = spans.wait_for("/ chat")
    assert_continues_the_client_trace(span)
