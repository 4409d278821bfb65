"""Listeners that ship with flask_sockevents: audit trail, Prometheus metrics, logging, presence.

Each plugs in with one line (``AuditLog(path, sockevents)``,
``Metrics(sockevents)``, ``LoggingListener(sockevents)``), sees every
connect, event and disconnect, handled or not, and never raises into
dispatch.
"""

from flask_sockevents.listeners.audit import AuditLog
from flask_sockevents.listeners.logging import LoggingListener
from flask_sockevents.listeners.metrics import Metrics
from flask_sockevents.listeners.presence import Presence

__all__ = ["AuditLog", "LoggingListener", "Metrics", "Presence"]
