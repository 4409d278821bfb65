"""Class-based namespaces: "Getting Started", section "Class-Based Namespaces"."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, session

from flask_sockevents import Namespace, SocketIO, emit, send


class MyCustomNamespace(Namespace):
    """The documentation's example namespace, with a few more events."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.calls: list[tuple[str, Any]] = []

    def on_connect(self) -> None:
        self.calls.append(("connect", request.namespace))
        emit("welcome", request.sid)

    def on_disconnect(self, reason: str) -> None:
        self.calls.append(("disconnect", reason))

    def on_my_event(self, data: Any) -> None:
        emit("my_response", data)

    def on_message(self, message: str) -> str:
        send(message)
        return message

    def on_json(self, data: dict[str, Any]) -> None:
        send(data, json=True)

    def on_add(self, a: int, b: int) -> int:
        return a + b

    def on_remember(self, value: str) -> None:
        session["remembered"] = value

    def on_recall(self) -> str:
        return session["remembered"]

    def on_event_info(self, *args: Any) -> list[Any]:
        return [request.event["message"], list(request.event["args"])]


def test_connect_method_runs_on_connection_to_the_namespace(app: Flask, socketio: SocketIO) -> None:
    namespace = MyCustomNamespace("/test")
    socketio.on_namespace(namespace)

    client = socketio.test_client(app, namespace="/test")

    assert client.is_connected("/test")
    assert namespace.calls == [("connect", "/test")]
    [welcome] = client.get_received("/test")
    assert welcome["name"] == "welcome"


def test_disconnect_method_receives_the_reason(app: Flask, socketio: SocketIO) -> None:
    namespace = MyCustomNamespace("/test")
    socketio.on_namespace(namespace)

    client = socketio.test_client(app, namespace="/test")
    client.disconnect(namespace="/test")

    assert namespace.calls[-1] == ("disconnect", SocketIO.reason.CLIENT_DISCONNECT)


def test_disconnect_method_without_reason_parameter_is_called(
    app: Flask, socketio: SocketIO
) -> None:
    calls: list[str] = []

    class LegacyNamespace(Namespace):
        def on_disconnect(self) -> None:
            calls.append(request.namespace)

    socketio.on_namespace(LegacyNamespace("/legacy"))
    client = socketio.test_client(app, namespace="/legacy")
    client.disconnect(namespace="/legacy")

    assert calls == ["/legacy"]


def test_connect_method_returning_false_refuses_the_connection(
    app: Flask, socketio: SocketIO
) -> None:
    class ClosedNamespace(Namespace):
        def on_connect(self, auth: Any) -> bool:
            return auth == {"key": "open"}

    socketio.on_namespace(ClosedNamespace("/closed"))

    assert not socketio.test_client(app, namespace="/closed").is_connected("/closed")
    assert socketio.test_client(app, namespace="/closed", auth={"key": "open"}).is_connected(
        "/closed"
    )


def test_event_is_dispatched_to_the_on_prefixed_method(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))
    client = socketio.test_client(app, namespace="/test")
    client.get_received("/test")

    client.emit("my_event", {"a": "b"}, namespace="/test")

    assert client.get_received("/test") == [
        {"name": "my_response", "args": [{"a": "b"}], "namespace": "/test"}
    ]


def test_method_return_value_is_the_ack(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))
    client = socketio.test_client(app, namespace="/test")

    assert client.emit("add", 2, 3, namespace="/test", callback=True) == 5


def test_message_and_json_methods_handle_send(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))
    client = socketio.test_client(app, namespace="/test")
    client.get_received("/test")

    ack = client.send("echo this", namespace="/test", callback=True)
    client.send({"a": "b"}, json=True, namespace="/test")

    assert ack == "echo this"
    assert client.get_received("/test") == [
        {"name": "message", "args": "echo this", "namespace": "/test"},
        {"name": "json", "args": {"a": "b"}, "namespace": "/test"},
    ]


def test_event_without_a_method_is_ignored(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))
    client = socketio.test_client(app, namespace="/test")
    client.get_received("/test")

    client.emit("no_such_method", 1, namespace="/test")

    assert client.is_connected("/test")
    assert client.get_received("/test") == []


def test_session_and_request_event_work_in_methods(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))
    client = socketio.test_client(app, namespace="/test")

    client.emit("remember", "blue", namespace="/test")

    assert client.emit("recall", namespace="/test", callback=True) == "blue"
    assert client.emit("event_info", "x", 1, namespace="/test", callback=True) == [
        "event_info",
        ["x", 1],
    ]


