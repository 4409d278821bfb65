"""orjson behind the ``json`` module interface python-socketio and python-engineio use.

Enable it with ``SockEvents(app, json="orjson")`` (``pip install
flask-sockevents[orjson]``): packets are then encoded and decoded by orjson,
several times faster than the standard library. The setting is process-wide,
as python-socketio's ``json`` option is. Differences a client can notice:
integers beyond 64 bits and JSON nested deeper than 1,024 levels are refused
(the packet is malformed and its transport closed), and ``NaN`` and
``Infinity`` are sent as ``null``.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "loads"]

JSONDecodeError = orjson.JSONDecodeError
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any, **kwargs: Any) -> str:
    """Encode ``obj`` compactly; ``json.dumps`` keyword arguments are accepted and ignored."""
    return orjson.dumps(obj, option=_OPTIONS).decode()


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """Decode ``data``; ``json.loads`` keyword arguments are accepted and ignored."""
    return orjson.loads(data)
