"""A request's HTTP headers, read as gevent's ``pywsgi`` reads them, without the email parser.

``pywsgi`` reads a request's headers with ``http.client.parse_headers``: it
reads the lines, then hands them to the standard library's email parser,
which builds a message from them line by line (a feed parser, a policy, a
buffered sub-file): the largest part of reading a websocket handshake. Every
Socket.IO client sends plain ``Name: value`` lines, which need none of it.

:func:`read_headers` reads the lines with the same limits, and builds the
same message (gevent's ``OldMessage``, each header as the email parser's
``compat32`` policy would store it) directly when every line is plain: a
name of visible characters, a colon, a value of visible characters, spaces
and tabs. Anything else (a folded line, a control character, a line the
email parser would read as the start of a body) goes to the email parser,
as before, so every request gets the headers ``pywsgi`` would give it.
"""

from __future__ import annotations

import email.parser
import re
from http import client
from typing import Any

from gevent.pywsgi import OldMessage

__all__ = ["MAX_HEADERS", "MAX_LINE", "PlainHeaders", "read_headers"]

#: http.client's limit of bytes per header line.
MAX_LINE = 65536
#: http.client's limit of header lines per request.
MAX_HEADERS = 100

#: A line the email parser reads as one header, and nothing else: a name of
#: visible characters but ``:``, then the value, with no character it would
#: split a line at (it splits at ``\r``, ``\v``, ``\f`` and more).
_PLAIN_LINE = re.compile(rb"[!-9;-~]+:[\t -~]*\r?\n")
_END = (b"\r\n", b"\n", b"")


class PlainHeaders(OldMessage):
    """gevent's ``OldMessage`` of plain header lines, read by name without a scan of every line.

    ``pywsgi`` asks a request's message for a header six times per request
    (``Transfer-Encoding``, ``Content-Length``, ``Connection``...), and the
    email message compares every name, lowercased, each time; here the
    first value of each name is looked up in an index built at the first
    question. Every line is plain, so the value is the one the ``compat32``
    policy would give. A change to the headers drops the index.
    """

    _index: dict[str, str] | None = None

    def get(self, name: str, failobj: Any = None) -> Any:
        """The first value of the header ``name`` (any case), or ``failobj``."""
        index = self._index
        if index is None:
            index = {}
            for key, value in self._headers:
                index.setdefault(key.lower(), value)
            self._index = index
        return index.get(name.lower(), failobj)

    def __setitem__(self, name: str, value: Any) -> None:
        self._index = None
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._index = None
        super().__delitem__(name)

    def set_raw(self, name: str, value: Any) -> None:
        """Add a header line as the parser does (and drop the index)."""
        self._index = None
        super().set_raw(name, value)

    def environ_items(self) -> Any:
        """The ``HTTP_*`` items of the WSGI environ, as ``pywsgi``'s ``WSGIHandler._headers``.

        ``pywsgi`` formats each header as a line again and splits it; here
        the names and values are taken as they are: a name with ``_`` is left
        out, ``Content-Type`` and ``Content-Length`` too (the environ has them
        without the prefix), values are stripped. No line is a continuation.
        """
        for key, value in self._headers:
            if "_" in key:
                continue
            key = key.replace("-", "_").upper()
            if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
                yield "HTTP_" + key, value.strip()


def read_headers(fp: Any) -> Any:
    """Read a request's headers from ``fp`` as ``pywsgi``'s ``headers_factory`` does.

    :returns: a ``gevent.pywsgi.OldMessage``; its ``status`` is
        ``"Line too long"`` for a line over :data:`MAX_LINE` bytes.
    :raises http.client.HTTPException: more than :data:`MAX_HEADERS` lines.
    """
    lines: list[bytes] = []
    plain = True
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            message = OldMessage()
            message.status = "Line too long"
            return message
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _END:
            break
        if plain and _PLAIN_LINE.fullmatch(line) is None:
            plain = False
    if not plain:
        text = b"".join(lines).decode("iso-8859-1")
        return email.parser.Parser(_class=OldMessage).parsestr(text)
    message = PlainHeaders()
    headers = message._headers  # what set_raw appends to, as the parser fills it
    for line in lines[:-1]:
        name, value = line.decode("ascii").split(":", 1)
        # The compat32 policy's header_source_parse: leading blanks and the
        # line ending go, trailing spaces stay.
        headers.append((name, value.lstrip(" \t").rstrip("\r\n")))
    message.set_payload("")
    return message