def test_decorated_handler_wins_over_the_namespace_method(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(MyCustomNamespace("/test"))

    @socketio.on("add", namespace="/test")
    def add(a: int, b: int) -> str:
        return "decorated"

    client = socketio.test_client(app, namespace="/test")

    assert client.emit("add", 2, 3, namespace="/test", callback=True) == "decorated"


def test_namespace_emit_without_room_reaches_every_client_of_the_namespace(
    app: Flask, socketio: SocketIO
) -> None:
    class Announcer(Namespace):
        def on_announce(self, text: str) -> None:
            self.emit("announcement", text)

    socketio.on_namespace(Announcer("/news"))
    sender = socketio.test_client(app, namespace="/news")
    reader = socketio.test_client(app, namespace="/news")
    sender.emit("announce", "extra!", namespace="/news")

    expected = [{"name": "announcement", "args": ["extra!"], "namespace": "/news"}]
    assert sender.get_received("/news") == expected
    assert reader.get_received("/news") == expected


def test_namespace_emit_and_send_with_room_reach_only_that_room(
    app: Flask, socketio: SocketIO
) -> None:
    class Private(Namespace):
        def on_reply(self, text: str) -> None:
            self.emit("reply", text, room=request.sid)
            self.send(text, room=request.sid)

    socketio.on_namespace(Private("/private"))
    sender = socketio.test_client(app, namespace="/private")
    other = socketio.test_client(app, namespace="/private")
    sender.emit("reply", "just you", namespace="/private")

    assert sender.get_received("/private") == [
        {"name": "reply", "args": ["just you"], "namespace": "/private"},
        {"name": "message", "args": "just you", "namespace": "/private"},
    ]
    assert other.get_received("/private") == []


def test_namespace_emit_with_include_self_false_skips_the_sender(
    app: Flask, socketio: SocketIO
) -> None:
    class Chat(Namespace):
        def on_say(self, text: str) -> None:
            self.emit("said", text, include_self=False)

    socketio.on_namespace(Chat("/chat"))
    sender = socketio.test_client(app, namespace="/chat")
    other = socketio.test_client(app, namespace="/chat")
    sender.emit("say", "hi", namespace="/chat")

    assert sender.get_received("/chat") == []
    assert other.get_received("/chat") == [{"name": "said", "args": ["hi"], "namespace": "/chat"}]


def test_namespace_room_helpers_default_to_the_namespace(app: Flask, socketio: SocketIO) -> None:
    class Rooms(Namespace):
        def on_join(self, room: str) -> list[str]:
            self.enter_room(request.sid, room)
            return sorted(self.rooms(request.sid))

        def on_leave(self, room: str) -> None:
            self.leave_room(request.sid, room)

        def on_say(self, room: str, text: str) -> None:
            self.emit("said", text, room=room)

        def on_close(self, room: str) -> None:
            self.close_room(room)

    socketio.on_namespace(Rooms("/rooms"))
    alice = socketio.test_client(app, namespace="/rooms")
    bob = socketio.test_client(app, namespace="/rooms")

    assert "lobby" in alice.emit("join", "lobby", namespace="/rooms", callback=True)
    bob.emit("join", "lobby", namespace="/rooms")
    bob.emit("say", "lobby", "one", namespace="/rooms")
    bob.emit("leave", "lobby", namespace="/rooms")
    bob.emit("say", "lobby", "two", namespace="/rooms")
    bob.emit("close", "lobby", namespace="/rooms")
    bob.emit("say", "lobby", "three", namespace="/rooms")

    assert [p["args"] for p in alice.get_received("/rooms")] == [["one"], ["two"]]
    assert bob.get_received("/rooms") == [{"name": "said", "args": ["one"], "namespace": "/rooms"}]


def test_namespace_disconnect_disconnects_the_client(app: Flask, socketio: SocketIO) -> None:
    class Bouncer(Namespace):
        def on_exit(self) -> None:
            self.disconnect(request.sid)

    socketio.on_namespace(Bouncer("/club"))
    leaving = socketio.test_client(app, namespace="/club")
    staying = socketio.test_client(app, namespace="/club")
    leaving.emit("exit", namespace="/club")

    assert not leaving.is_connected("/club")
    assert staying.is_connected("/club")


def test_error_method_of_the_namespace_handles_its_exceptions(
    app: Flask, socketio: SocketIO
) -> None:
    class Fragile(Namespace):
        def on_break(self) -> None:
            raise ValueError("broken")

        def error(self, exc: BaseException) -> str:
            return "namespace error: " + str(exc)

    socketio.on_namespace(Fragile("/fragile"))
    client = socketio.test_client(app, namespace="/fragile")

    assert client.emit("break", namespace="/fragile", callback=True) == "namespace error: broken"


def test_namespace_emit_takes_python_socketios_to_and_skip_sid(
    app: Flask, socketio: SocketIO
) -> None:
    class Direct(Namespace):
        def on_whisper(self, text: str) -> None:
            self.emit("whispered", text, to=request.sid)

        def on_shout(self, text: str) -> None:
            self.emit("shouted", text, skip_sid=request.sid)

    socketio.on_namespace(Direct("/direct"))
    sender = socketio.test_client(app, namespace="/direct")
    other = socketio.test_client(app, namespace="/direct")
    sender.emit("whisper", "psst", namespace="/direct")
    sender.emit("shout", "hey", namespace="/direct")

    assert sender.get_received("/direct") == [
        {"name": "whispered", "args": ["psst"], "namespace": "/direct"}
    ]
    assert other.get_received("/direct") == [
        {"name": "shouted", "args": ["hey"], "namespace": "/direct"}
    ]
