"""A request's headers are read as gevent's pywsgi reads them (``flask_sockevents.http_headers``).

Plain ``Name: value`` lines are read without the email parser; anything else goes
through it. Either way the message is the one pywsgi's own ``headers_factory`` builds.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from gevent.pywsgi import WSGIHandler, headers_factory

from flask_sockevents.http_headers import read_headers
from flask_sockevents.websocket import WebSocketHandler

HEADER_BLOCKS = {
    "a websocket handshake": (
        b"Host: 127.0.0.1:5000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ),
    "blanks around values": b"Host:  a  \r\nX-Tab:\tb\t\r\nX-Empty:\r\n\r\n",
    "bare newlines": b"Host: a\nX: b\n\n",
    "a repeated header": b"Content-Length: 5\r\ncontent-length: 6\r\n\r\n",
    "a name with an underscore": b"X_Forwarded_For: a\r\nHost: b\r\n\r\n",
    "a content type": b"Content-Type: text/plain\r\nHost: a\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
    "a folded line": b"X-Folded: a\r\n  b\r\nHost: c\r\n\r\n",
    "a line without a colon": b"Host: a\r\nnot a header\r\nX: b\r\n\r\n",
    "an empty name": b": a\r\nHost: b\r\n\r\n",
    "a mailbox From line": b"From someone\r\nHost: a\r\n\r\n",
    "a vertical tab in a value": b"X: a\x0bb\r\nHost: c\r\n\r\n",
    "a carriage return in a value": b"X: a\rb\r\nHost: c\r\n\r\n",
    "a Latin-1 value": b"X: caf\xe9\r\n\r\n",
    "no blank line": b"Host: a\r\nX: b\r\n",
    "nothing": b"",
    "a line over the limit": b"X: " + b"a" * 70_000 + b"\r\n\r\n",
}


def _observed(message: Any) -> tuple[Any, ...]:
    return (
        message.status,
        list(message._headers),  # the (name, value) pairs every accessor reads
        list(message.headers),  # the lines pywsgi builds the environ from
        message.get_payload(),
        [type(defect) for defect in message.defects],
    )


@pytest.mark.parametrize("block", list(HEADER_BLOCKS.values()), ids=list(HEADER_BLOCKS))
def test_headers_are_read_as_pywsgi_reads_them(block: bytes) -> None:
    ours, pywsgis = io.BytesIO(block), io.BytesIO(block)

    assert _observed(read_headers(ours)) == _observed(headers_factory(pywsgis))
    assert ours.tell() == pywsgis.tell()  # the body starts where pywsgi's would


def test_more_than_a_hundred_header_lines_are_refused_as_pywsgi_refuses_them() -> None:
    block = b"".join(b"X-%d: a\r\n" % index for index in range(101)) + b"\r\n"

    with pytest.raises(Exception) as pywsgis:
        headers_factory(io.BytesIO(block))
    with pytest.raises(type(pywsgis.value)):
        read_headers(io.BytesIO(block))


def test_the_websocket_handler_reads_headers_with_read_headers() -> None:
    handler = object.__new__(WebSocketHandler)
    block = HEADER_BLOCKS["a websocket handshake"]

    headers = handler.MessageClass(io.BytesIO(block), 0)

    assert headers.get("upgrade") == "websocket"
    assert _observed(headers) == _observed(headers_factory(io.BytesIO(block)))


def _environ_items(handler_class: type[Any], message: Any) -> list[tuple[str, str]]:
    """The ``HTTP_*`` items ``handler_class`` puts in the environ for ``message``."""
    handler = object.__new__(handler_class)
    handler.headers = message
    return list(handler._headers())


@pytest.mark.parametrize("block", list(HEADER_BLOCKS.values()), ids=list(HEADER_BLOCKS))
def test_headers_answer_by_name_and_make_the_environ_as_pywsgis_do(block: bytes) -> None:
    ours, pywsgis = read_headers(io.BytesIO(block)), headers_factory(io.BytesIO(block))
    names = {name for name, _ in pywsgis._headers} | {"Content-Length", "Connection", "Absent"}

    for name in names:
        for spelling in (name, name.lower(), name.upper()):
            assert ours.get(spelling, "none") == pywsgis.get(spelling, "none")
    assert _environ_items(WebSocketHandler, ours) == _environ_items(WSGIHandler, pywsgis)


def test_a_header_deleted_is_gone_from_the_answers_by_name_as_from_pywsgis() -> None:
    block = HEADER_BLOCKS["a repeated header"]
    ours, pywsgis = read_headers(io.BytesIO(block)), headers_factory(io.BytesIO(block))
    assert ours.get("content-length") == pywsgis.get("content-length") == "5"

    del ours["content-length"]  # as pywsgi does for a chunked body
    del pywsgis["content-length"]

    assert ours.get("content-length") is pywsgis.get("content-length") is None
    assert _environ_items(WebSocketHandler, ours) == _environ_items(WSGIHandler, pywsgis)
