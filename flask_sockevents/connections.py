"""Connection-level limits of the served server: how many sockets, and how slowly they may talk.

A slowloris client opens sockets and sends its requests slowly, or never
finishes them, until the server has no file descriptor or greenlet left for
anyone else. :class:`GuardedWSGIServer` (gevent's pywsgi server, used by
:func:`~flask_sockevents.serving.make_server` and the gunicorn worker) takes
each accepted socket through these steps, in order:

1. **Accept.** The socket is counted against ``max_http_connections`` in
   total and ``max_http_connections_per_address`` for its peer's address (an
   IPv6 peer by its /64 prefix, which one host usually owns whole), from
   accept to close, whether or not it ever sent a byte. Over either cap it is
   closed at once: no greenlet is spawned, nothing is read, nothing is
   answered (an answer could only be read reliably after reading the
   request, the very work the cap avoids). The refused client sees the
   connection reset, as at a full backlog, and a Socket.IO client retries.
2. **TLS handshake** (when serving HTTPS): within ``header_timeout``.
3. **Headers.** The request line and headers must have arrived
   ``header_timeout`` seconds after the server starts waiting for them, for
   the first request and between two requests of a keep-alive connection.
   Otherwise the socket is closed without an answer: the client is gone or
   hostile, and HTTP lets a server close a connection that has no request
   in progress (clients retry a request whose reused connection closed).
   A request whose client hung up in the middle of its headers is dropped,
   not served.
4. **Body.** The body must have arrived ``body_timeout`` seconds after the
   headers. One of at most ``max_message_size`` bytes (every long-polling
   POST the Socket.IO endpoint accepts) is read in full before the app is
   called, so a stalled POST never reaches the app: the socket is closed
   without an answer. A larger or chunked body is read by the app through a
   stream that, at the same deadline, shuts the socket down and raises
   :class:`~flask_sockevents.request_deadlines.BodyTimeout`; what the app
   leaves unread is discarded under the same deadline.
5. **The app.** No deadline: a long-polling GET waits up to
   ``ping_interval`` for packets and a websocket lives as long as it
   answers pings (``ping_timeout`` ends it otherwise).
6. **Close.** The socket's counts are released.

Steps 3 and 4 are :class:`~flask_sockevents.request_deadlines.ServedHandler`'s.

Behind a reverse proxy on the same host every socket comes from the proxy's
address: set ``max_http_connections_per_address`` to ``None`` there and let
the proxy limit its clients. Sockets of a Unix-domain listener have no peer
address and are counted in the total only.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import Any

import gevent
from gevent import pywsgi

from .request_deadlines import ServedHandler
from .websocket import DEFAULT_MAX_MESSAGE_SIZE

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

__all__ = [
    "ConnectionGuard",
    "ConnectionLimits",
    "GuardedWSGIServer",
    "ServedHandler",
]

logger = logging.getLogger("flask_sockevents")

#: File descriptors kept free beside client sockets for the process itself:
#: the listening socket, the event loop, logs, Redis, files the app opens.
FILE_HEADROOM = 24
#: Seconds between two warnings about the same kind of refusal.
_WARNING_INTERVAL = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits a :class:`GuardedWSGIServer` enforces; ``None`` (or 0) turns one off.

    :param header_timeout: seconds for the request line and headers (and a
        TLS handshake) to arrive; also how long a keep-alive connection may
        wait idle for its next request.
    :param body_timeout: seconds for a request's body to arrive once its
        headers have.
    :param max_http_connections: open sockets in total, upgraded websockets
        and half-open sockets included; never more than the open-file limit
        allows (see :meth:`fitted_to_open_file_limit`), also when ``None``.
    :param max_http_connections_per_address: open sockets from one peer
        address (IPv6: one /64 prefix).
    :param max_body_buffer: bodies up to this many bytes are read before the
        app is called (the app's ``max_message_size``).
    """

    header_timeout: float | None = 10.0
    body_timeout: float | None = 30.0
    max_http_connections: int | None = 1000
    max_http_connections_per_address: int | None = 100
    max_body_buffer: int = DEFAULT_MAX_MESSAGE_SIZE

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ValueError(
                    f"{field.name} must be a non-negative number, or None for no limit; "
                    f"got {value!r}"
                )
            if value == 0 and field.name != "max_body_buffer":
                object.__setattr__(self, field.name, None)

    @classmethod
    def of(cls, application: Any, **overrides: Any) -> ConnectionLimits:
        """The limits configured on ``application``'s SockEvents, with ``overrides`` applied.

        :param application: the served WSGI app; when it is not a Flask app with
            SockEvents (say, wrapped in middleware), the defaults apply.
        :param overrides: field values that take precedence.
        """
        extensions = getattr(application, "extensions", None)
        sockevents = extensions.get("sockevents") if isinstance(extensions, dict) else None
        limits = getattr(sockevents, "connection_limits", None)
        if not isinstance(limits, ConnectionLimits):
            limits = cls()
        return replace(limits, **overrides) if overrides else limits

    def fitted_to_open_file_limit(self) -> ConnectionLimits:
        """These limits, with ``max_http_connections`` lowered to fit the process's file limit.

        Sockets are file descriptors: past ``ulimit -n`` the server cannot even
        accept a socket to refuse it. The total is lowered to the soft
        ``RLIMIT_NOFILE`` minus :data:`FILE_HEADROOM` (with a warning when it
        was set higher; ``None`` means up to that).
        """
        if resource is None:  # pragma: no cover - not on Windows
            return self
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self
        fits = max(1, soft - FILE_HEADROOM)
        total = self.max_http_connections
        if total is not None and total <= fits:
            return self
        if total is not None:
            logger.warning(
                "max_http_connections lowered from %d to %d: this process may open %d files "
                "(ulimit -n); raise that limit to serve more connections",
                total,
                fits,
                soft,
            )
        return replace(self, max_http_connections=fits)


