"""Serving under gevent: pywsgi with the hardened websocket handler, stopped gracefully.

:func:`run` is what :meth:`SockEvents.run <flask_sockevents.SockEvents.run>`,
``python -m flask_sockevents`` and ``flask sockevents run`` do: bind, connect
to the message queue (if any) before the first client, serve, and on SIGTERM
or SIGINT shut down gracefully (:mod:`flask_sockevents.shutdown`); a second
signal stops at once.

gevent must have monkey-patched the standard library before the app and its
libraries were imported (``python -m flask_sockevents`` sees to it); a
message queue refuses to start otherwise.
"""

from __future__ import annotations

import gc
import logging
import signal
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = ["freeze_startup_heap", "make_server", "run"]

logger = logging.getLogger("flask_sockevents")

#: The options of :func:`make_server` (and :func:`run`) that override the app's
#: connection limits.
CONNECTION_LIMITS = (
    "header_timeout",
    "body_timeout",
    "max_http_connections",
    "max_http_connections_per_address",
)

#: The signals that stop :func:`run` gracefully.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def make_server(
    app: Flask, host: str = "127.0.0.1", port: int = 5000, log_output: bool = False, **kwargs: Any
) -> Any:
    """A gevent WSGI server for ``app`` that speaks websocket (not started).

    It enforces the app's connection limits (``header_timeout``,
    ``body_timeout``, ``max_http_connections``,
    ``max_http_connections_per_address``; see
    :mod:`flask_sockevents.connections`).

    :param port: 0 picks a free port (read it back from ``server.server_port``).
    :param log_output: log each HTTP request.
    :param kwargs: a connection limit by its option name overrides the app's
        (``None`` or 0: no limit); the rest are ``gevent.pywsgi.WSGIServer``
        options (``certfile``...).
    """
    from .connections import ConnectionLimits, GuardedWSGIServer

    overrides = {name: kwargs.pop(name) for name in CONNECTION_LIMITS if name in kwargs}
    return GuardedWSGIServer(
        (host, port),
        app,
        log=logging.getLogger("flask_sockevents.access") if log_output else None,
        limits=ConnectionLimits.of(app, **overrides),
        **kwargs,
    )


#: ``run()`` keywords passed on to gevent's ``WSGIServer``: its SSL options
#: (what ``ssl.wrap_socket`` takes, or an ``ssl_context``) and its own.
SERVER_OPTIONS = frozenset(
    {
        "keyfile",
        "certfile",
        "ca_certs",
        "cert_reqs",
        "ssl_version",
        "ciphers",
        "server_side",
        "do_handshake_on_connect",
        "suppress_ragged_eofs",
        "ssl_context",
        "backlog",
        "spawn",
        "environ",
        "error_log",
    }
)
#: Werkzeug's reloader options as ``app.run()`` names them (``run()`` takes
#: them as keywords), with their names in ``run_with_reloader``.
RELOADER_KEYWORDS = {
    "exclude_patterns": "exclude_patterns",
    "reloader_interval": "interval",
    "reloader_type": "reloader_type",
}
#: What ``reloader_options`` may hold: ``run_with_reloader``'s keywords and
#: ``app.run()``'s names for them.
RELOADER_OPTIONS = {**RELOADER_KEYWORDS, "extra_files": "extra_files", "interval": "interval"}


