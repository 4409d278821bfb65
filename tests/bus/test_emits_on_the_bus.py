"""Server emits on the bus: emit listeners, then ``event_emitted`` once, sized from the wire."""

from __future__ import annotations

from typing import Any

import socketio
from flask import Flask

from flask_sockevents import Bus, Event, EventKind, SockEvents, emit, signals
from flask_sockevents.testing import LiveServer, record_signals, wait_for

from .conftest import SignalLog


def _emit_event(name: str, *args: Any, namespace: str = "/") -> Event:
    return Event(EventKind.EMIT, namespace, name, args=args, size=12)


def test_an_emit_reaches_the_emit_listeners_of_its_name_and_then_event_emitted(
    bus: Bus, sent: SignalLog
) -> None:
    seen: list[tuple[str, Event]] = []
    bus.listen("news", listener=lambda e: seen.append(("news", e)), emits=True)
    bus.listen("news*", listener=lambda e: seen.append(("news*", e)), emits=True)
    bus.listen("sport", listener=lambda e: seen.append(("sport", e)), emits=True)
    emitted = _emit_event("news", "hello")

    bus.publish_emit(emitted)

    assert seen == [("news", emitted), ("news*", emitted)]
    assert sent.names == ["event-emitted"]
    assert sent.of(signals.event_emitted) == [emitted]


def test_client_event_listeners_do_not_see_emits_and_emit_listeners_do_not_see_events(
    bus: Bus,
) -> None:
    events: list[Event] = []
    emits: list[Event] = []
    bus.listen("*", listener=events.append)
    bus.listen("*", listener=emits.append, emits=True)

    bus.publish(Event(EventKind.EVENT, "/", "news", "sid"))
    bus.publish_emit(_emit_event("news"))

    assert [e.kind for e in events] == [EventKind.EVENT]
    assert [e.kind for e in emits] == [EventKind.EMIT]


def test_an_emit_listener_that_raises_is_counted_and_the_others_still_run(bus: Bus) -> None:
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("broken listener")

    bus.listen("*", listener=broken, emits=True)
    bus.listen("*", listener=seen.append, emits=True)

    bus.publish_emit(_emit_event("news"))

    assert len(seen) == 1
    assert bus.listener_errors == 1


def test_remove_unsubscribes_an_emit_listener(bus: Bus) -> None:
    seen: list[Event] = []
    bus.listen("*", listener=seen.append, emits=True)

    assert bus.remove(seen.append) == 1
    bus.publish_emit(_emit_event("news"))

    assert seen == []


def _app_pushing_news() -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    sockevents = SockEvents(app)

    @sockevents.on("push")
    def push(text: str) -> None:
        emit("news", text)

    return app, sockevents


def test_a_server_emit_is_seen_once_by_listen_emits_and_once_by_event_emitted() -> None:
    app, sockevents = _app_pushing_news()
    heard: list[Event] = []
    sockevents.listen("news", emits=True)(heard.append)
    client = sockevents.test_client(app)

    with record_signals(app) as record:
        client.emit("push", "extra!")

    assert [(e.kind, e.name, e.args) for e in heard] == [(EventKind.EMIT, "news", ("extra!",))]
    assert record.names().count("event_emitted") == 1
    assert record.events("event_emitted") == heard


def test_an_emit_size_is_the_encoded_packet_the_client_received() -> None:
    app, sockevents = _app_pushing_news()
    heard: list[Event] = []
    sockevents.listen("news", emits=True)(heard.append)
    client = sockevents.test_client(app)
    encoded = socketio.packet.Packet(socketio.packet.EVENT, data=["news", "extra!"]).encode()

    client.emit("push", "extra!")

    assert heard[0].size == len(encoded)


def test_an_emit_with_binary_data_is_sized_with_its_attachments() -> None:
    app, sockevents = _app_pushing_news()
    heard: list[Event] = []
    sockevents.listen("news", emits=True)(heard.append)
    client = sockevents.test_client(app)
    parts = socketio.packet.Packet(socketio.packet.EVENT, data=["news", b"\x00" * 100]).encode()

    client.emit("push", b"\x00" * 100)

    assert heard[0].size == sum(len(part) for part in parts)


def test_a_live_server_publishes_the_emits_a_network_client_receives() -> None:
    app, sockevents = _app_pushing_news()
    heard: list[Event] = []
    sockevents.listen("news", emits=True)(heard.append)
    received: list[Any] = []
    client = socketio.Client()
    client.on("news", received.append)
    with LiveServer(app) as live:
        client.connect(live.url, transports=["websocket"])
        try:
            client.emit("push", "over the wire")
            wait_for(lambda: received and heard)
        finally:
            client.disconnect()

    assert received == ["over the wire"]
    assert [e.args for e in heard] == [("over the wire",)]
