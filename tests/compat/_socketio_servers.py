"""python-socketio's own server and ``sockevents.server``, served side by side for the same test.

A test of python-socketio's server API takes the ``target`` fixture (see
``conftest.py``), registers handlers on ``target.server`` exactly as a
python-socketio app does, starts it and talks to it with python-socketio's
``Client``. It runs twice: against ``socketio.Server(async_mode="gevent")``
wrapped in ``socketio.WSGIApp`` and served by gevent's pywsgi with
gevent-websocket, and against ``SockEvents(app).server`` served as our apps
are. Both must give the same outcome.
"""

from __future__ import annotations

from typing import Any

import socketio
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.testing import LiveServer

__all__ = ["IMPLEMENTATIONS", "BareSocketIOServer", "ServerUnderTest"]

#: The two servers each test runs against.
IMPLEMENTATIONS = ("python-socketio", "sockevents")


class BareSocketIOServer(LiveServer):
    """Serve a plain WSGI app with gevent's pywsgi and gevent-websocket's stock handler."""

    def __init__(self, wsgi_app: Any) -> None:
        super().__init__(wsgi_app)

    def make_server(self) -> Any:
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        return pywsgi.WSGIServer((self.host, 0), self.app, handler_class=WebSocketHandler, log=None)


class ServerUnderTest:
    """One of the two servers, not started yet.

    :param implementation: ``"python-socketio"`` or ``"sockevents"``.
    :param options: options of ``socketio.Server`` (given to ``SockEvents``
        for ours, which passes them on).

    ``server`` is where a python-socketio app registers its handlers;
    ``sockevents`` is the extension (``None`` for python-socketio's server).
    """

    def __init__(self, implementation: str, **options: Any) -> None:
        self.implementation = implementation
        options.setdefault("ping_interval", 0.25)
        self.sockevents: SockEvents | None = None
        self.wsgi_app: Any
        if implementation == "python-socketio":
            self.server: Any = socketio.Server(async_mode="gevent", **options)
            self.wsgi_app = socketio.WSGIApp(self.server)
        else:
            app = Flask(__name__)
            app.config["SECRET_KEY"] = "compat"
            self.sockevents = SockEvents(app, **options)
            self.server = self.sockevents.server
            self.wsgi_app = app
        self._live: LiveServer | None = None

    @property
    def url(self) -> str:
        """The base URL, serving from the first use on."""
        if self._live is None:
            if self.sockevents is None:
                self._live = BareSocketIOServer(self.wsgi_app).start()
            else:
                self._live = LiveServer(self.wsgi_app).start()
        return self._live.url

    def stop(self) -> None:
        """Stop serving (if it was started)."""
        if self._live is not None:
            self._live.stop()
