"""Listeners that ship with flask_sockevents: audit, metrics, logging, tracing, presence.

Each plugs in with one line (``AuditLog(path, sockevents)``,
``Metrics(sockevents)``, ``LoggingListener(sockevents)``,
``Tracing(sockevents)``, ``Presence(sockevents, user=...)``), sees every
connect, event and disconnect, handled or not, and never raises into
dispatch.
"""

from flask_sockevents.listeners.audit import AuditLog
from flask_sockevents.listeners.logging import LoggingListener
from flask_sockevents.listeners.metrics import Metrics
from flask_sockevents.listeners.presence import Presence
from flask_sockevents.listeners.tracing import Tracing

__all__ = ["AuditLog", "LoggingListener", "Metrics", "Presence", "Tracing"]
