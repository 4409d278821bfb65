"""python-socketio's server API through ``sockevents.server``: the same app, the same outcome.

Every test registers its handlers with python-socketio's API (``server.on``,
``@server.event``, ``server.register_namespace``) and runs twice: against
python-socketio's own ``socketio.Server`` and against ``sockevents.server``
(see ``_socketio_servers.py``), with python-socketio's real ``Client``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from adversarial._raw import RawWebSocket
from flask import Flask
from integration._support import TIMEOUT, Clients, wait_for

from flask_sockevents import Event, EventKind, Reject, SockEvents

from ._socketio_servers import IMPLEMENTATIONS, ServerUnderTest


@pytest.fixture(params=IMPLEMENTATIONS)
def target(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """python-socketio's server or ours, not started yet."""
    served = ServerUnderTest(request.param)
    yield served
    served.stop()


@pytest.fixture
def clients() -> Iterator[Clients]:
    """python-socketio clients over websocket, disconnected at the end of the test."""
    made = Clients(["websocket"])
    yield made
    made.close_all()


def _connect_error(target: ServerUnderTest, clients: Clients, **options: Any) -> Any:
    """Connect a client that must be refused; return the data of its ``connect_error``."""
    client = clients.new()
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(target.url, client, **options)
    wait_for(lambda: errors)
    return errors[0]


# -- event handlers ------------------------------------------------------------


