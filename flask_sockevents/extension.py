"""The Flask extension: :class:`SockEvents` (also importable as ``SocketIO``).

It runs past 400 lines because it is the whole documented surface of the
Flask face: Flask-SocketIO's API and ours, every method with its docstring.
Each method is a thin delegation; the work happens in :mod:`.server`,
:mod:`.bus`, :mod:`.context`, :mod:`.serving` and :mod:`.shutdown`.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import flask
import gevent
import gevent.event
import socketio
from flask import Flask
from gevent import monkey

from . import dependencies, signals
from .bus import DEFAULT_MAX_EVENT_NAME_LENGTH, Bus
from .cluster import Cluster, ClusterReply, ClusterSockets
from .connections import ConnectionLimits
from .context import EventContext
from .event import Event, EventKind, Outcome
from .namespace import Namespace, register_namespace
from .queues import queue_manager
from .recovering import ConnectionRecovery
from .recovery import make_store, recovery_options
from .server import Server

if TYPE_CHECKING:
    from .testing import SocketIOTestClient

__all__ = ["AsyncModeWarning", "CORSWarning", "SockEvents", "SocketIO"]

logger = logging.getLogger("flask_sockevents")


class CORSWarning(UserWarning):
    """Cross-origin requests were opened to every origin."""


class AsyncModeWarning(UserWarning):
    """An app asked for Flask-SocketIO's ``threading`` or ``eventlet`` mode.

    flask_sockevents serves under gevent only; the app runs under gevent.
    """


#: The async modes flask_sockevents serves with.
GEVENT_MODES = ("gevent", "gevent_uwsgi")
#: Flask-SocketIO's other async modes: accepted with an :class:`AsyncModeWarning`.
REPLACED_MODES = ("threading", "eventlet")

F = TypeVar("F", bound=Callable[..., Any])

#: The operating system's thread id, even once gevent has patched ``threading``.
_os_thread_id: Callable[[], int] = monkey.get_original("_thread", "get_ident")

#: Options of our own, as opposed to those passed on to python-socketio.
DEFAULTS: dict[str, Any] = {
    "connect_timeout": 45.0,
    "max_event_name_length": DEFAULT_MAX_EVENT_NAME_LENGTH,
    "error_text": False,
    "max_queued_events": 100,
    "max_message_size": 1_000_000,
    "max_attachments": 10,
    "max_connections_per_address": 1000,
    "max_namespaces": 100,
    "max_packets_per_post": 10_000,
    "manage_session": True,
    "message_queue": None,
    "channel": "flask-socketio",
    "write_only": False,
    "path": "socket.io",
    "namespaces": None,
    "shutdown_timeout": 10.0,
    "header_timeout": 10.0,
    "body_timeout": 30.0,
    "max_http_connections": 1000,
    "max_http_connections_per_address": 100,
    "cluster_heartbeat": 5.0,
    "cluster_headers": None,
    "connection_state_recovery": None,
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
    - ``error_text`` (False): publish a failed handler's exception text in the
      event's reason (signals, listeners, monitor); by default the reason is
      the exception's class name only.
    - ``max_queued_events`` (100): packets queued per connection before the
      server stops reading from it until its handlers catch up (and packets
      waiting to be sent to it before the server stops reading from it until
      it reads them).
    - ``max_message_size`` (1,000,000 bytes): the largest message accepted
      (python-engineio's ``max_http_buffer_size``).
    - ``max_attachments`` (10): binary attachments allowed in one packet.
    - ``max_connections_per_address`` (1000): open transports allowed from one
      remote address (``None``: no limit); behind a proxy every client shares
      the proxy's address, so raise it or set it to ``None`` there.
    - ``max_namespaces`` (100): namespaces one connection may be connected to
      at once; a CONNECT to one more is refused (``too many namespaces``).
    - ``max_packets_per_post`` (10,000): Engine.IO packets one long-polling
      POST may carry. Clients put everything they queued since their last
      POST into the next one, so this bounds the burst a polling client may
      emit within one round trip; a POST with more is refused with HTTP 400
      before any packet is decoded, and its session is closed.
    - ``manage_session`` (True): give each connection its own session copy.
    - ``namespaces``: namespaces accepted besides those some handler route
      matches (``"/"`` by default); ``"*"`` accepts any namespace.
    - ``message_queue``, ``channel``, ``write_only``: fan emits out across
      processes through Redis or Kombu.
    - ``path`` ("socket.io"): the endpoint.
    - ``shutdown_timeout`` (10): seconds :meth:`shutdown` (and SIGTERM or
      SIGINT under :meth:`run`) gives running handlers before exiting.
    - ``cluster_heartbeat`` (5): seconds between the heartbeats by which the
      processes sharing a Redis queue know each other (see :mod:`flask_sockevents.cluster`).
    - ``cluster_headers``: the handshake headers :meth:`fetch_sockets` shows
      (:data:`~flask_sockevents.cluster.DEFAULT_HEADERS` by default).
    - ``connection_state_recovery`` (off): ``True``, or a dict of options
      (``max_disconnection_duration``, ``skip_guards``, ``max_packets``,
      ``max_bytes``, ``max_sessions``, ``store``): a client whose transport
      is lost comes back within the window with its sid, rooms, managed
      session and the packets it missed; see :mod:`flask_sockevents.recovery`.

    Connection limits of the served server (:meth:`run`, ``python -m
    flask_sockevents``, ``flask sockevents run`` and the gunicorn worker;
    see :mod:`flask_sockevents.connections`), each ``None`` for no limit:

    - ``header_timeout`` (10): seconds for a request's line and headers to
      arrive (and for a keep-alive connection to send its next request);
      the socket is closed otherwise.
    - ``body_timeout`` (30): seconds for a request's body to arrive once its
      headers have; the socket is closed otherwise. Neither timeout applies
      once the app runs: websockets and long-polling requests are not cut.
    - ``max_http_connections`` (1000): open sockets in total, half-open ones
      included, never more than ``ulimit -n`` allows (``None``: that many);
      more are closed at accept.
    - ``max_http_connections_per_address`` (100): open sockets from one
      remote address (IPv6: one /64); more are closed at accept. Behind a
      proxy every socket comes from the proxy: set it to ``None`` there.

    ``async_mode``: ``"gevent"`` (the default, also for ``None``) or
    ``"gevent_uwsgi"``. Flask-SocketIO's ``"threading"`` and ``"eventlet"``
    are accepted with one :class:`AsyncModeWarning`, and the app is served
    under gevent; any other value raises :class:`ValueError`. The mode in use
    is :attr:`async_mode` once attached.

    :attr:`server_options` holds the options given so far, as in
    Flask-SocketIO: it may be edited before :meth:`init_app`, and afterwards
    also holds the ``client_manager`` created for a ``message_queue``.

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
        #: The options given to the constructor and :meth:`init_app` (editable
        #: before :meth:`init_app`); ``options`` is the same dict.
        self.server_options: dict[str, Any] = dict(options)
        self.options = self.server_options
        #: The async mode in use (``"gevent"``), set by :meth:`init_app`.
        self.async_mode: str | None = None
        self._created_client_manager: Any = None
        self.bus = Bus()  # its limits are set by init_app, before any event
        self.namespace_handlers: dict[str, Namespace] = {}
        self.wsgi_server: Any = None
        self.shutdown_timeout: float = DEFAULTS["shutdown_timeout"]
        self.max_message_size: int = DEFAULTS["max_message_size"]
        self.path: str = DEFAULTS["path"]
        self.connection_limits = ConnectionLimits()
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
        given = self.server_options
        if given.get("client_manager") is self._created_client_manager is not None:
            del given["client_manager"]  # made by an earlier init_app: make a fresh one
        settings = {**DEFAULTS, **given}
        if app is not None:
            for key, value in app.config.items():
                if key.startswith(_CONFIG_PREFIX):
                    settings[key[len(_CONFIG_PREFIX) :].lower()] = value
        settings.update(options)
        given.update(options)
        settings["async_mode"] = _serving_mode(settings.get("async_mode"))
        resource = settings.pop("resource", None)  # Flask-SocketIO's old name for path
        if resource:
            settings["path"] = resource
        engine_options = {k: v for k, v in settings.items() if k not in DEFAULTS}
        if engine_options.get("json") == "orjson":
            from . import fastjson

            engine_options["json"] = fastjson
        engine_options.setdefault("max_http_buffer_size", settings["max_message_size"])
        if settings["message_queue"] and "client_manager" not in engine_options:
            engine_options["client_manager"] = given["client_manager"] = (
                self._created_client_manager
            ) = queue_manager(
                settings["message_queue"],
                channel=settings["channel"],
                write_only=settings["write_only"] or app is None,
            )
        if engine_options.get("cors_allowed_origins") == "*":
            warnings.warn(
                "cors_allowed_origins='*' lets any web page open Socket.IO connections "
                "with your users' cookies; list the origins you trust instead",
                CORSWarning,
                stacklevel=2,
            )
            logger.warning("CORS is open to every origin (cors_allowed_origins='*')")
        self.bus.max_event_name_length = settings["max_event_name_length"]
        self.bus.error_text = settings["error_text"]
        self.shutdown_timeout = float(settings["shutdown_timeout"])
        self.max_message_size = settings["max_message_size"]
        self.path = settings["path"]
        self.connection_limits = ConnectionLimits(
            header_timeout=settings["header_timeout"],
            body_timeout=settings["body_timeout"],
            max_http_connections=settings["max_http_connections"],
            max_http_connections_per_address=settings["max_http_connections_per_address"],
            max_body_buffer=settings["max_message_size"],
        )
        recovery = recovery_options(settings["connection_state_recovery"])
        self.bus.skip_guards_on_recovery = recovery is not None and recovery.skip_guards
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
            max_namespaces=settings["max_namespaces"],
            max_packets_per_post=settings["max_packets_per_post"],
            on_emit=self._publish_emit,
            recovery=None
            if recovery is None
            else ConnectionRecovery(
                recovery, make_store(recovery, settings["message_queue"], settings["channel"])
            ),
            **engine_options,
        )
        self.async_mode = self.server.async_mode
        for namespace_handler in self.namespace_handlers.values():
            dependencies.set_namespace_server(namespace_handler, self.server)
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
        if self.server.recovery is not None and self.server.recovery.tracks:
            signals.event_handled.connect(self._track_session, sender=app, weak=True)
            signals.event_failed.connect(self._track_session, sender=app, weak=True)
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
            and (event.kind is EventKind.DISCONNECT or not event.accepted)
        ):
            self.cluster.forget_socket(event.sid, event.namespace)

    def _track_session(self, sender: Any, event: Event, **_: Any) -> None:
        """Tell a recovery store that tracks connected sessions of a managed session change."""
        server = self.server
        sid = event.sid
        if (
            server is not None
            and server.recovery is not None
            and sid is not None
            and event.kind is EventKind.EVENT
        ):
            environ = flask.request.environ
            server.recovery.track_session(sid, event.namespace, server.manager, environ)

    def _publish_emit(self, event: Event) -> None:
        self.bus.publish_emit(event)

    # -- subscribing ----------------------------------------------------------

    def on(
        self,
        message: str,
        namespace: str | None = None,
        *,
        schema: Any = None,
        ack: Any = None,
    ) -> Callable[[F], F]:
        """Decorator: register the handler of ``message`` (an event name or pattern).

        Exactly one handler runs per event, the most specific match; its
        return value is the acknowledgement. ``connect`` handlers get ``auth``
        and may refuse with ``False`` or ``ConnectionRefusedError``.

        :param message: the event name, or a pattern with ``*`` (the handler
            then gets the concrete event name first).
        :param namespace: the namespace or namespace pattern (``"/"``).
        :param schema: the payload's contract, a pydantic model or a JSON
            Schema ``dict`` (extra ``[schemas]``): an invalid payload is
            rejected with reason ``"invalid payload"`` and the handler gets
            the parsed one. See :mod:`flask_sockevents.schemas`.
        :param ack: the acknowledgement's contract, for the AsyncAPI document.
        """

        def decorator(handler: F) -> F:
            self.bus.on(message, namespace or "/", handler, schema=schema, ack=ack)
            return handler

        return decorator

    def emits(
        self,
        event: str,
        schema: Any = None,
        *,
        namespace: str | None = None,
        ack: Any = None,
        description: str | None = None,
    ) -> None:
        """Declare that the server emits ``event``, for the AsyncAPI document and tracing.

        :param event: the event name (or a pattern with ``*``).
        :param schema: the payload's contract (as for :meth:`on`). In debug
            mode every emit of ``event`` is checked against it and a mismatch
            is logged and warned about.
        :param namespace: the namespace or namespace pattern (``"/"``).
        :param ack: the contract of the client's acknowledgement.
        :param description: what the event tells clients.
        """
        from .schemas import EmitChecker, payload_schema

        self.bus.router.declare_emit(
            event,
            namespace or "/",
            schema=None if schema is None else payload_schema(schema),
            ack_schema=None if ack is None else payload_schema(ack),
            description=description,
        )
        checking = self.__dict__.get("_emit_checker")
        if schema is not None and checking is None and self.app is not None and self.app.debug:
            self._emit_checker = EmitChecker(self)
            signals.event_emitted.connect(self._emit_checker, sender=self.app)

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

    def listen(self, event: Any = "*", namespace: str = "/", *, emits: bool = False) -> Any:
        """Decorator: register a listener ``fn(event: Event)``, seeing every matching event.

        Listeners run after dispatch, before the acknowledgement is sent, with
        the outcome filled in; they see handled, unhandled, rejected and failed
        events alike. ``@sockevents.listen`` alone listens to ``"*"`` in ``"/"``.

        :param emits: listen to the server's emits of ``event`` instead: the
            listener gets an ``EMIT`` event (no outcome; ``size`` is the
            encoded packet's, 0 when a message queue delivers it) after each
            emit, just before ``event_emitted`` is sent.
        """
        if callable(event):
            return self.bus.listen("*", namespace, event, emits=emits)
        return self.bus.listen(event, namespace, emits=emits)

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
        :param timeout: with ``callback``, seconds to wait for acknowledgements:
            ``callback`` is then called once, error first: ``fn(None, *answer)``
            or ``fn(AckTimeout(...))`` for one client, ``fn(error, acks)`` for
            a room or everyone (see :mod:`flask_sockevents.acks`).
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
        self._in_server_thread(
            self._require_server().emit,
            event,
            data=_payload(args),
            to=to,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
            **kwargs,
        )

    def emit_with_ack(self, event: str, *args: Any, **kwargs: Any) -> gevent.event.AsyncResult:
        """Emit ``event`` and return at once a gevent ``AsyncResult`` of the acknowledgements.

        Takes :meth:`emit`'s parameters (no ``callback``) and ``timeout``
        (seconds, 5 by default). To one client (``to=sid``), ``result.get()``
        returns its answer or raises
        :class:`~flask_sockevents.exceptions.AckTimeout` or
        :class:`~flask_sockevents.exceptions.AckDisconnected`; to a room or
        everyone, it returns a :class:`~flask_sockevents.ack_waiters.BroadcastAcks`
        (answers by sid, and ``missing``). Call it from the server's
        greenlets (handlers, background tasks). See :mod:`flask_sockevents.acks`.

        Example::

            result = sockevents.emit_with_ack("confirm", order, to=sid, timeout=10)
            ...
            answer = result.get()  # raises AckTimeout after 10 s without an answer
        """
        server = self._require_server()
        hub = server.eio.serving_hub
        if hub is not None and hub.thread_ident != _os_thread_id():
            raise RuntimeError(
                "emit_with_ack() waits on the server's greenlets: call it from a handler or a "
                "background task, or use emit(..., callback=fn, timeout=...) from this thread"
            )
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        include_self = kwargs.pop("include_self", True)
        skip_sid = kwargs.pop("skip_sid", None)
        if not include_self and not skip_sid:
            skip_sid = flask.request.sid  # type: ignore[attr-defined]
        return server.emit_with_ack(
            event, data=_payload(args), to=to, skip_sid=skip_sid, namespace=namespace, **kwargs
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
        self._in_server_thread(self._require_server().disconnect, sid, namespace=namespace or "/")

    def _in_server_thread(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``operation`` now, or hand it to the server's thread when called from another.

        An app written for Flask-SocketIO's threading mode emits from plain
        threads; when gevent has not patched ``threading`` those are real OS
        threads, and a gevent hub only notices work queued from another thread
        when something else wakes it (the next ping, seconds later). The
        operation is then handed over with ``run_callback_threadsafe``, which
        wakes the server's hub at once, and runs in a greenlet there.
        """
        hub = None if self.server is None else self.server.eio.serving_hub
        if hub is None or hub.thread_ident == _os_thread_id():
            operation(*args, **kwargs)
            return

        def run() -> None:
            try:
                operation(*args, **kwargs)
            except Exception:
                logger.exception("%r from another thread failed", operation)

        hub.loop.run_callback_threadsafe(gevent.spawn, run)

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
        *,
        debug: bool | None = None,
        use_reloader: bool | None = None,
        reloader_options: dict[str, Any] | None = None,
        extra_files: list[str] | None = None,
        log_output: bool | None = None,
        allow_unsafe_werkzeug: bool = False,
        shutdown_timeout: float | None = None,
        **wsgi_server_options: Any,
    ) -> None:
        """Serve ``app`` under gevent's pywsgi with gevent-websocket (blocks).

        Takes every argument Flask-SocketIO's ``run()`` takes, with the same
        meaning, under gevent:

        :param host: interface to bind (``127.0.0.1``).
        :param port: port (5000, or the port of ``SERVER_NAME``; 0 picks one).
        :param debug: Flask debug mode (``app.debug`` by default); in debug
            mode Werkzeug's interactive debugger answers HTTP errors, and the
            reloader and request log are on unless turned off.
        :param use_reloader: restart the process when a source file changes
            (Werkzeug's reloader; as Flask-SocketIO does under gevent, it
            first patches ``threading`` and ``time`` for gevent).
        :param reloader_options: the reloader's options: ``extra_files``,
            ``exclude_patterns``, ``interval`` (or ``reloader_interval``),
            ``reloader_type``.
        :param extra_files: more files whose change restarts the process
            (with ``use_reloader``); Flask-SocketIO's older spelling of
            ``reloader_options={"extra_files": ...}``.
        :param log_output: log each HTTP request (on in debug mode).
        :param allow_unsafe_werkzeug: accepted and ignored: Flask-SocketIO
            needs it to run Werkzeug's development server in production;
            gevent's pywsgi, a production server, is always used here.
        :param shutdown_timeout: seconds SIGTERM or SIGINT waits for running
            handlers (the ``shutdown_timeout`` option by default); see
            :meth:`shutdown`.
        :param header_timeout: also ``body_timeout``, ``max_http_connections``
            and ``max_http_connections_per_address``: override the option of
            that name for this server.
        :param wsgi_server_options: gevent ``WSGIServer`` options, as Flask-SocketIO
            passes them in gevent mode: SSL (``certfile``, ``keyfile``,
            ``ca_certs``, ``cert_reqs``, ``ssl_version``, ``ciphers``,
            ``ssl_context``...), ``backlog``, ``spawn``; Werkzeug's
            ``ssl_context=(certfile, keyfile)`` works too, as do the reloader
            keywords ``app.run()`` takes (``reloader_type``,
            ``reloader_interval``, ``exclude_patterns``).
        :raises TypeError: for any other keyword, naming it, before binding.
        """
        from .serving import run

        run(
            self,
            app or self.app,
            host=host,
            port=port,
            debug=debug,
            use_reloader=use_reloader,
            reloader_options=reloader_options,
            extra_files=extra_files,
            log_output=log_output,
            allow_unsafe_werkzeug=allow_unsafe_werkzeug,
            shutdown_timeout=shutdown_timeout,
            **wsgi_server_options,
        )

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