def run(
    sockevents: SockEvents,
    app: Flask | None,
    host: str | None = None,
    port: int | None = None,
    debug: bool | None = None,
    use_reloader: bool | None = None,
    log_output: bool | None = None,
    reloader_options: dict[str, Any] | None = None,
    extra_files: list[str] | None = None,
    allow_unsafe_werkzeug: bool = False,
    shutdown_timeout: float | None = None,
    **kwargs: Any,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; see :meth:`SockEvents.run`.

    :param shutdown_timeout: seconds a graceful shutdown waits for handlers
        (the extension's ``shutdown_timeout`` option by default).
    :raises TypeError: for a keyword that is none of the above, of
        :data:`SERVER_OPTIONS`, of the connection limits or of
        :data:`RELOADER_OPTIONS`, before binding.
    """
    server_options = _server_options(kwargs)
    reloader = _reloader_options(reloader_options, extra_files, kwargs)
    del allow_unsafe_werkzeug  # Werkzeug's development server is never used
    if app is None:
        raise RuntimeError("SockEvents.run() needs an app: pass it or call init_app(app) first")
    if host is None:
        host = "127.0.0.1"
    if port is None:
        server_name = app.config.get("SERVER_NAME")
        port = int(server_name.rsplit(":", 1)[1]) if server_name and ":" in server_name else 5000
    if debug is not None:
        app.debug = debug
    if use_reloader is None:
        use_reloader = app.debug
    if log_output is None:
        log_output = app.debug
    if shutdown_timeout is not None:
        sockevents.shutdown_timeout = shutdown_timeout
    if app.debug:
        _install_debugger(app)

    def serve() -> None:
        server = make_server(app, host, port, log_output=log_output, **server_options)
        server.start()
        sockevents.wsgi_server = server
        _connect_message_queue(sockevents)
        freeze_startup_heap()
        stopping = _StopOnSignal(sockevents)
        scheme = "https" if server.ssl_enabled else "http"
        logger.warning("flask_sockevents serving on %s://%s:%s", scheme, host, server.server_port)
        try:
            server.serve_forever()
            stopping.wait()
        finally:
            stopping.uninstall()
            sockevents.wsgi_server = None

    if use_reloader:
        from gevent import monkey

        from .dependencies import run_with_reloader

        # Werkzeug's reloader serves from a daemon thread and exits from the main
        # one; a gevent hub left running in a real thread can crash the
        # interpreter's exit, and the reloader then stops instead of restarting.
        # As Flask-SocketIO does under gevent: make that thread a greenlet.
        monkey.patch_thread()
        monkey.patch_time()
        run_with_reloader(serve, **reloader)
    else:
        serve()


def _server_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The ``WSGIServer`` options and connection limits among ``run()``'s extra keywords.

    Werkzeug's ``ssl_context`` (what ``app.run()`` takes) is translated: a
    ``(certfile, keyfile)`` pair becomes gevent's ``certfile`` and ``keyfile``;
    an :class:`ssl.SSLContext` is passed on.

    :raises TypeError: for a keyword neither a server option, a connection
        limit nor a reloader option.
    """
    unknown = sorted(set(kwargs) - SERVER_OPTIONS - set(RELOADER_KEYWORDS) - set(CONNECTION_LIMITS))
    if unknown:
        raise TypeError(
            f"run() got an unexpected keyword argument {unknown[0]!r} (it takes "
            f"Flask-SocketIO's run() arguments, {', '.join(sorted(RELOADER_KEYWORDS))}, "
            f"the connection limits {', '.join(sorted(CONNECTION_LIMITS))} "
            f"and gevent's WSGIServer options: {', '.join(sorted(SERVER_OPTIONS))})"
        )
    limits = {key: value for key, value in kwargs.items() if key in CONNECTION_LIMITS}
    options = {key: value for key, value in kwargs.items() if key in SERVER_OPTIONS}
    context = options.get("ssl_context")
    if isinstance(context, (tuple, list)):
        del options["ssl_context"]
        options["certfile"], options["keyfile"] = context
    elif context == "adhoc":
        raise ValueError(
            "ssl_context='adhoc' is not supported: pass certfile= and keyfile= "
            "(a self-signed pair: `openssl req -x509 -newkey rsa:2048 -nodes "
            "-keyout key.pem -out cert.pem`)"
        )
    return {**{key: value for key, value in options.items() if value is not None}, **limits}


def _reloader_options(
    reloader_options: dict[str, Any] | None, extra_files: list[str] | None, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """``run_with_reloader``'s keywords from ``reloader_options``, ``extra_files``
    and the reloader keywords of ``app.run()`` (``reloader_type``...).

    :raises TypeError: for a ``reloader_options`` key Werkzeug does not know.
    """
    options: dict[str, Any] = {}
    for key, value in (reloader_options or {}).items():
        if key not in RELOADER_OPTIONS:
            raise TypeError(f"run() got an unexpected reloader option {key!r}")
        options[RELOADER_OPTIONS[key]] = value
    for key, value in kwargs.items():
        if key in RELOADER_KEYWORDS:
            options[RELOADER_KEYWORDS[key]] = value
    if extra_files:
        options["extra_files"] = [*(options.get("extra_files") or []), *extra_files]
    return options


def _install_debugger(app: Flask) -> None:
    """Put Werkzeug's debugger between the Socket.IO middleware and the app, as
    Flask-SocketIO does in debug mode (HTTP errors show the interactive traceback)."""
    from werkzeug.debug import DebuggedApplication

    middleware = app.wsgi_app
    inner = getattr(middleware, "wsgi_app", None)
    if inner is not None and not isinstance(inner, DebuggedApplication):
        middleware.wsgi_app = DebuggedApplication(inner, evalex=True)  # type: ignore[attr-defined]


def freeze_startup_heap() -> None:
    """Hide what start-up allocated from the garbage collector, once the app is loaded.

    The app, its modules, routes and templates live as long as the process,
    yet every full collection rescans them while traffic allocates packets:
    in a broadcast to 1,000 clients that cost about 12% more CPU per delivery
    than a bare python-socketio server (see ``bench/``). ``gc.freeze()`` moves
    them to a generation the collector never scans; objects created later are
    collected as usual.
    """
    gc.collect()
    gc.freeze()


def _connect_message_queue(sockevents: SockEvents) -> None:
    """Subscribe to the message queue now rather than when the first client connects.

    python-socketio starts its manager lazily; starting it here means a
    broadcast sent by another process right after this one is up already
    reaches this process's clients.
    """
    server = sockevents.server
    if server is not None and not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def _in_main_os_thread() -> bool:
    """Whether this runs in the process's main OS thread, where signals can be handled."""
    try:
        signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM))
    except ValueError:
        return False
    return True


class _StopOnSignal:
    """SIGTERM and SIGINT handlers: the first shuts down gracefully, the next at once."""

    def __init__(self, sockevents: SockEvents) -> None:
        import gevent

        self.sockevents = sockevents
        self.worker: Any = None
        self.handlers: list[Any] = []
        if _in_main_os_thread():
            self.handlers = [
                gevent.signal_handler(sig, self.on_signal, sig) for sig in STOP_SIGNALS
            ]

    def on_signal(self, signum: int) -> None:
        import gevent

        name = signal.Signals(signum).name
        if self.worker is None:
            logger.warning(
                "%s: stopping (up to %s s for running handlers)",
                name,
                self.sockevents.shutdown_timeout,
            )
            self.worker = gevent.spawn(self.sockevents.shutdown)
            return
        logger.warning("%s again: stopping now", name)
        self.worker.kill(block=False)
        if self.sockevents.wsgi_server is not None:
            self.sockevents.wsgi_server.stop(timeout=0)

    def wait(self) -> None:
        """Wait for a shutdown started by a signal to end."""
        if self.worker is not None:
            self.worker.join()

    def uninstall(self) -> None:
        """Restore the default handlers."""
        for handler in self.handlers:
            handler.cancel()
        self.handlers = []
