"""The websocket transport: gevent-websocket, hardened against hostile frames.

gevent-websocket reads a frame's whole payload before anything can look at its
size, accepts unmasked client frames, lets a message grow through endless
continuation frames, and unmasks and validates UTF-8 byte by byte in pure Python, so one
client sending a large text message stalls every other client of the process.
:class:`WebSocketHandler` installs :class:`LimitedWebSocket` instead, which:

- refuses a message larger than ``max_message_size`` from its frame header,
  before reading the payload (close code 1009);
- closes on unmasked client frames, reserved bits and unknown opcodes (1002);
- allows at most ``max_frames_per_message`` frames in one message (1002);
- unmasks payloads and validates UTF-8 of text messages at C speed (1007
  when invalid);
- closes on text messages python-engineio cannot decode (1002): it decodes
  them outside any error handling, which would leave the session open
  until its ping timeout;
- yields to the other greenlets after each ping or pong control frame, which
  it handles without returning a message (every message is charged by
  :mod:`flask_sockevents.budget`).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import struct
import sys
from typing import Any

import gevent
from engineio.packet import Packet as EngineIOPacket
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler as _GeventWebSocketHandler
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_CLOSED, Header, WebSocket

from .http_headers import PlainHeaders, read_headers

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FrameError",
    "LimitedWebSocket",
    "MessageTooBig",
    "WebSocketHandler",
]

DEFAULT_MAX_MESSAGE_SIZE = 1_000_000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_MESSAGE_TOO_BIG = 1009
_DIGITS = frozenset("0123456789")


class FrameError(ProtocolError):
    """A client frame broke a rule; the message is the reason counted in ``protocol_errors``."""


class MessageTooBig(WebSocketError):
    """A client announced a message larger than ``max_message_size``."""


class LimitedWebSocket(WebSocket):
    """A gevent-websocket ``WebSocket`` that enforces size and framing rules while reading.

    The limits are class attributes (the base class has ``__slots__``, and the
    handler swaps the class of a live socket): see :func:`handler_class`.
    """

    __slots__ = ()
    max_message_size = DEFAULT_MAX_MESSAGE_SIZE
    max_frames_per_message = 1024

    def read_frame(self, budget: int | None = None) -> tuple[Any, bytes]:
        """Read one frame, refusing it from its header when it breaks a rule.

        :param budget: bytes the current message may still grow by.
        :raises MessageTooBig: the frame would take the message over the limit.
        :raises ProtocolError: reserved bits, or an unmasked frame.
        """
        header = Header.decode_header(self.stream)
        if header.flags:
            raise FrameError("websocket frame with reserved bits")
        if not header.mask:
            raise FrameError("unmasked websocket frame")
        if header.length > (self.max_message_size if budget is None else budget):
            raise MessageTooBig(f"message larger than {self.max_message_size} bytes")
        if not header.length:
            return header, b""
        payload = self.raw_read(header.length)
        if payload is None or len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        return header, _unmask(payload, header.mask)

    def read_message(self) -> Any:
        """Return the next text (``str``) or binary (``bytes``) message, or ``None`` on close."""
        opcode = None
        message = bytearray()
        frames = 0
        while True:
            budget = self.max_message_size - len(message)
            header, payload = self.read_frame(budget)
            frame_opcode = header.opcode
            if frame_opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
                if opcode:
                    raise FrameError("websocket message started inside a fragmented one")
                opcode = frame_opcode
            elif frame_opcode == self.OPCODE_CONTINUATION:
                if not opcode:
                    raise FrameError("websocket continuation frame without a message")
            elif frame_opcode == self.OPCODE_PING:
                self.handle_ping(header, payload)
                gevent.sleep(0)  # control frames cost too: let the other greenlets run
                continue
            elif frame_opcode == self.OPCODE_PONG:
                self.handle_pong(header, payload)
                gevent.sleep(0)
                continue
            elif frame_opcode == self.OPCODE_CLOSE:
                self.handle_close(header, payload)
                return None
            else:
                raise FrameError(f"unknown websocket opcode {frame_opcode}")
            frames += 1
            if frames > self.max_frames_per_message:
                raise FrameError(
                    f"more than {self.max_frames_per_message} frames in a websocket message"
                )
            message += payload
            if header.fin:
                break
        if opcode == self.OPCODE_TEXT:
            return message.decode("utf-8")  # UnicodeDecodeError is a UnicodeError
        return bytes(message)

    def _report(self, reason: str) -> None:
        """Count a broken rule in the server's ``protocol_errors``, as packet errors are."""
        find = getattr(self.handler, "_sockevents", None)
        server = getattr(find() if find is not None else None, "server", None)
        if server is not None:
            server.protocol_errors[reason] += 1

    def close(self, code: int = 1000, message: bytes | str = b"") -> None:
        """Send a close frame carrying ``code`` and end the connection.

        gevent-websocket drops the status code and leaves the reader blocked
        on the socket until the peer answers; here the socket is shut down
        once the frame is sent, so a dropped client is gone at once.
        """
        if self.closed:
            return
        handler_socket = getattr(self.handler, "socket", None)
        try:
            reason = self._encode_bytes(message) if message else b""
            self.send_frame(struct.pack("!H", code) + reason, opcode=self.OPCODE_CLOSE)
        except (WebSocketError, OSError):
            pass  # the peer is gone already
        finally:
            _release(self)
            if handler_socket is not None:
                with contextlib.suppress(OSError):
                    handler_socket.shutdown(socket.SHUT_RDWR)

    def receive(self) -> Any:
        """Read the next message; on a broken rule close the socket and return ``None``."""
        if self.closed:
            self.current_app.on_close(MSG_ALREADY_CLOSED)
            raise WebSocketError(MSG_ALREADY_CLOSED)
        try:
            message = self.read_message()
            if type(message) is str and not _is_engineio_text(message):
                raise FrameError("websocket text that is not an Engine.IO packet")
            return message
        except MessageTooBig:
            self._report("websocket message larger than max_message_size")
            self.close(CLOSE_MESSAGE_TOO_BIG)
        except UnicodeError:
            self._report("websocket text is not UTF-8")
            self.close(CLOSE_INVALID_DATA)
        except ProtocolError as exc:
            # gevent-websocket's own errors (a bad close frame) carry client
            # data in their text: they are counted under one reason.
            self._report(str(exc) if isinstance(exc, FrameError) else "websocket protocol error")
            self.close(CLOSE_PROTOCOL_ERROR)
        except OSError:
            self.close()
            self.current_app.on_close(MSG_CLOSED)
        return None

    def receive_messages(self) -> list[Any]:
        """Read the messages of every plain frame the client sent so far; at least one message.

        Waits, as :meth:`receive` does, until the client sends something;
        then takes every whole frame the connection's read buffer holds that
        is a plain, unfragmented text or binary message (masked, no reserved
        bit, within ``max_message_size``; a text one valid UTF-8 and an
        Engine.IO packet), each checked as :meth:`receive` checks it. A
        pipelining client's messages are thus read from what one receive
        brought, without a frame header object or a read per header field
        for each. Anything else first in the buffer (a control frame, a
        fragment, a frame not all received yet, a broken one) is read by
        :meth:`receive`, with every rule and close code as there.

        :return: the messages in order, or ``[None]`` once the websocket is closed.
        """
        peek = None if self.closed else getattr(self.handler.rfile, "peek", None)
        if peek is not None:
            try:
                buffered = peek()  # what the buffer holds; one receive if it is empty
            except OSError:
                buffered = b""  # receive() meets the error again and closes
            if buffered:
                messages, used = _plain_frames(buffered, self.max_message_size)
                if used:
                    self.handler.rfile.read(used)  # taken from the buffer, not the socket
                    return messages
        return [self.receive()]


