"""A hostile client's tools: websocket frames built by hand on a plain socket, raw polling.

:class:`RawWebSocket` speaks RFC 6455 byte by byte, so a test can send what no
well-behaved client library would: unmasked frames, reserved bits, unknown
opcodes, a header announcing a payload that never comes, endless continuation
frames. Engine.IO v4 on top of it is spelled out in the tests themselves:
``0{...}`` is the server's open packet, ``40`` a CONNECT to ``/``, ``42[...]``
an EVENT, ``421[...]`` an EVENT asking for acknowledgement 1, ``431[...]`` that
acknowledgement, ``44{...}`` a CONNECT_ERROR, ``1`` an Engine.IO CLOSE.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import Any

import requests

__all__ = [
    "OPCODE_BINARY",
    "OPCODE_CLOSE",
    "OPCODE_CONTINUATION",
    "OPCODE_TEXT",
    "TIMEOUT",
    "Closed",
    "RawPolling",
    "RawWebSocket",
    "frame",
]

OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9

#: Seconds any answer from the server may take before a test gives up on it.
TIMEOUT = 5.0

ENGINEIO_PATH = "/socket.io/?EIO=4&transport="


def frame(
    payload: bytes,
    opcode: int = OPCODE_TEXT,
    *,
    masked: bool = True,
    fin: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    """One websocket frame as a client sends it (masked unless told otherwise).

    :param rsv: reserved bits to set (``0x40``, ``0x20``, ``0x10``).
    :param length: the payload length the header announces, if not ``len(payload)``.
    """
    size = len(payload) if length is None else length
    header = bytes([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if size < 126:
        header += bytes([mask_bit | size])
    elif size < 65536:
        header += bytes([mask_bit | 126]) + struct.pack("!H", size)
    else:
        header += bytes([mask_bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked_payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
        len(payload), "big"
    )
    return header + mask + masked_payload


class Closed(Exception):
    """The server ended the connection; ``code`` is its close code, or ``None`` without one."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed by the server (code {code})")
        self.code = code


