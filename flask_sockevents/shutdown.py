"""Graceful shutdown: finish what clients sent, say goodbye, flush the listeners.

:func:`shutdown` is what SIGTERM and SIGINT do to a server started by
:meth:`SockEvents.run <flask_sockevents.SockEvents.run>`, in this order:

1. the listening socket is closed: no new connection is accepted;
2. every event already received is dispatched: its handler finishes and its
   acknowledgement is sent;
3. every client is disconnected from every namespace, with reason
   ``SERVER_DISCONNECT`` (``"server disconnect"``): each disconnect is
   published on the bus exactly once, after that client's last event;
4. the transports are closed;
5. every listener with a ``close()`` method is closed, so an
   :class:`~flask_sockevents.listeners.AuditLog` ends with those disconnects
   and is flushed to disk;
6. :meth:`SockEvents.run` returns and the process exits with status 0.

Steps 2 to 4 share one deadline, the ``shutdown_timeout`` option (10 s):
a handler still running then is abandoned and :func:`shutdown` returns
``False``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = ["close_listeners", "shutdown"]

logger = logging.getLogger("flask_sockevents")


def shutdown(sockevents: SockEvents, timeout: float) -> bool:
    """Stop ``sockevents``'s server gracefully (see the module's documentation).

    :param sockevents: the extension; its server may be running or not.
    :param timeout: seconds allowed for handlers and goodbyes.
    :return: ``True`` if every handler finished within ``timeout``.
    """
    started = time.monotonic()
    wsgi_server = sockevents.wsgi_server
    if wsgi_server is not None and not wsgi_server.closed:
        wsgi_server.close()
    server = sockevents.server
    finished = server.shutdown_gracefully(timeout) if server is not None else True
    closed = close_listeners(sockevents)
    logger.warning(
        "flask_sockevents stopped in %.2f s%s; %d listener(s) closed",
        time.monotonic() - started,
        "" if finished else f" (handlers still running after {timeout} s were abandoned)",
        closed,
    )
    return finished


def close_listeners(sockevents: SockEvents) -> int:
    """Call ``close()`` once on every bus listener that has one; return how many.

    A listener is the object given to ``listen`` (an
    :class:`~flask_sockevents.listeners.AuditLog`, say). Errors are logged,
    never raised.
    """
    closed = 0
    for listener in sockevents.bus.router.listeners():
        close = getattr(listener, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                logger.exception("closing listener %r failed", listener)
            else:
                closed += 1
    return closed