class ConnectionGuard:
    """Counts open sockets in total and per address, and admits or refuses new ones.

    :param limits: the caps to enforce.
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0
        self.per_address: Counter[str] = Counter()
        #: Refused sockets and timed-out requests, by reason.
        self.counts: Counter[str] = Counter()
        self._warned: dict[str, float] = {}

    def admit(self, address: Any) -> bool:
        """Count a socket just accepted from ``address``; ``False`` if it must be closed."""
        limits = self.limits
        key = address_key(address)
        if limits.max_http_connections is not None and self.open >= limits.max_http_connections:
            self.refuse("max_http_connections", f"{self.open} open")
            return False
        per_address = limits.max_http_connections_per_address
        if key is not None and per_address is not None and self.per_address[key] >= per_address:
            self.refuse("max_http_connections_per_address", f"{per_address} open from {key}")
            return False
        self.open += 1
        if key is not None:
            self.per_address[key] += 1
        return True

    def release(self, address: Any) -> None:
        """Uncount a socket admitted from ``address``, now closed."""
        self.open -= 1
        key = address_key(address)
        if key is not None:
            self.per_address[key] -= 1
            if self.per_address[key] <= 0:
                del self.per_address[key]

    def refuse(self, reason: str, detail: str) -> None:
        """Count a refusal or a timeout; log it at most once a minute per reason."""
        self.counts[reason] += 1
        now = time.monotonic()
        if now - self._warned.get(reason, -_WARNING_INTERVAL) >= _WARNING_INTERVAL:
            self._warned[reason] = now
            logger.warning(
                "closing HTTP connections: %s (%s; %d so far)", reason, detail, self.counts[reason]
            )

    def stats(self) -> dict[str, Any]:
        """Open sockets, the busiest addresses, and the refusals and timeouts by reason."""
        return {
            "open": self.open,
            "busiest_addresses": dict(self.per_address.most_common(5)),
            "closed": dict(self.counts),
        }


def address_key(address: Any) -> str | None:
    """What ``max_http_connections_per_address`` counts a peer by; ``None`` for none.

    An IPv4 address as it is (also when mapped into IPv6), an IPv6 address by
    its /64 prefix, a Unix-domain peer not at all.
    """
    if not isinstance(address, tuple) or not address:
        return None
    host = str(address[0])
    if ":" not in host:
        return host
    if host.startswith("::ffff:") and "." in host:
        return host[7:]
    try:
        import ipaddress

        exploded = ipaddress.IPv6Address(host.split("%", 1)[0]).exploded
    except ValueError:
        return host
    return exploded[:19] + "::/64"


class GuardedWSGIServer(pywsgi.WSGIServer):
    """gevent's WSGI server, enforcing :class:`ConnectionLimits` (see the module's steps).

    :param limits: the limits; by default those of ``application``'s
        SockEvents. ``max_http_connections`` is lowered to fit the process's
        open-file limit and, with a gevent ``Pool`` as ``spawn`` (as gunicorn
        gives), to the pool's size, so that the pool never stops the server
        from accepting (and refusing) sockets.
    :param kwargs: ``gevent.pywsgi.WSGIServer`` arguments.
    """

    handler_class = ServedHandler

    def __init__(
        self,
        listener: Any,
        application: Any = None,
        *args: Any,
        limits: ConnectionLimits | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(listener, application, *args, **kwargs)
        limits = (limits or ConnectionLimits.of(self.application)).fitted_to_open_file_limit()
        pool_size = getattr(self.pool, "size", None)
        total = limits.max_http_connections
        if pool_size is not None and (total is None or total > pool_size):
            limits = replace(limits, max_http_connections=pool_size)
        self.connection_limits = limits
        self.connection_guard = ConnectionGuard(limits)

    def do_read(self) -> Any:
        """Accept the next socket; close at once those over a cap (step 1)."""
        for _ in range(self.max_accept):
            accepted = super().do_read()
            if not accepted:
                return None
            client, address = accepted
            if self.connection_guard.admit(address):
                return client, address
            with contextlib.suppress(OSError):
                client.close()
        return None  # resume on the next turn of the event loop: others run first

    def do_close(self, client: Any, address: Any, *args: Any) -> None:
        """Close a socket whose handler returned, and uncount it (step 6)."""
        try:
            super().do_close(client, address, *args)
        finally:
            self.connection_guard.release(address)

    def wrap_socket_and_handle(self, client: Any, address: Any) -> Any:
        """Handle an HTTPS socket whose TLS handshake ends within ``header_timeout`` (step 2).

        A handshake that fails or comes late closes the socket quietly.
        """
        tls = self.wrap_socket(client, **{**self.ssl_args, "do_handshake_on_connect": False})
        with contextlib.closing(tls):
            seconds = self.connection_limits.header_timeout
            deadline = gevent.Timeout(seconds) if seconds else None
            if deadline is not None:
                deadline.start()
            try:
                tls.do_handshake()
            except gevent.Timeout as exc:
                if exc is not deadline:
                    raise
                self.connection_guard.refuse("header_timeout", "TLS handshake")
                return None
            except OSError:  # ssl.SSLError included: not TLS, or a peer that left
                return None
            finally:
                if deadline is not None:
                    deadline.close()
            return self.handle(tls, address)