def _plain_frames(data: bytes, limit: int) -> tuple[list[Any], int]:
    """The messages of the plain frames at the start of ``data``, and the bytes they take.

    Stops at the first frame that is not whole in ``data`` or not plain (see
    :meth:`LimitedWebSocket.receive_messages`): :meth:`LimitedWebSocket.receive`
    reads it.
    """
    messages: list[Any] = []
    start = 0
    end = len(data)
    while end - start >= 6:
        first = data[start]
        second = data[start + 1]
        if (first != 0x81 and first != 0x82) or second < 0x80:  # FIN, text or binary; masked
            break
        length = second & 0x7F
        if length < 126:
            mask_at = start + 2
        elif length == 126 and end - start >= 8:
            length = (data[start + 2] << 8) | data[start + 3]
            mask_at = start + 4
        else:
            break
        payload_at = mask_at + 4
        stop = payload_at + length
        if stop > end or length > limit:
            break
        payload = _unmask(data[payload_at:stop], data[mask_at:payload_at]) if length else b""
        if first == 0x81:
            try:
                text = payload.decode("utf-8")
            except UnicodeError:
                break
            if not _is_engineio_text(text):
                break
            messages.append(text)
        else:
            messages.append(payload)
        start = stop
    return messages, start


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` as one big integer: at C speed.

    gevent-websocket unmasks byte by byte in Python (about 11 ms for 60 KB),
    and a reader never yields while the socket has data, so a client streaming
    frames would hold every other client of the process.
    """
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    unmasked = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return unmasked.to_bytes(size, "little")


def _is_engineio_text(text: str) -> bool:
    """Whether python-engineio can decode ``text`` as a packet.

    It decodes a type digit followed by a digit (every Socket.IO packet) without
    looking further; anything else it JSON-decodes, which may raise.
    """
    if text[:1] in _DIGITS and (len(text) == 1 or text[1].isnumeric()):
        return True
    try:
        EngineIOPacket(encoded_packet=text)
    except Exception:  # an empty message, a bad type, JSON nested too deep
        return False
    return True


def _disable_nagle(sock: Any) -> bool:
    """Set ``TCP_NODELAY`` on a TCP socket; whether it could (a Unix socket has no such option)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        return False
    return True


#: Where each server stands with ``TCP_NODELAY`` on its accepted sockets
#: (an attribute of the server, see :func:`_nodelay_for`).
_NODELAY_STATE = "_sockevents_nodelay"
_NODELAY_UNSET = 0  # nothing done yet: set on the listening socket, then on this one
_NODELAY_CHECKING = 1  # set on the listening socket: an accepted one may predate it
_NODELAY_INHERITED = 2  # every socket accepted from now on has it from the listening socket
_NODELAY_PER_SOCKET = 3  # the listening socket cannot carry it: set on each one


def _nodelay_for(sock: Any, server: Any) -> None:
    """See that the accepted ``sock`` has ``TCP_NODELAY``, with as few system calls as it takes.

    On Linux an accepted socket inherits ``TCP_NODELAY`` from the listening
    socket, when the connection is established; the accept queue is in that
    order. So the option is set once on the listening socket, then read on
    the sockets accepted next (and set on those established before it was)
    until one has it: from then on every socket accepted has it, and nothing
    is called. Elsewhere, or when the listening socket is not a TCP socket
    of this process, it is set on each accepted socket.
    """
    state = getattr(server, _NODELAY_STATE, _NODELAY_UNSET)
    if state == _NODELAY_INHERITED:
        return
    if state == _NODELAY_CHECKING:
        try:
            inherited = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except (OSError, AttributeError):
            return  # not a TCP socket: no Nagle to disable
        if inherited:
            setattr(server, _NODELAY_STATE, _NODELAY_INHERITED)
        else:
            _disable_nagle(sock)
        return
    if state == _NODELAY_UNSET:
        listener = getattr(server, "socket", None)
        inheriting = sys.platform == "linux" and listener is not None and _disable_nagle(listener)
        # An attribute of gevent's server object: the one state it needs, per listener.
        with contextlib.suppress(AttributeError):
            setattr(
                server, _NODELAY_STATE, _NODELAY_CHECKING if inheriting else _NODELAY_PER_SOCKET
            )
    _disable_nagle(sock)


def _release(websocket: Any) -> None:
    """Mark ``websocket`` closed and drop its stream, as gevent-websocket's ``close`` does."""
    websocket.closed = True
    websocket.stream = websocket.raw_write = websocket.raw_read = websocket.environ = None


class WebSocketHandler(_GeventWebSocketHandler):
    """gevent-websocket's WSGI handler, upgrading to :class:`LimitedWebSocket`.

    The message limit is the served app's ``max_message_size`` option (found
    through ``app.extensions["sockevents"]``), or 1,000,000 bytes when the app
    is wrapped in other middleware; :func:`handler_class` fixes it instead.

    Each connection reads through a buffer of :attr:`read_buffer_size` bytes
    (gevent's ``pywsgi`` takes Python's default, 8 KiB, held for as long as
    the connection is open): a request line, a header and a websocket frame
    longer than the buffer are read in several pieces, never refused.
    """

    max_message_size: int | None = None
    #: Bytes of the buffer each connection reads through (for its whole life).
    read_buffer_size = 2048
    #: The 101 answer held until the first websocket frame goes out with it (see :meth:`write`).
    upgrade_answer = b""
    _holds_upgrade_answer = False

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        if rfile is None:
            rfile = sock.makefile("rb", self.read_buffer_size)
        super().__init__(sock, address, server, rfile)

    def MessageClass(self, fp: Any, *args: Any) -> Any:
        """Read the request's headers as pywsgi does, plain ones without the email parser.

        See :mod:`flask_sockevents.http_headers`: the same message, the same limits.
        """
        return read_headers(fp)

    def _headers(self) -> Any:
        """pywsgi's ``HTTP_*`` items of the environ; of plain headers, without formatting lines.

        (:meth:`flask_sockevents.http_headers.PlainHeaders.environ_items`: the same items.)
        """
        headers = self.headers
        if type(headers) is PlainHeaders:
            return headers.environ_items()
        return super()._headers()

    def handle(self) -> None:
        """Serve the connection's requests with Nagle's algorithm off, as node's server does.

        Engine.IO writes many small packets (an acknowledgement, a pong):
        with Nagle's algorithm one of them waits, unsent, for the client to
        acknowledge the previous one, and clients delay that acknowledgement
        by up to 40 ms. The first acknowledgement after a websocket upgrade
        took that long, past a JavaScript client's ``socket.timeout(50)``.
        The option is set on the listening socket, which accepted sockets
        inherit, rather than on each one where the system allows
        (:func:`_nodelay_for`).
        """
        _nodelay_for(self.socket, self.server)
        super().handle()

    def upgrade_websocket(self) -> Any:
        """Answer with an HTTP status a Socket.IO handshake the server would refuse.

        gevent-websocket upgrades before the app runs, so without this a
        cross-origin handshake, or one past ``max_connections_per_address``,
        would get an upgraded socket closed at once instead of the 400 or 401
        a long-polling client gets.
        """
        refusal = self._handshake_refusal()
        if refusal is None:
            self._holds_upgrade_answer = self._opens_engineio_session()
            return super().upgrade_websocket()
        status, text = refusal
        body = text.encode()
        self.start_response(
            status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _handshake_refusal(self) -> tuple[str, str] | None:
        sockevents = self._sockevents()
        server = getattr(sockevents, "server", None)
        path = "/" + str(getattr(sockevents, "path", "socket.io")).strip("/") + "/"
        if server is None or not self.environ.get("PATH_INFO", "").startswith(path):
            return None
        refusal: tuple[str, str] | None = server.handshake_refusal(self.environ)
        return refusal

    def _opens_engineio_session(self) -> bool:
        """Whether this upgrade is an Engine.IO handshake of the served app (no ``sid``).

        Its server writes the OPEN packet as soon as the websocket is served,
        so the 101 answer can wait for it (:meth:`write`).
        """
        sockevents = self._sockevents()
        if getattr(sockevents, "server", None) is None:
            return False
        path = "/" + str(getattr(sockevents, "path", "socket.io")).strip("/") + "/"
        environ = self.environ
        return environ.get("PATH_INFO", "").startswith(path) and "sid=" not in environ.get(
            "QUERY_STRING", ""
        )

    def write(self, data: Any) -> None:
        """pywsgi's ``write``; the 101 answer of an Engine.IO handshake is held, not sent.

        gevent-websocket writes the 101 answer on its own, then the Engine.IO
        server writes its OPEN packet: two system calls where one does. The
        answer is held on the handler instead and goes out with the first
        frame written on the websocket, in the same send: the server's OPEN
        (:func:`take_upgrade_answer`), or whatever gevent-websocket writes
        first (a close frame when the app refused the handshake).
        """
        websocket: Any = getattr(self, "websocket", None)
        if (
            data
            or self.headers_sent
            or not self._holds_upgrade_answer
            or not isinstance(websocket, LimitedWebSocket)
        ):
            super().write(data)
            return
        self._holds_upgrade_answer = False
        held: list[bytes] = []
        self._sendall = held.append  # pywsgi formats the answer, this keeps it
        try:
            super().write(data)
        finally:
            del self._sendall
        self.upgrade_answer = b"".join(held)
        self.response_length += len(self.upgrade_answer)
        stream_write = websocket.raw_write

        def write_with_answer(frame: bytes) -> Any:
            websocket.raw_write = stream_write
            return stream_write(self.take_upgrade_answer() + frame)

        websocket.raw_write = write_with_answer

    def take_upgrade_answer(self) -> bytes:
        """The held 101 answer, to be written before anything else (``b""`` if none is held)."""
        answer = self.upgrade_answer
        self.upgrade_answer = b""
        websocket: Any = getattr(self, "websocket", None)
        if answer and websocket is not None and websocket.stream is not None:
            websocket.raw_write = websocket.stream.write
        return answer

    def _sockevents(self) -> Any:
        extensions = getattr(self.application, "extensions", None)
        return extensions.get("sockevents") if isinstance(extensions, dict) else None

    def upgrade_connection(self) -> Any:
        """Upgrade as gevent-websocket does, then install the limits on the new socket.

        The request's parsed headers are dropped once upgraded: pywsgi reads
        them only before the app runs, the environ has them (``HTTP_*``), and
        the connection ends with the websocket, so they would be held for
        its whole life for nothing. So is gevent-websocket's byte-by-byte
        UTF-8 validator: :class:`LimitedWebSocket` validates with ``decode``.
        """
        result = super().upgrade_connection()
        websocket: Any = getattr(self, "websocket", None)
        if type(websocket) is WebSocket:
            websocket.__class__ = _limited_websocket(self._message_limit())
            websocket.utf8validator = None
            self.headers = None
        return result

    def _message_limit(self) -> int:
        if self.max_message_size is not None:
            return self.max_message_size
        return int(getattr(self._sockevents(), "max_message_size", DEFAULT_MAX_MESSAGE_SIZE))


@functools.cache
def _limited_websocket(max_message_size: int) -> type[LimitedWebSocket]:
    if max_message_size == LimitedWebSocket.max_message_size:
        return LimitedWebSocket
    return type(
        "LimitedWebSocket",
        (LimitedWebSocket,),
        {"__slots__": (), "max_message_size": max_message_size},
    )


def handler_class(max_message_size: int | None = None) -> type[WebSocketHandler]:
    """A :class:`WebSocketHandler` refusing messages over ``max_message_size`` bytes.

    Without an argument, the handler that takes the limit from the served app.
    """
    if max_message_size is None:
        return WebSocketHandler
    return type("WebSocketHandler", (WebSocketHandler,), {"max_message_size": max_message_size})