def _serving_mode(async_mode: Any) -> str:
    """The async mode to serve with for the ``async_mode`` an app asked for.

    :raises ValueError: for a mode that is neither gevent's nor one of
        Flask-SocketIO's (``threading``, ``eventlet``).
    """
    if async_mode is None:
        return "gevent"
    if async_mode in GEVENT_MODES:
        return str(async_mode)
    if async_mode in REPLACED_MODES:
        message = (
            f"async_mode={async_mode!r}: flask_sockevents serves under gevent, so this app "
            f"runs under gevent (threads and blocking calls are cooperative only once gevent "
            f"has monkey-patched the standard library: serve with `python -m flask_sockevents`, "
            f"or remove async_mode)"
        )
        warnings.warn(message, AsyncModeWarning, stacklevel=_caller_stacklevel())
        logger.warning("%s", message)
        return "gevent"
    raise ValueError(
        f"flask_sockevents serves under gevent: async_mode must be 'gevent' or "
        f"'gevent_uwsgi' (or Flask-SocketIO's 'threading' or 'eventlet', which then run "
        f"under gevent), not {async_mode!r}"
    )


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this module (the app's line)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _payload(args: tuple[Any, ...]) -> Any:
    """python-socketio's ``data``: one argument as is, several as a tuple."""
    if not args:
        return None
    return args[0] if len(args) == 1 else tuple(args)
