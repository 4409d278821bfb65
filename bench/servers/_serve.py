"""Serve a WSGI app the way every Python reference server in the benchmark does.

gevent's ``pywsgi`` server with gevent-websocket's handler, on 127.0.0.1 and an
ephemeral port. Once listening, the server prints one JSON line,
``{"port": N, "pid": P}``, on standard output: the harness reads the port from it.
The caller must have monkey-patched the standard library with gevent first.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
from typing import Any

from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit and return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def quiet_logs() -> None:
    """Silence the per-packet and per-request logs that would distort the measurements."""
    for name in ("engineio", "socketio", "engineio.server", "socketio.server", "geventwebsocket"):
        logging.getLogger(name).setLevel(logging.ERROR)


def serve(app: Any, handler_class: Any = WebSocketHandler) -> None:
    """Serve ``app`` on 127.0.0.1 and an ephemeral port until the process is terminated.

    :param app: the WSGI application (a Flask app or a python-socketio ``WSGIApp``).
    :param handler_class: the pywsgi handler; gevent-websocket's by default, as
        the peers are deployed.
    """
    raise_fd_limit()
    quiet_logs()
    server = WSGIServer(("127.0.0.1", 0), app, handler_class=handler_class, log=None, backlog=2048)
    server.start()
    sys.stdout.write(json.dumps({"port": server.server_port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    server.serve_forever()
