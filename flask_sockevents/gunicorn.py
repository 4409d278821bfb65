"""A gunicorn worker serving with the hardened websocket handler and the connection limits.

::

    gunicorn -k flask_sockevents.gunicorn.GeventWebSocketWorker -w 1 app:app

It is gevent-websocket's gunicorn worker with the handler of
:mod:`flask_sockevents.websocket`, so the app's ``max_message_size`` is
enforced from each frame's header, hostile frames are closed at once and every
accepted socket has ``TCP_NODELAY`` set; it runs with the server of
:mod:`flask_sockevents.connections`, so the app's ``header_timeout``,
``body_timeout``, ``max_http_connections`` and
``max_http_connections_per_address`` hold as under ``python -m
flask_sockevents``. ``max_http_connections`` is at most gunicorn's
``--worker-connections`` (1000), so that the worker refuses sockets past the
cap instead of leaving them in the listen backlog. Needs gunicorn (``pip
install gunicorn``).
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker

from .connections import GuardedWSGIServer, ServedHandler

__all__ = ["GeventWebSocketWorker"]


class GeventWebSocketWorker(GeventPyWSGIWorker):
    """gunicorn's gevent worker, with the hardened handler and the app's connection limits."""

    server_class = GuardedWSGIServer
    wsgi_handler = ServedHandler
