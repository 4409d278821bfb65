"""The chat example configured for several processes behind a proxy.

Serve it with ``python -m flask_sockevents examples/production/wsgi.py:app
--port 5001`` (see README.md). Settings come from the environment:

- ``SOCKEVENTS_MESSAGE_QUEUE``: the queue every process shares
  (``redis://127.0.0.1:6379/0`` by default);
- ``SOCKEVENTS_SHUTDOWN_TIMEOUT``: seconds SIGTERM waits for running handlers.

- ``MONITOR_ALLOW``: comma-separated client addresses allowed to open the
  bus monitor at ``/sockevents/`` (nobody by default).

Behind a proxy every client arrives from the proxy's address, so the
per-address connection cap is lifted here; let the proxy limit connections.
werkzeug's ``ProxyFix`` sets ``request.remote_addr`` from the
``X-Forwarded-For`` that nginx (the one proxy trusted, ``x_for=1``) appends,
and the monitor gets an explicit ``check``: its default, which trusts the
loopback, refuses every request relayed by a proxy.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

CHAT = Path(__file__).resolve().parent.parent / "chat" / "app.py"


def _chat_module() -> object:
    """Import ``examples/chat/app.py`` as the module ``chat_app``."""
    spec = importlib.util.spec_from_file_location("chat_app", CHAT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def monitor_allowed() -> bool:
    """The monitor's check: the client's own address (set by ProxyFix) is in ``MONITOR_ALLOW``."""
    allowed = {address.strip() for address in os.environ.get("MONITOR_ALLOW", "").split(",")}
    return bool(request.remote_addr) and request.remote_addr in allowed


def create_app() -> Flask:
    """The chat app, sharing its emits with the other processes through the queue."""
    app: Flask = _chat_module().create_app(  # type: ignore[attr-defined]
        monitor_check=monitor_allowed,
        message_queue=os.environ.get("SOCKEVENTS_MESSAGE_QUEUE", "redis://127.0.0.1:6379/0"),
        shutdown_timeout=float(os.environ.get("SOCKEVENTS_SHUTDOWN_TIMEOUT", "10")),
        # Every connection comes from nginx on 127.0.0.1: per-address caps would
        # count all clients as one. nginx times out slow clients itself.
        max_connections_per_address=None,
        max_http_connections_per_address=None,
    )
    # Outermost, so that the Socket.IO server sees the client's address too.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    return app


app = create_app()