class RawWebSocket:
    """A websocket client on a plain socket, opened on the Engine.IO endpoint of ``port``.

    :param headers: extra handshake headers (``Origin`` ...).
    :param expect_upgrade: read the open packet after the 101 answer; with
        ``False`` the HTTP answer is kept in :attr:`handshake` and nothing is read.
    :param query: the request's query string (``sid=...`` to upgrade a
        long-polling session, no ``transport`` to break the rules).
    :param receive_buffer: the socket's receive buffer in bytes, set before
        connecting (a client that reads slowly fills it sooner).
    """

    def __init__(
        self,
        port: int,
        headers: dict[str, str] | None = None,
        expect_upgrade: bool = True,
        query: str = "EIO=4&transport=websocket",
        receive_buffer: int | None = None,
    ) -> None:
        if receive_buffer is None:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            self.sock.settimeout(TIMEOUT)
            self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        lines = [
            f"GET /socket.io/?{query} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.handshake = self._read_http_head()
        self.open_packet: dict[str, Any] = {}
        if expect_upgrade:
            assert self.handshake.startswith(b"HTTP/1.1 101"), self.handshake
            opening = self.recv_text()
            assert opening.startswith("0{"), opening
            self.open_packet = json.loads(opening[1:])

    @property
    def status(self) -> int:
        """The HTTP status of the handshake answer."""
        return int(self.handshake.split(b" ", 2)[1])

    def read_body(self) -> bytes:
        """The body of a refused handshake, read up to its ``Content-Length``."""
        length = 0
        for line in self.handshake.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer[:length]

    def _read_http_head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head

    def read_http_body(self) -> bytes:
        """The rest of a refused handshake's answer (the server closes after it)."""
        body = self.buffer
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        except (TimeoutError, OSError):
            pass
        return body

    # -- sending --------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        self.sock.sendall(data)

    def send_text(self, *messages: str) -> None:
        """Send each of ``messages`` as one masked text frame, all in a single write."""
        self.sock.sendall(b"".join(frame(m.encode()) for m in messages))

    def send_binary(self, data: bytes) -> None:
        """Send one masked binary frame."""
        self.sock.sendall(frame(data, OPCODE_BINARY))

    # -- receiving ------------------------------------------------------------

    def _fill(self, size: int) -> None:
        while len(self.buffer) < size:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed(None)
            self.buffer += chunk

    def recv_frame(self) -> tuple[int, bytes]:
        """The next frame from the server: ``(opcode, payload)``.

        A frame is consumed only once it has fully arrived, so a timeout loses nothing.

        :raises Closed: on a close frame or when the connection ends.
        :raises TimeoutError: when nothing comes within the socket timeout.
        """
        self._fill(2)
        opcode, size = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        start = 2
        if size == 126:
            self._fill(4)
            (size,) = struct.unpack("!H", self.buffer[2:4])
            start = 4
        elif size == 127:
            self._fill(10)
            (size,) = struct.unpack("!Q", self.buffer[2:10])
            start = 10
        self._fill(start + size)
        payload = self.buffer[start : start + size]
        self.buffer = self.buffer[start + size :]
        if opcode == OPCODE_CLOSE:
            raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
        return opcode, payload

    def recv_text(self) -> str:
        """The next text message, skipping Engine.IO pings (answered) and control frames."""
        while True:
            opcode, payload = self.recv_frame()
            if opcode != OPCODE_TEXT:
                continue
            text = payload.decode()
            if text == "2":
                self.send_text("3")
                continue
            return text

    def connect(self, auth: Any = None) -> str:
        """Connect to the ``/`` namespace; return the Socket.IO sid."""
        self.send_text("40" if auth is None else "40" + json.dumps(auth))
        reply = self.recv_text()
        assert reply.startswith('40{"sid":'), reply
        return str(json.loads(reply[2:])["sid"])

    def call(self, ack_id: int, *data: Any) -> Any:
        """Emit an event asking for acknowledgement ``ack_id``; return the acknowledged data."""
        self.send_text(f"42{ack_id}" + json.dumps(list(data)))
        return self.recv_ack(ack_id)

    def recv_ack(self, ack_id: int) -> Any:
        """Read messages until acknowledgement ``ack_id`` arrives; return its data."""
        prefix = f"43{ack_id}"
        while True:
            text = self.recv_text()
            if text.startswith(prefix) and text[len(prefix)] == "[":
                return json.loads(text[len(prefix) :])

    def wait_closed(self, timeout: float = TIMEOUT) -> tuple[int | None, list[str]]:
        """Read until the server ends the connection.

        :return: the close code (``None`` if the connection ended without a
            close frame) and the text messages received before it.
        :raises AssertionError: if the connection is still open after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        texts: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the server did not close the connection in {timeout} s")
            self.sock.settimeout(remaining)
            try:
                opcode, payload = self.recv_frame()
            except Closed as closed:
                return closed.code, texts
            except TimeoutError:
                continue
            if opcode == OPCODE_TEXT:
                texts.append(payload.decode())

    def close(self) -> None:
        """Close the socket without a closing handshake."""
        self.sock.close()


class RawPolling:
    """An Engine.IO long-polling session opened by hand on the server at ``url``.

    :param headers: extra handshake headers (``Origin`` ...). The handshake
        answer is kept in :attr:`opened`; :attr:`eio_sid` is set if it succeeded.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.opened = requests.get(
            url + ENGINEIO_PATH + "polling", headers=headers, timeout=TIMEOUT
        )
        self.eio_sid: str | None = None
        if self.opened.status_code == 200:
            assert self.opened.text.startswith("0{"), self.opened.text
            self.eio_sid = json.loads(self.opened.text[1:])["sid"]

    @property
    def endpoint(self) -> str:
        """The session's polling URL."""
        return f"{self.url}{ENGINEIO_PATH}polling&sid={self.eio_sid}"

    def post(self, body: str) -> requests.Response:
        """POST ``body`` (Engine.IO packets, separated by ``\\x1e``)."""
        return requests.post(self.endpoint, data=body.encode(), timeout=TIMEOUT)

    def get(self) -> str:
        """Poll once: the packets the server had for this session."""
        return requests.get(self.endpoint, timeout=TIMEOUT).text

    def connect(self) -> str:
        """Connect to the ``/`` namespace; return the Socket.IO sid."""
        assert self.post("40").status_code == 200
        reply = self.get()
        assert reply.startswith('40{"sid":'), reply
        return str(json.loads(reply[2:])["sid"])