def test_handler_gets_the_sid_first_and_its_return_value_is_the_ack(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[str] = []

    def add(sid: str, a: int, b: int) -> int:
        seen.append(sid)
        return a + b

    target.server.on("add", add)
    client = clients.connect(target.url)

    assert client.call("add", (2, 3), timeout=TIMEOUT) == 5
    assert seen == [client.get_sid()]


def test_on_used_as_a_decorator_registers_the_handler(
    target: ServerUnderTest, clients: Clients
) -> None:
    @target.server.on("shout")
    def shout(sid: str, text: str) -> str:
        return text.upper()

    client = clients.connect(target.url)

    assert client.call("shout", "hi", timeout=TIMEOUT) == "HI"


def test_event_decorator_names_the_handler_after_the_function(
    target: ServerUnderTest, clients: Clients
) -> None:
    @target.server.event
    def greet(sid: str, name: str) -> str:
        return f"hello {name}"

    client = clients.connect(target.url)

    assert client.call("greet", "ada", timeout=TIMEOUT) == "hello ada"


def test_event_decorator_with_a_namespace_registers_in_that_namespace(
    target: ServerUnderTest, clients: Clients
) -> None:
    @target.server.event(namespace="/chat")
    def where(sid: str) -> str:
        return "chat"

    client = clients.connect(target.url, namespaces=["/chat"])

    assert client.call("where", namespace="/chat", timeout=TIMEOUT) == "chat"


def test_tuple_returned_by_a_handler_is_acknowledged_as_several_arguments(
    target: ServerUnderTest, clients: Clients
) -> None:
    target.server.on("pair", lambda sid: ("left", "right"))
    client = clients.connect(target.url)
    answers: list[tuple[Any, ...]] = []

    client.emit("pair", callback=lambda *args: answers.append(args))

    wait_for(lambda: answers)
    assert answers == [("left", "right")]


def test_handler_emits_to_the_client_by_sid(target: ServerUnderTest, clients: Clients) -> None:
    server = target.server

    @server.on("ask")
    def ask(sid: str, question: str) -> None:
        server.emit("answer", {"to": question}, to=sid)

    client = clients.new()
    answers: list[Any] = []
    client.on("answer", answers.append)
    clients.connect(target.url, client)

    client.emit("ask", "why")

    wait_for(lambda: answers)
    assert answers == [{"to": "why"}]


def test_session_saved_by_one_handler_is_read_by_the_next(
    target: ServerUnderTest, clients: Clients
) -> None:
    server = target.server

    @server.on("login")
    def login(sid: str, name: str) -> None:
        server.save_session(sid, {"name": name})

    @server.on("rename")
    def rename(sid: str, name: str) -> None:
        with server.session(sid) as session:
            session["name"] = name

    server.on("whoami", lambda sid: server.get_session(sid)["name"])
    client = clients.connect(target.url)

    client.call("login", "ada", timeout=TIMEOUT)
    first = client.call("whoami", timeout=TIMEOUT)
    client.call("rename", "grace", timeout=TIMEOUT)

    assert (first, client.call("whoami", timeout=TIMEOUT)) == ("ada", "grace")


def test_handler_calls_the_client_and_acknowledges_with_its_answer(
    target: ServerUnderTest, clients: Clients
) -> None:
    server = target.server

    @server.on("relay")
    def relay(sid: str, question: str) -> Any:
        return server.call("question", question, to=sid, timeout=TIMEOUT)

    client = socketio.Client(reconnection=False)  # answers on its own thread, unlike InOrderClient
    clients.made.append(client)  # type: ignore[arg-type]
    client.on("question", lambda text: text[::-1])
    clients.connect(target.url, client)  # type: ignore[arg-type]

    assert client.call("relay", "stressed", timeout=TIMEOUT) == "desserts"


def test_catch_all_handler_gets_the_event_name_first(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[tuple[Any, ...]] = []

    @target.server.on("*")
    def anything(event: str, sid: str, *args: Any) -> str:
        seen.append((event, sid, args))
        return event

    client = clients.connect(target.url)

    assert client.call("whatever", (1, 2), timeout=TIMEOUT) == "whatever"
    assert seen == [("whatever", client.get_sid(), (1, 2))]


def test_catch_all_namespace_handler_gets_the_namespace_first(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[tuple[Any, ...]] = []

    @target.server.on("where", namespace="*")
    def where(namespace: str, sid: str, data: Any) -> str:
        seen.append((namespace, sid, data))
        return namespace

    client = clients.connect(target.url)

    assert client.call("where", "x", timeout=TIMEOUT) == "/"
    assert seen == [("/", client.get_sid(), "x")]


def test_handler_registered_while_clients_are_connected_answers_their_next_event(
    target: ServerUnderTest, clients: Clients
) -> None:
    target.server.on("first", lambda sid: "first")
    client = clients.connect(target.url)
    assert client.call("first", timeout=TIMEOUT) == "first"

    target.server.on("later", lambda sid: "later")

    assert client.call("later", timeout=TIMEOUT) == "later"


# -- connect and disconnect -------------------------------------------------------


@pytest.mark.parametrize("namespace", ["/", "/chat"])
def test_connect_answer_on_the_wire_is_the_namespace_and_the_sid_as_compact_json(
    target: ServerUnderTest, namespace: str
) -> None:
    target.server.on("connect", lambda sid, environ: None, namespace=namespace)
    port = int(target.url.rsplit(":", 1)[1])
    ws = RawWebSocket(port)
    try:
        prefix = "40" if namespace == "/" else f"40{namespace},"
        ws.send_text(prefix)
        answer = ws.recv_text()
    finally:
        ws.close()

    sid = answer[len(prefix) :][len('{"sid":"') : -len('"}')]
    assert answer == prefix + '{"sid":"' + sid + '"}'
    assert len(sid) == 20
    assert set(sid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_connect_handler_gets_sid_environ_and_auth(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[tuple[Any, ...]] = []

    @target.server.on("connect")
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        seen.append((sid, environ["PATH_INFO"], environ["REMOTE_ADDR"], auth))

    client = clients.connect(target.url, auth={"token": "t0k"})

    assert seen == [(client.get_sid(), "/socket.io/", "127.0.0.1", {"token": "t0k"})]


def test_connect_handler_taking_two_arguments_gets_sid_and_environ(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[tuple[str, str]] = []

    @target.server.event
    def connect(sid: str, environ: dict[str, Any]) -> None:
        seen.append((sid, environ["REQUEST_METHOD"]))

    client = clients.connect(target.url)

    assert seen == [(client.get_sid(), "GET")]


def test_connect_handler_returning_false_refuses_the_connection(
    target: ServerUnderTest, clients: Clients
) -> None:
    target.server.on("connect", lambda sid, environ, auth: False)

    assert _connect_error(target, clients) == {"message": "Connection rejected by server"}


def test_connect_handler_raising_connection_refused_error_refuses_with_its_message(
    target: ServerUnderTest, clients: Clients
) -> None:
    @target.server.on("connect")
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        if auth != {"password": "right"}:
            raise socketio.exceptions.ConnectionRefusedError("bad password", {"retry": False})

    refused = _connect_error(target, clients, auth={"password": "wrong"})
    accepted = clients.connect(target.url, auth={"password": "right"})

    assert refused == {"message": "bad password", "data": {"retry": False}}
    assert accepted.connected


def test_disconnect_handler_gets_sid_and_reason(target: ServerUnderTest, clients: Clients) -> None:
    seen: list[tuple[str, str]] = []

    @target.server.on("disconnect")
    def disconnect(sid: str, reason: str) -> None:
        seen.append((sid, reason))

    client = clients.connect(target.url)
    sid = client.get_sid()
    client.disconnect()

    wait_for(lambda: seen)
    [(disconnected_sid, reason)] = seen
    assert disconnected_sid == sid
    # python-socketio handles each message in its own greenlet, so the client's
    # DISCONNECT packet and the transport's close race there: either reason.
    reason_values = target.server.reason
    assert reason in (reason_values.CLIENT_DISCONNECT, reason_values.TRANSPORT_CLOSE)


def test_disconnect_handler_taking_only_the_sid_is_called(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[str] = []
    target.server.on("disconnect", seen.append)

    client = clients.connect(target.url)
    sid = client.get_sid()
    client.disconnect()

    wait_for(lambda: seen)
    assert seen == [sid]


def test_server_disconnect_from_a_handler_calls_the_disconnect_handler(
    target: ServerUnderTest, clients: Clients
) -> None:
    server = target.server
    seen: list[tuple[str, str]] = []
    server.on("leave", lambda sid: server.disconnect(sid))
    server.on("disconnect", lambda sid, reason: seen.append((sid, reason)))

    client = clients.connect(target.url)
    sid = client.get_sid()
    client.emit("leave")

    wait_for(lambda: seen and not client.connected)
    assert seen == [(sid, server.reason.SERVER_DISCONNECT)]


# -- class-based namespaces ----------------------------------------------------------


class Chat(socketio.Namespace):
    """A python-socketio namespace: methods get ``sid`` first."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.calls: list[tuple[Any, ...]] = []

    def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        self.calls.append(("connect", sid, auth))
        self.enter_room(sid, "lobby")

    def on_say(self, sid: str, text: str) -> str:
        self.emit("said", text, room="lobby")
        return f"{sid}:{text}"

    def on_rooms(self, sid: str) -> list[str]:
        return sorted(self.rooms(sid))

    def on_disconnect(self, sid: str, reason: str) -> None:
        self.calls.append(("disconnect", sid, reason))


def test_namespace_methods_get_the_sid_and_answer_with_their_return_value(
    target: ServerUnderTest, clients: Clients
) -> None:
    chat = Chat("/chat")
    target.server.register_namespace(chat)
    client = clients.new()
    said: list[str] = []
    client.on("said", said.append, namespace="/chat")
    clients.connect(target.url, client, namespaces=["/chat"], auth={"who": "ada"})
    sid = client.get_sid("/chat")

    answer = client.call("say", "hi", namespace="/chat", timeout=TIMEOUT)
    rooms = client.call("rooms", namespace="/chat", timeout=TIMEOUT)
    client.disconnect()

    wait_for(lambda: len(chat.calls) == 2)
    assert answer == f"{sid}:hi"
    assert said == ["hi"]
    assert rooms == sorted(["lobby", sid])
    assert chat.calls[0] == ("connect", sid, {"who": "ada"})
    assert chat.calls[1][:2] == ("disconnect", sid)


def test_namespace_connect_method_without_auth_parameter_is_called(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[str] = []

    class Legacy(socketio.Namespace):
        def on_connect(self, sid: str, environ: dict[str, Any]) -> None:
            seen.append(sid)

        def on_disconnect(self, sid: str) -> None:
            seen.append("gone")

    target.server.register_namespace(Legacy("/legacy"))
    client = clients.connect(target.url, namespaces=["/legacy"])
    sid = client.get_sid("/legacy")
    client.disconnect()

    wait_for(lambda: len(seen) == 2)
    assert seen == [sid, "gone"]


def test_namespace_connect_method_returning_false_refuses(
    target: ServerUnderTest, clients: Clients
) -> None:
    class Closed(socketio.Namespace):
        def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
            return False

    target.server.register_namespace(Closed("/"))

    assert _connect_error(target, clients) == {"message": "Connection rejected by server"}


def test_namespace_overriding_trigger_event_sees_every_event(
    target: ServerUnderTest, clients: Clients
) -> None:
    seen: list[tuple[Any, ...]] = []

    class Everything(socketio.Namespace):
        def trigger_event(self, event: str, *args: Any) -> Any:
            seen.append((event, *args[1:]) if event != "connect" else (event,))
            return f"seen {event}"

    target.server.register_namespace(Everything("/all"))
    client = clients.connect(target.url, namespaces=["/all"])

    assert client.call("anything", 7, namespace="/all", timeout=TIMEOUT) == "seen anything"
    assert seen == [("connect",), ("anything", 7)]


def test_namespace_event_without_a_method_is_acknowledged_with_nothing(
    target: ServerUnderTest, clients: Clients
) -> None:
    target.server.register_namespace(Chat("/chat"))
    client = clients.connect(target.url, namespaces=["/chat"])

    assert client.call("no_such_method", namespace="/chat", timeout=TIMEOUT) is None


def test_register_namespace_refuses_what_is_not_a_namespace(target: ServerUnderTest) -> None:
    with pytest.raises(ValueError):
        target.server.register_namespace(object())


# -- client_manager ---------------------------------------------------------------------


class RecordingManager(socketio.Manager):
    """A client manager that records the rooms clients enter."""

    def __init__(self) -> None:
        super().__init__()
        self.entered: list[tuple[str, str]] = []

    def enter_room(self, sid: str, namespace: str, room: str, eio_sid: str | None = None) -> Any:
        if room != sid:
            self.entered.append((namespace, room))
        return super().enter_room(sid, namespace, room, eio_sid=eio_sid)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_client_manager_instance_keeps_the_rooms(implementation: str, clients: Clients) -> None:
    manager = RecordingManager()
    target = ServerUnderTest(implementation, client_manager=manager)
    server = target.server

    @server.on("join")
    def join(sid: str, room: str) -> None:
        server.enter_room(sid, room)
        server.emit("joined", room, room=room)

    client = clients.new()
    joined: list[str] = []
    client.on("joined", joined.append)
    try:
        clients.connect(target.url, client)
        client.emit("join", "lobby")
        wait_for(lambda: joined)
    finally:
        client.disconnect()
        target.stop()

    assert server.manager is manager
    assert manager.entered == [("/", "lobby")]
    assert joined == ["lobby"]


# -- the handler tables ---------------------------------------------------------------


def test_handlers_table_lists_the_registered_handlers(target: ServerUnderTest) -> None:
    def add(sid: str, a: int, b: int) -> int:
        return a + b

    def anything(event: str, sid: str) -> None:
        return None

    target.server.on("add", add)
    target.server.on("*", anything, namespace="/chat")

    assert target.server.handlers["/"]["add"] is add
    assert target.server.handlers["/chat"]["*"] is anything


def test_namespace_handlers_table_lists_the_registered_namespaces(
    target: ServerUnderTest,
) -> None:
    chat = Chat("/chat")
    target.server.register_namespace(chat)

    assert target.server.namespace_handlers["/chat"] is chat


# -- the bus sees python-socketio handlers (ours only) -------------------------------


@pytest.fixture
def ours() -> Iterator[ServerUnderTest]:
    """``sockevents.server``, not started yet."""
    served = ServerUnderTest("sockevents")
    yield served
    served.stop()


def test_listener_sees_the_events_of_a_handler_registered_on_the_server(
    ours: ServerUnderTest, clients: Clients
) -> None:
    assert ours.sockevents is not None
    seen: list[Event] = []
    ours.sockevents.listen("*", namespace="*")(seen.append)
    ours.server.on("add", lambda sid, a, b: a + b)

    client = clients.connect(ours.url)
    assert client.call("add", (1, 2), timeout=TIMEOUT) == 3

    [event] = [e for e in seen if e.kind is EventKind.EVENT]
    assert (event.name, event.args, event.ack, event.outcome.value) == (
        "add",
        (1, 2),
        3,
        "handled",
    )
    assert [e.kind for e in seen if e.kind is EventKind.CONNECT] == [EventKind.CONNECT]


def test_guard_vetoes_events_of_a_handler_registered_on_the_server(
    ours: ServerUnderTest, clients: Clients
) -> None:
    assert ours.sockevents is not None
    ran: list[str] = []
    ours.server.on("delete", lambda sid: ran.append(sid))

    @ours.sockevents.guard("delete")
    def no_deleting(event: Event) -> None:
        raise Reject("read-only")

    client = clients.connect(ours.url)

    assert client.call("delete", timeout=TIMEOUT) == {"error": "rejected", "reason": "read-only"}
    assert ran == []


def test_guard_vetoes_the_connect_of_a_handler_registered_on_the_server(
    ours: ServerUnderTest, clients: Clients
) -> None:
    assert ours.sockevents is not None
    ran: list[str] = []
    ours.server.on("connect", lambda sid, environ: ran.append(sid))
    ours.sockevents.guard("connect")(lambda event: False)

    assert _connect_error(ours, clients) == {"message": "rejected by guard"}
    assert ran == []


def test_extension_handlers_appear_in_the_servers_handler_table(ours: ServerUnderTest) -> None:
    assert ours.sockevents is not None

    @ours.sockevents.on("chat")
    def chat(text: str) -> None:
        return None

    assert ours.server.handlers["/"]["chat"] is chat


def test_handler_table_cannot_be_changed_behind_the_bus(ours: ServerUnderTest) -> None:
    with pytest.raises(TypeError):
        ours.server.handlers["/"] = {}  # type: ignore[index]


def test_handlers_registered_on_the_server_answer_the_in_process_test_client() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    assert sockevents.server is not None
    connects: list[tuple[str, Any]] = []
    sockevents.server.on("connect", lambda sid, environ, auth: connects.append((sid, auth)))
    sockevents.server.on("add", lambda sid, a, b: a + b)

    client = sockevents.test_client(app, auth={"token": "t"})

    assert client.emit("add", 2, 3, callback=True) == 5
    [(sid, auth)] = connects
    assert auth == {"token": "t"}
    assert sid == sockevents.server.manager.sid_from_eio_sid(client.eio_sid, "/")


def test_handlers_registered_on_the_server_survive_a_new_init_app() -> None:
    sockevents = SockEvents()
    sockevents.init_app(Flask("first"))
    assert sockevents.server is not None

    def add(sid: str, a: int, b: int) -> int:
        return a + b

    sockevents.server.on("add", add)
    second = Flask("second")
    sockevents.init_app(second)
    client = sockevents.test_client(second)

    assert client.emit("add", 2, 3, callback=True) == 5
    assert sockevents.server.handlers["/"]["add"] is add
