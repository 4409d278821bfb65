"""The shipped listeners and guards on one small app: audit, metrics, logging, limits, login.

- :class:`~flask_sockevents.listeners.AuditLog` appends one JSON line per
  connect, event and disconnect to ``audit.jsonl`` beside this file (or the
  path given by ``--audit-log`` or the ``AUDIT_LOG`` environment variable);
- :class:`~flask_sockevents.listeners.Metrics` serves Prometheus metrics at
  ``/metrics``;
- :class:`~flask_sockevents.listeners.LoggingListener` logs one line per event;
- :class:`~flask_sockevents.guards.RequireUser` refuses clients that have not
  logged in (``GET /login?user=alice`` puts the name in the Flask session);
- :class:`~flask_sockevents.guards.RateLimiter` rejects events past 10 per
  second (bursts of 20) and disconnects a client rejected 50 times in 10 s.

Run it, then drive some traffic with ``client.py``::

    python examples/audit_metrics/app.py --host 127.0.0.1 --port 5001
    python examples/audit_metrics/client.py --url http://127.0.0.1:5001
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, request, session

from flask_sockevents import SockEvents
from flask_sockevents.asyncapi import AsyncAPI
from flask_sockevents.guards import RateLimiter, RequireUser
from flask_sockevents.listeners import AuditLog, LoggingListener, Metrics

HERE = Path(__file__).resolve().parent
DEFAULT_AUDIT_LOG = HERE / "audit.jsonl"
LOGIN_REQUIRED = "log in first: GET /login?user=<name>"


def current_user() -> str | None:
    """The name the client logged in with, from the Flask session, or ``None``."""
    user = session.get("user")
    return user if isinstance(user, str) else None


def create_app(audit_log: str | os.PathLike[str] | None = None, **sockevents_options: Any) -> Flask:
    """Build the app with every shipped listener and guard plugged in.

    :param audit_log: where the audit records go; ``$AUDIT_LOG``, else
        ``audit.jsonl`` beside this file.
    :param sockevents_options: passed to :class:`~flask_sockevents.SockEvents`.
    :returns: the Flask app; ``app.extensions`` holds ``"sockevents"``,
        ``"audit_log"`` and ``"metrics"``.
    """
    app = Flask(__name__)
    app.secret_key = os.environ.get("SECRET_KEY", "audit-metrics example: set SECRET_KEY")
    sockevents = SockEvents(app, **sockevents_options)

    path = audit_log or os.environ.get("AUDIT_LOG") or DEFAULT_AUDIT_LOG
    app.extensions["audit_log"] = AuditLog(path, sockevents, user_id=current_user)
    app.extensions["metrics"] = Metrics(sockevents)
    LoggingListener(sockevents)
    RequireUser(sockevents, user=current_user, reason=LOGIN_REQUIRED)
    RateLimiter(sockevents, events_per_second=10, burst=20, disconnect_after=50, window=10)
    AsyncAPI(sockevents, title="flask_sockevents audit + metrics example", version="1.0.0")

    @app.get("/")
    def index() -> tuple[str, int, dict[str, str]]:
        text = (
            "flask_sockevents audit + metrics example\n\n"
            "GET /login?user=<name>  log in (sets the session cookie)\n"
            "GET /logout             log out\n"
            "GET /metrics            Prometheus metrics\n"
            "GET /sockevents/asyncapi.json  the AsyncAPI document of the events (local only)\n"
            "Socket.IO events: whoami, echo <data>, add <a> <b>\n"
        )
        return text, 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/login")
    def login() -> tuple[str, int]:
        user = request.args.get("user", "").strip()
        if not user:
            return "pass ?user=<name>\n", 400
        session["user"] = user
        return f"logged in as {user}\n", 200

    @app.get("/logout")
    def logout() -> str:
        session.pop("user", None)
        return "logged out\n"

    @sockevents.on("whoami")
    def whoami() -> str | None:
        """Answer with the logged-in user's name."""
        return current_user()

    @sockevents.on("echo")
    def echo(data: Any = None) -> Any:
        """Answer with the payload, unchanged."""
        return data

    @sockevents.on("add")
    def add(a: float, b: float) -> float:
        """Answer with the sum of the two arguments."""
        return a + b

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the example under gevent until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument(
        "--audit-log",
        default=None,
        help=f"the audit file ($AUDIT_LOG, else {DEFAULT_AUDIT_LOG})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(args.audit_log)
    app.extensions["sockevents"].run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
