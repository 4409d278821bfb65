"""Every private attribute of a dependency that flask_sockevents relies on, in one place.

python-engineio, python-socketio, gevent-websocket, Flask and werkzeug offer
no public hook for some of what this package does (holding packets while a
connect handler runs, charging every packet a budget, refusing a websocket
upgrade with an HTTP answer, driving the in-process test client). Each reach
into a private name is listed in :data:`CONTRACTS`, with the releases it was
checked against and what the package needs from it; the reaches made on
another object go through the functions below, so that a reader finds them
here and nowhere else. ``tests/test_dependency_contracts.py`` checks every
contract against the installed releases and says which one broke and where
to look.

Kinds of contract:

- ``call``: the package calls the attribute (directly or through a function
  here) with the parameters listed;
- ``override``: a subclass in this package replaces the method; the base
  must still have it, with the parameters listed, or the override is
  silently never called;
- ``attribute``: a plain attribute the package reads or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECKED_AGAINST",
    "CONTRACTS",
    "Contract",
    "add_test_cookies",
    "cors_allowed_origins",
    "open_socket",
    "request_environ",
    "run_with_reloader",
    "set_namespace_server",
    "socketio_connect_times",
]

#: The releases every contract below was last checked against.
CHECKED_AGAINST = {
    "python-engineio": "4.15.1",
    "python-socketio": "5.18.1",
    "gevent-websocket": "0.10.1",
    "gevent": "26.9.0",
    "flask": "3.1.3",
    "werkzeug": "3.1.9",
}


@dataclass(frozen=True)
class Contract:
    """One private attribute of a dependency, and what flask_sockevents expects of it.

    :param package: the distribution that provides it (``python-engineio``).
    :param owner: the dotted path of the class or module that has it.
    :param name: the attribute's name.
    :param kind: ``"call"``, ``"override"`` or ``"attribute"`` (see the module).
    :param parameters: the parameter names expected, ``self`` first for a
        method (``None`` for an attribute).
    :param used_by: where flask_sockevents relies on it.
    :param why: what breaks if it changes.
    """

    package: str
    owner: str
    name: str
    kind: str
    parameters: tuple[str, ...] | None
    used_by: str
    why: str


def _c(package: str, owner: str, name: str, kind: str, parameters: str | None, used_by: str,
       why: str) -> Contract:  # fmt: skip
    params = None if parameters is None else tuple(p for p in parameters.split() if p)
    return Contract(package, owner, name, kind, params, used_by, why)


_EIO = "python-engineio"
_SIO = "python-socketio"

#: Every private attribute of a dependency relied on, one :class:`Contract` each.
CONTRACTS: tuple[Contract, ...] = (
    # python-engineio: the server
    _c(_EIO, "engineio.Server", "_get_socket", "call", "self sid",
       "dependencies.open_socket (reader._drop, admin_ui)",
       "finding a session's socket to close it or read its transport"),
    _c(_EIO, "engineio.Server", "_cors_allowed_origins", "call", "self environ",
       "dependencies.cors_allowed_origins (reader.handshake_refusal), "
       "engine.EngineIOServer._plain_websocket_handshake",
       "refusing a cross-origin websocket upgrade with HTTP 400 before upgrading"),
    _c(_EIO, "engineio.Server", "_handle_connect", "override",
       "self environ start_response transport jsonp_index",
       "engine.EngineIOServer._handle_connect", "the handshake with this package's socket class"),
    _c(_EIO, "engineio.Server", "_trigger_event", "call", "self event *args **kwargs",
       "engine.EngineIOServer._handle_connect", "running the connect handler during the handshake"),
    _c(_EIO, "engineio.Server", "_bad_request", "call", "self message",
       "engine.EngineIOServer.handle_request", "answering a refused request with HTTP 400"),
    _c(_EIO, "engineio.Server", "_unauthorized", "call", "self message",
       "engine.EngineIOServer._handle_connect", "answering a refused handshake with HTTP 401"),
    _c(_EIO, "engineio.Server", "_ok", "call", "self packets headers jsonp_index",
       "engine.EngineIOServer._handle_connect", "answering the polling handshake"),
    _c(_EIO, "engineio.Server", "_generate_sid_cookie", "call", "self sid attributes",
       "engine.EngineIOServer._handle_connect", "the sid cookie of the handshake"),
    _c(_EIO, "engineio.Server", "_log_error_once", "call", "self message message_key",
       "engine.EngineIOServer.handle_request", "logging a refused request once"),
    _c(_EIO, "engineio.Server", "_cors_headers", "call", "self environ",
       "engine.EngineIOServer.handle_request, engine.EngineIOServer._http_answer",
       "CORS headers on a refusal"),
    _c(_EIO, "engineio.Server", "_gzip", "call", "self response",
       "engine.EngineIOServer._http_answer",
       "a refused plain websocket handshake's answer compressed as python-engineio does"),
    _c(_EIO, "engineio.Server", "_deflate", "call", "self response",
       "engine.EngineIOServer._http_answer",
       "a refused plain websocket handshake's answer compressed as python-engineio does"),
    _c(_EIO, "engineio.Server", "_upgrades", "call", "self sid transport",
       "engine.EngineIOServer.handshake_data", "the OPEN packet's upgrades"),
    _c(_EIO, "engineio.Server", "_service_task", "call", "self",
       "engine.EngineIOServer._handle_connect", "starting the ping monitor with the first session"),
    _c(_EIO, "engineio.Server", "start_service_task", "attribute", None,
       "engine.EngineIOServer._handle_connect", "whether the ping monitor is yet to start"),
    _c(_EIO, "engineio.json", "_safe_int", "call", "s",
       "eventtext (the decoder of EVENT texts)",
       "integers of more than 100 digits refused as python-socketio's Packet refuses them"),
    # python-engineio: the session socket
    _c(_EIO, "engineio.socket.Socket", "_websocket_handler", "override", "self ws",
       "engine.EngineIOSocket, budget.BudgetedSocket",
       "the websocket transport's reader and writer (probe, budget, back-pressure)"),
    _c(_EIO, "engineio.socket.Socket", "_send_ping", "override", "self",
       "engine.EngineIOSocket._send_ping", "one heartbeat per session, run on timers"),
    # python-socketio: the server
    _c(_SIO, "socketio.Server", "_engineio_server_class", "override", "self",
       "server.Server", "the Engine.IO server with packet budgets"),
    _c(_SIO, "socketio.Server", "_handle_eio_connect", "override", "self eio_sid environ",
       "reader.Reader", "counting transports per address and starting the connect timer"),
    _c(_SIO, "socketio.Server", "_handle_eio_message", "override", "self eio_sid data",
       "reader.Reader, testing.SocketIOTestClient", "every packet a client sends"),
    _c(_SIO, "socketio.Server", "_handle_eio_disconnect", "override", "self eio_sid reason",
       "reader.Reader, admission.Admission._close_transport",
       "publishing the disconnects of a closed transport"),
    _c(_SIO, "socketio.Server", "_send_packet", "override", "self eio_sid pkt",
       "admission.Admission", "holding packets while a connect handler runs"),
    _c(_SIO, "socketio.Server", "_send_eio_packet", "override", "self eio_sid eio_pkt",
       "admission.Admission", "holding broadcast packets while a connect handler runs"),
    _c(_SIO, "socketio.Server", "_trigger_event", "override", "self event namespace *args",
       "socketio_api.SocketIOServerAPI, admin_ui",
       "python-socketio's handlers run through the bus instead"),
    _c(_SIO, "socketio.Namespace", "_set_server", "call", "self server",
       "dependencies.set_namespace_server (extension, namespace, socketio_api)",
       "class-based namespaces learn their server"),
    _c(_SIO, "socketio.RedisManager", "_listen", "override", "self",
       "queues.CheckedRedisManager", "checking every message before python-socketio handles it"),
    _c(_SIO, "socketio.KombuManager", "_listen", "override", "self",
       "queues.JSONKombuManager", "consuming JSON messages only"),
    *(
        _c(_SIO, manager, handler, "override", "self message",
           "queues._CheckedMessages._rooms_changed",
           "room changes asked by another process, told to connection state recovery")
        for manager in ("socketio.RedisManager", "socketio.KombuManager")
        for handler in ("_handle_enter_room", "_handle_leave_room", "_handle_close_room")
    ),
    *(
        _c(_SIO, manager, method, "override", parameters,
           "queues._CheckedMessages." + method,
           "a client still in its connect handler enters and leaves rooms here, "
           "never through the queue")
        for manager in ("socketio.RedisManager", "socketio.KombuManager")
        for method, parameters in (("enter_room", "self sid namespace room eio_sid"),
                                   ("leave_room", "self sid namespace room"))
    ),
    _c(_SIO, "socketio.base_manager.BaseManager", "is_pre_connected", "call",
       "self sid namespace", "queues._CheckedMessages.enter_room, leave_room",
       "whether a client is still in its connect handler, here"),
    _c(_SIO, "socketio.base_manager.BaseManager", "basic_leave_room", "call",
       "self sid namespace room", "queues._CheckedMessages.leave_room",
       "a room left here by a client still in its connect handler"),
    _c(_SIO, "socketio.KombuManager", "_queue", "call", "self",
       "queues.JSONKombuManager._receive", "the queue to consume"),
    _c(_SIO, "socketio.KombuManager", "_connection", "call", "self",
       "queues.JSONKombuManager._receive", "the broker connection"),
    # python-socketio: the client manager's connection steps. Public names,
    # but undocumented: the server's own connect and disconnect use them.
    _c(_SIO, "socketio.Manager", "pre_connect", "call", "self eio_sid namespace",
       "admission.Admission._dispatch_connect", "reserving a sid before the connect handler"),
    _c(_SIO, "socketio.Manager", "connect", "call", "self sid namespace",
       "admission.Admission._admit", "counting an admitted client in its namespace"),
    _c(_SIO, "socketio.Manager", "pre_disconnect", "call", "self sid namespace",
       "admission.Admission, operations.Operations.disconnect",
       "marking a client as leaving before its disconnect is published"),
    _c(_SIO, "socketio.Manager", "can_disconnect", "call", "self sid namespace",
       "operations.Operations.disconnect", "a disconnect through the message queue"),
    _c(_SIO, "socketio.Manager", "disconnect", "call", "self sid namespace **kwargs",
       "admission.Admission", "letting go of a sid (ignore_queue=True)"),
    _c(_SIO, "socketio.Manager", "is_connected", "call", "self sid namespace",
       "admission.Admission, operations.Operations.disconnect", "whether a sid is still in"),
    _c(_SIO, "socketio.Manager", "trigger_callback", "call", "self sid id data",
       "reader.Reader._accept", "a client's ACK reaching the emit callback waiting for it"),
    # python-socketio: the pending acknowledgements, for acks with a timeout
    _c(_SIO, "socketio.Manager", "_generate_ack_id", "call", "self sid callback",
       "acks.AckTracker._deliver", "an ack id per recipient, answered through trigger_callback"),
    _c(_SIO, "socketio.base_manager.BaseManager", "callbacks", "attribute", None,
       "acks.AckTracker", "releasing a timed-out ack, and learning of a client's disconnect "
       "when python-socketio deletes its entry"),
    _c(_SIO, "socketio.Server", "_send_packet", "call", "self eio_sid pkt",
       "acks.AckTracker._deliver", "sending each recipient its event with its own ack id"),
    _c(_SIO, "socketio.base_server.BaseServer", "manager_initialized", "attribute", None,
       "acks.AckTracker._queue", "starting the queue's listener before the first request"),
    _c(_SIO, "socketio.PubSubManager", "_publish", "call", "self data",
       "queues (publish_ack_message)", "publishing the acknowledgement messages"),
    _c(_SIO, "socketio.RedisManager", "pubsub", "attribute", None,
       "queues.CheckedRedisManager.publish_ack_message",
       "whether this process is one of PUBLISH's receivers"),
    _c(_SIO, "socketio.Manager", "sid_from_eio_sid", "call", "self eio_sid namespace",
       "testing.SocketIOTestClient.connect", "whether the test client got in"),
    # python-socketio: connecting under a chosen sid (connection state recovery)
    _c(_SIO, "socketio.base_manager.BaseManager", "basic_enter_room", "call",
       "self sid namespace room eio_sid",
       "recovering.ConnectionRecovery.reenter, queues._CheckedMessages.enter_room",
       "a recovered client's sid, and its rooms, entered as pre_connect enters a new one"),
    _c(_SIO, "socketio.base_manager.BaseManager", "pending_connect", "attribute", None,
       "recovering.ConnectionRecovery.reenter",
       "a recovered sid marked pre-connected, as pre_connect marks a new one"),
    _c(_SIO, "socketio.base_manager.BaseManager", "rooms", "attribute", None,
       "recovering.ConnectionRecovery.reenter",
       "whether a recovered sid is still in use in its namespace"),
    _c(_SIO, "socketio.admin.InstrumentedServer", "_timestamps", "attribute", None,
       "dependencies.socketio_connect_times (admin_ui)",
       "the connection times the admin UI shows (kept on the manager by instrument())"),
    # gevent-websocket
    _c("gevent-websocket", "geventwebsocket.websocket.WebSocket", "_encode_bytes", "call",
       "self text", "websocket.LimitedWebSocket.close", "the close frame's reason"),
    _c("gevent-websocket", "geventwebsocket.websocket.WebSocket", "handler", "attribute", None,
       "outbox.direct_socket (engine.EngineIOSocket)",
       "the connection's gevent socket, written to without a writer greenlet"),
    _c(_EIO, "engineio.async_drivers.gevent", "_sock", "attribute", None,
       "outbox.direct_socket, engine.EngineIOSocket.send",
       "gevent-websocket's WebSocket under python-engineio's wrapper (and whether it is closed)"),
    _c("gevent", "geventwebsocket.handler.WebSocketHandler", "_headers", "override", "self",
       "websocket.WebSocketHandler._headers",
       "the request's HTTP_* environ items, of plain headers built without formatting lines"),
    _c("gevent", "geventwebsocket.handler.WebSocketHandler", "_sendall", "attribute", None,
       "websocket.WebSocketHandler.write",
       "the 101 answer held to go out with the first frame (pywsgi writes through it)"),
    # gevent
    _c("gevent", "gevent._socket3.socket", "_sock", "attribute", None,
       "outbox.write_now", "the non-blocking OS socket, written to without waiting"),
    _c("gevent", "gevent._socket3.socket", "_write_event", "attribute", None,
       "outbox.write_now", "whether a greenlet is blocked writing (its bytes go first)"),
    # Flask and werkzeug
    _c("flask", "flask.testing.FlaskClient", "_request_from_builder_args", "call",
       "self args kwargs", "dependencies.request_environ (testing.SocketIOTestClient)",
       "the handshake environ of a Flask test client, with its cookies"),
    _c("werkzeug", "werkzeug.test.Client", "_add_cookies_to_wsgi", "call", "self environ",
       "dependencies.add_test_cookies (testing.SocketIOTestClient)",
       "the Flask session cookie on the test client's handshake"),
    _c("flask", "flask.globals", "_cv_app", "attribute", None,
       "context.EventContext._bind", "binding an event's app context without Flask's push"),
    _c("flask", "flask.globals", "_cv_request", "attribute", None,
       "context.EventContext._bind", "binding an event's request context without Flask's push"),
    _c("flask", "flask.ctx.AppContext", "_cv_tokens", "attribute", None,
       "context.EventContext._bind", "an app context bound directly, popped as Flask pops it"),
    _c("flask", "flask.ctx.RequestContext", "_cv_tokens", "attribute", None,
       "context._EventRequestContext, context.EventContext._bind",
       "a request context bound directly, nested and copied as Flask's are"),
    _c("werkzeug", "werkzeug._reloader", "run_with_reloader", "call",
       "main_func extra_files exclude_patterns interval reloader_type",
       "dependencies.run_with_reloader (serving.run)", "run(use_reloader=True)"),
)  # fmt: skip


# -- the reaches made on other objects ---------------------------------------------


def open_socket(eio_server: Any, sid: str) -> Any:
    """The Engine.IO socket of session ``sid``, or ``None`` if it is closed or unknown."""
    try:
        return eio_server._get_socket(sid)
    except KeyError:
        return None


def cors_allowed_origins(eio_server: Any, environ: dict[str, Any]) -> Any:
    """The origins python-engineio accepts for ``environ`` (``None``: any)."""
    return eio_server._cors_allowed_origins(environ)


def socketio_connect_times(manager: Any) -> dict[str, float]:
    """The connection times python-socketio's admin instrumentation keeps, by sid."""
    times: dict[str, float] = manager._timestamps
    return times


def set_namespace_server(namespace_handler: Any, server: Any) -> None:
    """Tell a python-socketio class-based namespace which server it belongs to."""
    namespace_handler._set_server(server)


def request_environ(flask_test_client: Any, path: str, headers: Any) -> dict[str, Any]:
    """The WSGI environ a Flask test client would send for ``path``, with its cookies."""
    request = flask_test_client._request_from_builder_args(
        args=(), kwargs={"path": path, "headers": headers}
    )
    environ: dict[str, Any] = request.environ
    add_test_cookies(flask_test_client, environ)
    return environ


def add_test_cookies(flask_test_client: Any, environ: dict[str, Any]) -> None:
    """Add a werkzeug test client's cookies to ``environ``."""
    flask_test_client._add_cookies_to_wsgi(environ)


def run_with_reloader(main: Any, **options: Any) -> None:
    """Run ``main`` under werkzeug's reloader (werkzeug keeps it in a private module)."""
    from werkzeug._reloader import run_with_reloader as run

    run(main, **options)
