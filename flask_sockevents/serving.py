"""Serving under gevent: pywsgi with gevent-websocket's handler."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = ["make_server", "run"]

logger = logging.getLogger("flask_sockevents")


def make_server(
    app: Flask, host: str = "127.0.0.1", port: int = 5000, log_output: bool = False, **kwargs: Any
) -> Any:
    """A gevent ``WSGIServer`` for ``app`` that speaks websocket (not started).

    :param port: 0 picks a free port (read it back from ``server.server_port``).
    :param log_output: log each HTTP request.
    :param kwargs: more ``gevent.pywsgi.WSGIServer`` options (``certfile``...).
    """
    from gevent import pywsgi

    from .websocket import DEFAULT_MAX_MESSAGE_SIZE, handler_class

    sockevents = app.extensions.get("sockevents")
    max_message_size = getattr(sockevents, "max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
    return pywsgi.WSGIServer(
        (host, port),
        app,
        handler_class=handler_class(max_message_size),
        log=logging.getLogger("flask_sockevents.access") if log_output else None,
        **kwargs,
    )


def run(
    sockevents: SockEvents,
    app: Flask | None,
    host: str | None = None,
    port: int | None = None,
    debug: bool | None = None,
    use_reloader: bool | None = None,
    log_output: bool | None = None,
    reloader_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Serve ``app`` until interrupted; see :meth:`SockEvents.run`."""
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

    def serve() -> None:
        server = make_server(app, host, port, log_output=log_output, **kwargs)
        sockevents.wsgi_server = server
        logger.warning("flask_sockevents serving on http://%s:%s", host, port)
        try:
            server.serve_forever()
        finally:
            sockevents.wsgi_server = None

    if use_reloader:
        from werkzeug._reloader import run_with_reloader

        run_with_reloader(serve, **(reloader_options or {}))
    else:
        serve()
