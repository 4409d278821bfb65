"""Client-chosen text in records and log lines: bounded in length, one line for any reader.

Nothing here is public API; the shipped listeners and the monitor share it.
"""

from __future__ import annotations

DEFAULT_MAX_FIELD_LENGTH = 256
"""Characters kept of each client-chosen string in a record (:func:`cut`)."""

#: Characters JSON leaves unescaped that ``str.splitlines()`` (and some log
#: readers) take for line breaks; a record escapes them to stay one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def cut(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, with a marker saying how many were left out.

    ``cut("x" * 300, 256)`` is 256 ``x`` followed by ``"…[+44 chars]"``.
    """
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}…[+{len(text) - limit} chars]"


def one_line(text: str) -> str:
    """``text`` (JSON) with U+0085, U+2028 and U+2029 escaped, so no reader splits it."""
    return text.translate(_LINE_BREAKS)
