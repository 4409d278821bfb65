"""Reading a request within its deadlines: steps 3 and 4 of :mod:`flask_sockevents.connections`.

:class:`ServedHandler` is the websocket handler of
:mod:`flask_sockevents.websocket`, reading each request under the limits of
the server that spawned it (a :class:`~flask_sockevents.connections.GuardedWSGIServer`):

1. the request line and headers within ``header_timeout`` of the handler
   waiting for them (also the wait for the next request of a keep-alive
   connection); late, the socket is closed without an answer;
2. a request whose client hung up in the middle of its headers is dropped:
   the standard library's parser takes the end of the stream for the blank
   line ending them;
3. once the headers are in, the header clock stops and the body's starts:
   a body of at most ``max_body_buffer`` bytes is read in full before the
   app runs, and a stalled one closes the socket without the app ever seeing
   the request; a larger or chunked body is read by the app through a stream
   that, at the deadline, shuts the socket down and raises
   :class:`BodyTimeout` (gevent's discarding of what the app left unread
   reads through it too);
4. the app runs without a deadline.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from typing import TYPE_CHECKING, Any

import gevent
from gevent import pywsgi
from werkzeug.exceptions import ClientDisconnected

from .websocket import WebSocketHandler

if TYPE_CHECKING:
    from .connections import ConnectionLimits

__all__ = ["BodyTimeout", "ServedHandler"]


class BodyTimeout(ClientDisconnected, OSError):
    """A request body did not arrive within ``body_timeout``; the socket was shut down.

    Raised to an app reading the body. It is werkzeug's ``ClientDisconnected``,
    so Flask treats it as the client error it is (a 400 nobody will read,
    without logging a traceback), and an ``OSError``, as a read from a
    vanished peer raises under any WSGI framework.
    """


class _RequestCutOff(BaseException):
    """The client ended the connection in the middle of the request's headers.

    A ``BaseException``: it must pass the ``except Exception`` around gevent's
    header parsing, which would answer 400 to a peer that is gone.
    """


class _LastLine:
    """A reader's ``readline``, remembering the last line it returned."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.last = b""

    def readline(self, *args: Any) -> bytes:
        self.last = self.reader.readline(*args)
        return self.last


class _DeadlineInput(pywsgi.Input):
    """gevent's request body stream, ending the connection at a deadline.

    :attr:`deadline` is a ``time.monotonic()`` value; :attr:`expire` shuts the
    connection down and raises :class:`BodyTimeout`.
    """

    __slots__ = ("deadline", "expire")

    def read(self, length: int | None = None) -> bytes:
        return self._before_deadline(super().read, length)

    def readline(self, size: int | None = None) -> bytes:
        return self._before_deadline(super().readline, size)

    def _before_deadline(self, read: Any, size: int | None) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.expire()
        timer = gevent.Timeout(remaining)
        timer.start()
        try:
            return read(size)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            self.expire()
        finally:
            timer.close()


class ServedHandler(WebSocketHandler):
    """The websocket handler, reading each request within the server's timeouts.

    Under a server without ``connection_limits`` (a plain pywsgi server) it is
    :class:`~flask_sockevents.websocket.WebSocketHandler` unchanged.
    """

    _header_deadline: gevent.Timeout | None = None

    def _limits(self) -> ConnectionLimits | None:
        return getattr(self.server, "connection_limits", None)

    def handle_one_request(self) -> Any:
        """Read and answer one request; close the socket if its headers come late."""
        limits = self._limits()
        seconds = limits.header_timeout if limits is not None else None
        deadline = self._header_deadline = gevent.Timeout(seconds) if seconds else None
        if deadline is not None:
            deadline.start()
        try:
            return super().handle_one_request()
        except _RequestCutOff:
            return None
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            self.server.connection_guard.refuse("header_timeout", "request headers")
            return None
        finally:
            if deadline is not None:
                deadline.close()
            self._header_deadline = None

    def MessageClass(self, fp: Any, *args: Any) -> Any:
        """Parse the headers; a request cut off before the blank line ending them goes no further.

        The standard library's parser stops at the end of the stream as at a
        blank line, so a client that sent half its headers and hung up would
        still have its request served (a long-polling handshake would open a
        session nobody will use).
        """
        lines = _LastLine(fp)
        headers = super().MessageClass(lines, *args)
        if not headers.status and lines.last not in (b"\r\n", b"\n"):
            raise _RequestCutOff
        return headers

    def get_environ(self) -> Any:
        """The request's environ, once its headers are in: the body's clock starts."""
        environ = super().get_environ()
        limits = self._limits()
        gevent_input: Any = getattr(self, "wsgi_input", None)
        if limits is not None and limits.body_timeout and environ["wsgi.input"] is gevent_input:
            body = _DeadlineInput(
                self.rfile,
                self.content_length,
                socket=gevent_input.socket,
                chunked_input=gevent_input.chunked_input,
            )
            body.deadline = time.monotonic() + limits.body_timeout
            body.expire = self._body_timed_out
            self.wsgi_input = environ["wsgi.input"] = body
        return environ

    def handle_one_response(self) -> None:
        """Stop the header clock, read a small body in full, then run the app."""
        if self._header_deadline is not None:
            self._header_deadline.close()  # from here on, time is the app's
        body = getattr(self, "wsgi_input", None)
        limits = self._limits()
        if isinstance(body, _DeadlineInput) and limits is not None:
            length = self.content_length or 0
            if 0 < length <= limits.max_body_buffer and not body.chunked_input:
                try:
                    self.environ["wsgi.input"] = io.BytesIO(body.read(length))
                except OSError:  # the deadline passed, or the client went away
                    self.close_connection = True
                    return
        super().handle_one_response()

    def _body_timed_out(self) -> None:
        self.server.connection_guard.refuse("body_timeout", "request body")
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        raise BodyTimeout("request body not received within body_timeout")
