"""A gunicorn worker serving with the hardened websocket handler.

::

    gunicorn -k flask_sockevents.gunicorn.GeventWebSocketWorker -w 1 app:app

It is gevent-websocket's gunicorn worker with the handler of
:mod:`flask_sockevents.websocket`, so the app's ``max_message_size`` is
enforced from each frame's header, hostile frames are closed at once and every
accepted socket has ``TCP_NODELAY`` set, as under ``python -m flask_sockevents``.
Needs gunicorn (``pip install gunicorn``).
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker

from .websocket import WebSocketHandler

__all__ = ["GeventWebSocketWorker"]


class GeventWebSocketWorker(GeventPyWSGIWorker):
    """gunicorn's gevent worker, upgrading with the hardened websocket handler."""

    wsgi_handler = WebSocketHandler
