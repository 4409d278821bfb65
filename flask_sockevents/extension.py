"""The Flask extension: :class:`SockEvents` (also importable as ``SocketIO``).

It runs past 400 lines because it is the whole documented surface of the
Flask face: Flask-SocketIO's API and ours, every method with its docstring.
Each method is a thin delegation; the work happens in :mod:`.server`,
:mod:`.bus`, :mod:`.context`, :mod:`.serving` and :mod:`.shutdown`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import flask
import socketio
from flask import Flask

from . import signals
from .bus import DEFAULT_MAX_EVENT_NAME_LENGTH, Bus, accepted
from .cluster import Cluster, ClusterReply, ClusterSockets
from .context import EventContext
from .event import Event, EventKind, Outcome
from .namespace import Namespace, register_namespace
from .queues import queue_manager
from .server import Server

if TYPE_CHECKING:
    from .testing import SocketIOTestClient

__all__ = ["CORSWarning", "SockEvents", "SocketIO"]

logger = logging.getLogger("flask_sockevents")


class CORSWarning(UserWarning):
    """Cross-origin requests were opened to every origin."""

F = TypeVar("F", bound=Callable[..., Any])

#: Options of our own, as opposed to those passed on to python-socketio.
DEFAULTS: dict[str, Any] = {
    "connect_timeout": 45.0,
    "max_event_name_length": DEFAULT_MAX_EVENT_NAME_LENGTH,
    "max_queued_events": 100,
    "max_message_size": 1_000_000,
    "max_attachments": 10,
    "max_connections_per_address": 1000,
    "manage_session": True,
    "message_queue": None,
    "channel": "flask-socketio",
    "write_only": False,
    "path": "socket.io",
    "namespaces": None,
    "shutdown_timeout": 10.0,
    "cluster_heartbeat": 5.0,
    "cluster_headers": None,
}
_CONFIG_PREFIX = "SOCKEVENTS_"


class SockEvents:
    """Socket.IO for a Flask app, with every packet published on an event bus.

    :param app: the Flask app, or ``None`` to call :meth:`init_app` later.
    :param options: our options and python-socketio's. Config keys
        ``SOCKEVENTS_<OPTION>`` (e.g. ``SOCKEVENTS_CONNECT_TIMEOUT``) override
        the keyword options given here; options given to :meth:`init_app`
        override both.

    Our options:

    - ``connect_timeout`` (45): seconds a transport may stay open without
      connecting to a namespace.
    - ``max_event_name_length`` (256): longer client event names are rejected.
    - ``max_queued_events`` (100): packets queued per connection before the
      server stops reading from it until its handlers catch up.
    - ``max_message_size`` (1,000,000 bytes): the largest message accepted
      (python-engineio's ``max_http_buffer_size``).
    - ``max_attachments`` (10): binary attachments allowed in one packet.
    - ``max_connections_per_address`` (1000): open transports allowed from one
      remote address (``None``: no limit); behind a proxy every client shares
      the proxy's address, so raise it or set it to ``None`` there.
    - ``manage_session`` (True): give each connection its own session copy.
    - ``namespaces``: namespaces accepted besides those some handler route
      matches (``"/"`` by default); ``"*"`` accepts any namespace.
    - ``message_queue``, ``channel``, ``write_only``: fan emits out across
      processes through Redis or Kombu.
    - ``path`` ("socket.io"): the endpoint.
    - ``shutdown_timeout`` (10): seconds :meth:`shutdown` (and SIGTERM or
      SIGINT under :meth:`run`) gives running handlers before exiting.
    - ``cluster_heartbeat`` (5): seconds between the heartbeats by which the
      processes sharing a Redis queue know each other (see :mod:`.cluster`).
    - ``cluster_headers``: the handshake headers :meth:`fetch_sockets` shows
      (:data:`~flask_sockevents.cluster.DEFAULT_HEADERS` by default).

    ``json="orjson"`` encodes and decodes packets with orjson (see
    :mod:`flask_sockevents.fastjson`); a module with ``dumps`` and ``loads``
    works too. Everything else (``cors_allowed_origins``, ``ping_interval``,
    ``ping_timeout``, ``transports``, ``cookie``, ``logger``,
    ``engineio_logger``, ``json``, ``always_connect``, ...) goes to
    python-socketio's :class:`socketio.Server` unchanged.
    """

    #: Why a client disconnected: the values a ``disconnect`` handler receives.
    reason = socketio.Server.reason

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.app: Flask | None = None
        self.server: Server | None = None
        self.options: dict[str, Any] = options
        self.bus = Bus()  # its limits are set by init_app, before any event
        self.namespace_handlers: dict[str, Namespace] = {}
        self.wsgi_server: Any = None
        self.shutdown_timeout: float = DEFAULTS["shutdown_timeout"]
        self.max_message_size: int = DEFAULTS["max_message_size"]
        self.path: str = DEFAULTS["path"]
        self._contexts: EventContext | None = None
        self._accepted_namespaces: set[str] | None = {"/"}
        self.cluster: Cluster | None = None
        if app is not None or "message_queue" in options:
            self.init_app(app)

    # -- set-up ---------------------------------------------------------------

    def init_app(self, app: Flask | None, **options: Any) -> None:
        """Attach to ``app``: create the server and mount it at ``/<path>/``.

        ``app`` may be ``None`` for a process that only emits through a
        message queue (``SockEvents(message_queue="redis://")``).
        """
        settings = {**DEFAULTS, **self.options}
        if app is not None:
            for key, value in app.config.items():
                if key.startswith(_CONFIG_PREFIX):
                    settings[key[len(_CONFIG_PREFIX) :].lower()] = value
        settings.update(options)
        resource = settings.pop("resource", None)  # Flask-SocketIO's old name for path
        if resource:
            settings["path"] = resource
        server_options = {k: v for k, v in settings.items() if k not in DEFAULTS}
        if server_options.get("json") == "orjson":
            from . import fastjson

            server_options["json"] = fastjson
        server_options.setdefault("max_http_buffer_size", settings["max_message_size"])
        if settings["message_queue"]:
            server_options["client_manager"] = queue_manager(
                settings["message_queue"],
                channel=settings["channel"],
                write_only=settings["write_only"] or app is None,
            )
        if server_options.get("cors_allowed_origins") == "*":
            warnings.warn(
                "cors_allowed_origins='*' lets any web page open Socket.IO connections "
                "with your users' cookies; list the origins you trust instead",
                CORSWarning,
                stacklevel=2,
            )
            logger.warning("CORS is open to every origin (cors_allowed_origins='*')")
        self.bus.max_event_name_length = settings["max_event_name_length"]
        self.shutdown_timeout = float(settings["shutdown_timeout"])
        self.max_message_size = settings["max_message_size"]
        self.path = settings["path"]
        namespaces = settings["namespaces"]
        self._accepted_namespaces = None if namespaces == "*" else set(namespaces or ["/"])
        self.server = Server(
            self._dispatch,
            self._accepts_namespace,
            bus=self.bus,
            connect_timeout=settings["connect_timeout"],
            max_queued_events=settings["max_queued_events"],
            max_attachments=settings["max_attachments"],
            max_connections_per_address=settings["max_connections_per_address"],
            on_emit=self._publish_emit,
            **server_options,
        )
        for namespace_handler in self.namespace_handlers.values():
            namespace_handler._set_server(self.server)
        self.app = app
        self.cluster = Cluster(
            self,
            settings["message_queue"],
            settings["channel"],
            heartbeat=float(settings["cluster_heartbeat"]),
            headers=settings["cluster_headers"],
        )
        if app is None:
            return
        signals.client_connected.connect(self._cluster_connected, sender=app, weak=True)
        signals.client_disconnected.connect(self._cluster_disconnected, sender=app, weak=True)
        signals.event_rejected.connect(self._cluster_disconnected, sender=app, weak=True)
        signals.event_failed.connect(self._cluster_disconnected, sender=app, weak=True)
        self.bus.sender = app
        self._contexts = EventContext(app, manage_session=settings["manage_session"])
        app.wsgi_app = socketio.WSGIApp(  # type: ignore[method-assign]
            self.server, app.wsgi_app, socketio_path=settings["path"]
        )
        app.extensions["sockevents"] = self
        app.extensions.setdefault("socketio", self)

    def _require_server(self) -> Server:
        if self.server is None:
            raise RuntimeError(
                "SockEvents is not attached to an app: call init_app(app) "
                "(or pass message_queue=... for an emit-only process)"
            )
        return self.server

    def _accepts_namespace(self, namespace: str) -> bool:
        accepted = self._accepted_namespaces
        return (
            accepted is None
            or namespace in accepted
            or self.bus.router.accepts_namespace(namespace)
        )

    def _dispatch(self, environ: dict[str, Any], event: Event, rejection: str | None) -> Event:
        contexts = self._contexts
        if contexts is None:
            return self.bus.publish(event, rejection)
        context = contexts.push(environ, event)
        error: BaseException | None = None
        try:
            return self.bus.publish(event, rejection)
        except BaseException as exc:
            error = exc
            raise
        finally:
            contexts.pop(context, error)

    def _cluster_connected(self, sender: Any, event: Event, **_: Any) -> None:
        if self.cluster is not None and not self.cluster.started:
            self.cluster.start()

    def _cluster_disconnected(self, sender: Any, event: Event, **_: Any) -> None:
        """Drop the socket data of a client that left, or whose connect was refused."""
        if (
            self.cluster is not None
            and event.sid is not None
            and event.kind is not EventKind.EVENT
            and (event.kind is EventKind.DISCONNECT or not accepted(event))
        ):
            self.cluster.forget_socket(event.sid, event.namespace)

    def _publish_emit(self, event: Event) -> None:
        if signals.event_emitted.receivers:
            payload = [event.name, *event.args]
            try:
                size = len(socketio.packet.Packet.json.dumps(payload, separators=(",", ":")))
            except (TypeError, ValueError):
                size = 0
            self.bus.listener_errors += signals.publish(
                signals.event_emitted, self.app, event._replace(size=size)
            )

    # -- subscribing ----------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator: register the handler of ``message`` (an event name or pattern).

        Exactly one handler runs per event, the most specific match; its
        return value is the acknowledgement. ``connect`` handlers get ``auth``
        and may refuse with ``False`` or ``ConnectionRefusedError``.

        :param message: the event name, or a pattern with ``*`` (the handler
            then gets the concrete event name first).
        :param namespace: the namespace or namespace pattern (``"/"``).
        """

        def decorator(handler: F) -> F:
            self.bus.on(message, namespace or "/", handler)
            return handler

        return decorator

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator: register a handler named after the function (``@sockevents.event``)."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def decorator(handler: F) -> F:
            return self.on(handler.__name__, *args, **kwargs)(handler)

        return decorator

    def on_event(
        self, message: str, handler: Callable[..., Any], namespace: str | None = None
    ) -> None:
        """Register ``handler`` for ``message`` without a decorator."""
        self.on(message, namespace)(handler)

    def listen(self, event: Any = "*", namespace: str = "/") -> Any:
        """Decorator: register a listener ``fn(event: Event)``, seeing every matching event.

        Listeners run after dispatch, before the acknowledgement is sent, with
        the outcome filled in; they see handled, unhandled, rejected and failed
        events alike. ``@sockevents.listen`` alone listens to ``"*"`` in ``"/"``.
        """
        if callable(event):
            return self.bus.listen("*", namespace, event)
        return self.bus.listen(event, namespace)

    def guard(self, event: Any = "*", namespace: str = "/") -> Any:
        """Decorator: register a guard ``fn(event: Event)`` that may veto events and connects.

        Return ``False`` or raise :class:`~flask_sockevents.Reject` to veto.
        ``@sockevents.guard`` alone guards ``"*"`` in ``"/"``.
        """
        if callable(event):
            return self.bus.guard("*", namespace, event)
        return self.bus.guard(event, namespace)

    def on_error(self, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator: the error handler of ``namespace``; its return value is the ack."""
        if callable(namespace):
            raise ValueError("use @sockevents.on_error() or @sockevents.on_error_default")

        def decorator(handler: F) -> F:
            if not callable(handler):
                raise ValueError("error handler must be a callable")
            self.bus.error_handlers[namespace or "/"] = handler
            return handler

        return decorator

    def on_error_default(self, handler: F) -> F:
        """Decorator: the error handler of every namespace without its own."""
        if not callable(handler):
            raise ValueError("error handler must be a callable")
        self.bus.default_error_handler = handler
        return handler

    def on_namespace(self, namespace_handler: Namespace) -> None:
        """Register a class-based :class:`~flask_sockevents.Namespace`."""
        register_namespace(self, namespace_handler)

    # -- emitting and rooms -----------------------------------------------------

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Emit ``event`` with ``args`` to clients; usable anywhere (views, tasks).

        :param namespace: the namespace (``"/"``).
        :param to: a sid or room, or a list of them (alias ``room``); all
            clients of the namespace when omitted.
        :param include_self: with ``False``, skip the client of the current event.
        :param skip_sid: a sid or list of sids to skip.
        :param callback: called with the client's acknowledgement (one client only).
        """
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        include_self = kwargs.pop("include_self", True)
        skip_sid = kwargs.pop("skip_sid", None)
        if not include_self and not skip_sid:
            skip_sid = flask.request.sid  # type: ignore[attr-defined]
        callback = kwargs.pop("callback", None)
        if callback is not None:
            callback = self._in_event_context(callback)
        self._require_server().emit(
            event,
            data=_payload(args),
            to=to,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
            **kwargs,
        )

    def send(
        self,
        data: Any,
        json: bool = False,
        namespace: str | None = None,
        to: Any = None,
        callback: Callable[..., Any] | None = None,
        include_self: bool = True,
        skip_sid: Any = None,
        **kwargs: Any,
    ) -> None:
        """Send an unnamed ``message`` (or ``json`` with ``json=True``) event."""
        self.emit(
            "json" if json else "message",
            data,
            namespace=namespace,
            to=to,
            callback=callback,
            include_self=include_self,
            skip_sid=skip_sid,
            **kwargs,
        )

    def call(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Emit ``event`` to one client (``to=sid``) and return its acknowledgement.

        :param timeout: seconds to wait (60); :class:`TimeoutError` after it.
        """
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        return self._require_server().call(
            event, data=_payload(args), to=to, namespace=namespace, **kwargs
        )

    def join_room(self, room: str, sid: str, namespace: str | None = None) -> None:
        """Put client ``sid`` in ``room``."""
        self._require_server().enter_room(sid, room, namespace=namespace or "/")

    def leave_room(self, room: str, sid: str, namespace: str | None = None) -> None:
        """Take client ``sid`` out of ``room``."""
        self._require_server().leave_room(sid, room, namespace=namespace or "/")

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from ``room``."""
        self._require_server().close_room(room, namespace=namespace or "/")

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms client ``sid`` is in (its own sid among them)."""
        return list(self._require_server().rooms(sid, namespace=namespace or "/"))

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """Disconnect client ``sid``; its disconnect is published on the bus once."""
        self._require_server().disconnect(sid, namespace=namespace or "/")

    # -- the cluster: every process sharing the message queue -------------------

    def _require_cluster(self) -> Cluster:
        self._require_server()
        assert self.cluster is not None
        return self.cluster

    def fetch_sockets(
        self, room: str | None = None, namespace: str = "/", timeout: float = 5
    ) -> ClusterSockets:
        """Describe the clients of ``namespace`` (in ``room``) connected to any process.

        Each is a :class:`~flask_sockevents.cluster.RemoteSocket`: ``sid``,
        ``namespace``, ``rooms``, ``remote_addr``, the allowed handshake
        ``headers``, the app's ``data`` (see :meth:`socket_data`) and the
        ``process`` it is connected to. The list's ``missing`` names the
        processes that did not answer within ``timeout`` seconds.
        """
        return self._require_cluster().fetch_sockets(room, namespace, timeout)

    def sockets_join(
        self, rooms: str | list[str], room: str | None = None, namespace: str = "/",
        timeout: float = 5,
    ) -> ClusterReply:  # fmt: skip
        """Put the clients of ``room`` (every client if ``None``) in ``rooms``, in every process."""
        return self._require_cluster().sockets_join(rooms, room, namespace, timeout)

    def sockets_leave(
        self, rooms: str | list[str], room: str | None = None, namespace: str = "/",
        timeout: float = 5,
    ) -> ClusterReply:  # fmt: skip
        """Take the clients of ``room`` (every client if ``None``) out of ``rooms``, everywhere."""
        return self._require_cluster().sockets_leave(rooms, room, namespace, timeout)

    def disconnect_sockets(
        self, room: str | None = None, namespace: str = "/", timeout: float = 5
    ) -> ClusterReply:
        """Disconnect the clients of ``room`` (every client if ``None``), in every process."""
        return self._require_cluster().disconnect_sockets(room, namespace, timeout)

    def server_side_emit(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        callback: Callable[[ClusterReply], Any] | None = None,
        timeout: float = 5,
    ) -> None:
        """Publish ``event`` on the bus of every other process, as an event of kind ``server``.

        See :meth:`flask_sockevents.cluster.Cluster.server_side_emit`.
        """
        self._require_cluster().server_side_emit(
            event, *args, namespace=namespace, callback=callback, timeout=timeout
        )

    def socket_data(self, sid: str | None = None, namespace: str | None = None) -> dict[str, Any]:
        """The app's mutable dict for a client of this process, shown by :meth:`fetch_sockets`.

        Without ``sid`` (and ``namespace``), the client of the current event.

        :raises KeyError: when the client is not connected to this process.
        """
        if sid is None:
            sid = flask.request.sid  # type: ignore[attr-defined]
            namespace = namespace or flask.request.namespace  # type: ignore[attr-defined]
        return self._require_cluster().socket_data(sid, namespace or "/")

    def _in_event_context(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap an ack callback so it runs in the Flask context of the current client."""
        if not flask.has_request_context() or getattr(flask.request, "sid", None) is None:
            return callback
        environ = flask.request.environ
        sid = flask.request.sid  # type: ignore[attr-defined]
        namespace = flask.request.namespace  # type: ignore[attr-defined]
        contexts = self._contexts

        def run_in_context(*args: Any) -> Any:
            if contexts is None:
                return callback(*args)
            event = Event(EventKind.EVENT, namespace, "ack", sid, args)
            context = contexts.push(environ, event)
            try:
                return callback(*args)
            finally:
                contexts.pop(context)

        return run_in_context

    def stats(self) -> dict[str, Any]:
        """The counters the server keeps, for health checks and invariants.

        ``received`` always equals ``handled + unhandled + rejected +
        failed``; ``rejections`` breaks ``rejected`` down by reason;
        ``protocol_errors`` counts transports closed for breaking the
        protocol, by reason; ``listener_errors`` counts listeners and signal
        receivers that raised; ``connections`` and ``queued`` are the open
        transports and the packets waiting in their queues.
        """
        counts = self.bus.counts
        server = self._require_server()
        return {
            "received": counts["received"],
            **{outcome.value: counts[outcome.value] for outcome in Outcome},
            "rejections": dict(self.bus.rejections),
            "listener_errors": self.bus.listener_errors,
            "protocol_errors": dict(server.protocol_errors),
            **server.connection_stats(),
        }

    # -- running ----------------------------------------------------------------

    def run(
        self,
        app: Flask | None = None,
        host: str | None = None,
        port: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Serve ``app`` under gevent's pywsgi with gevent-websocket (blocks).

        :param host: interface to bind (``127.0.0.1``).
        :param port: port (5000, or the port of ``SERVER_NAME``).
        :param debug: Flask debug mode; also turns on the reloader and request log.
        :param use_reloader: restart when source files change.
        :param log_output: log each HTTP request.
        :param shutdown_timeout: seconds SIGTERM or SIGINT waits for running
            handlers (the ``shutdown_timeout`` option by default); see
            :meth:`shutdown`.
        """
        from .serving import run

        run(self, app or self.app, host=host, port=port, **kwargs)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop gracefully: what :meth:`run` does on SIGTERM or SIGINT.

        Stops accepting connections, lets the handlers of events already
        received finish and send their acknowledgements, disconnects every
        client (each disconnect is published on the bus once), closes the
        listeners that have a ``close()`` method (such as
        :class:`~flask_sockevents.listeners.AuditLog`) and makes :meth:`run`
        return.

        :param timeout: seconds allowed (the ``shutdown_timeout`` option).
        :return: ``True`` if every handler finished in time.
        """
        from .shutdown import shutdown

        return shutdown(self, self.shutdown_timeout if timeout is None else timeout)

    def stop(self) -> None:
        """Stop the server started by :meth:`run`."""
        if self.wsgi_server is not None:
            self.wsgi_server.stop(timeout=1)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Start ``target(*args, **kwargs)`` in a greenlet; returns it (``.join()`` waits)."""
        return self._require_server().start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        """Sleep cooperatively (lets other greenlets run)."""
        self._require_server().sleep(seconds)

    def test_client(
        self,
        app: Flask,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> SocketIOTestClient:
        """An in-process client for tests (see :mod:`flask_sockevents.testing`)."""
        from .testing import SocketIOTestClient

        return SocketIOTestClient(
            app,
            self,
            namespace=namespace,
            query_string=query_string,
            headers=headers,
            auth=auth,
            flask_test_client=flask_test_client,
        )


#: Flask-SocketIO's name for the extension.
SocketIO = SockEvents


def _payload(args: tuple[Any, ...]) -> Any:
    """python-socketio's ``data``: one argument as is, several as a tuple."""
    if not args:
        return None
    return args[0] if len(args) == 1 else tuple(args)
