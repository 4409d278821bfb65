"""A live monitor page for the event bus, as an opt-in blueprint.

See :class:`Monitor` (the page and its namespace) and :class:`MonitorState`
(the bounded aggregation behind it).
"""

from .blueprint import PROXY_HEADERS, ROOM, Monitor, local_or_debug, proxied
from .state import OTHER, UNDECLARED, MonitorState

__all__ = [
    "OTHER",
    "PROXY_HEADERS",
    "ROOM",
    "UNDECLARED",
    "Monitor",
    "MonitorState",
    "local_or_debug",
    "proxied",
]
