"""The monitor: a Flask blueprint and a Socket.IO namespace that show the bus live.

::

    from flask_sockevents.monitor import Monitor

    Monitor(sockevents)        # http://127.0.0.1:5000/sockevents/

A listener on ``("*", "*")`` feeds a :class:`~flask_sockevents.monitor.MonitorState`.
Pages connect to the monitor's own namespace (``/sockevents``), ask for a
snapshot, then receive a ``delta`` about twice a second from one background
task, which runs only while at least one page is connected. The monitor's
namespace is left out of what it shows, so watching never feeds itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from .cluster import cluster_snapshot
from .state import MonitorState

__all__ = ["PROXY_HEADERS", "ROOM", "Monitor", "local_or_debug", "proxied"]

ROOM = "monitor"
"""The room of the monitor namespace that deltas are pushed to."""

_HERE = Path(__file__).resolve().parent
_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})

PROXY_HEADERS: tuple[str, ...] = (
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-Port",
    "X-Forwarded-Prefix",
    "X-Real-IP",
    "X-Client-IP",
    "True-Client-IP",
    "CF-Connecting-IP",
    "X-Cluster-Client-IP",
    "Via",
)
"""Headers a reverse proxy adds: a request carrying any of them was relayed."""


def proxied() -> bool:
    """Whether the current request carries a reverse proxy's headers (:data:`PROXY_HEADERS`).

    ProxyFix rewrites ``remote_addr`` but leaves the headers, so a request
    relayed by a proxy is recognised before and after it.
    """
    headers = request.headers
    return any(name in headers for name in PROXY_HEADERS)


def local_or_debug() -> bool:
    """The default access check: a direct request from the loopback, or debug mode.

    A request passes when it does not come through a reverse proxy (it
    carries none of :data:`PROXY_HEADERS`) and either the app is in debug
    mode or ``request.remote_addr`` is ``127.0.0.1`` or ``::1``. Behind a
    proxy on the same host every request arrives from the loopback, so a
    relayed request never passes, in debug mode neither: there, give the
    monitor your own ``check`` (e.g. one testing ``current_user.is_admin``)
    and let werkzeug's ``ProxyFix`` set ``remote_addr`` from the headers of
    the proxy you trust.
    """
    if proxied():
        return False
    return bool(current_app.debug) or request.remote_addr in _LOOPBACK


class Monitor:
    """A live page of the bus: clients, events per second, latest events, rejections, failures.

    :param sockevents: the :class:`~flask_sockevents.SockEvents` extension to
        watch; when given, :meth:`init_app` is called.
    :param url_prefix: where the page is served (``/sockevents/``).
    :param check: called with no arguments in the request context of the
        page (and its static files) and of each namespace connect (the
        handshake's request: its headers and ``remote_addr``); false answers
        the page with 403 and refuses the connect. Default:
        :func:`local_or_debug`, which refuses any request relayed by a proxy.
    :param error_text: show a failed handler's exception text (its class name
        only by default), even when the bus publishes it.
    :param payloads: show each event's arguments (redacted as by
        :class:`~flask_sockevents.listeners.AuditLog`, cut short) on its row.
        Off by default: the page shows who sent what, never what was sent.
    :param namespace: the Socket.IO namespace the page connects to.
    :param interval: seconds between two pushes to the connected pages.
    :param state_options: passed to :class:`MonitorState` (``window``,
        ``max_events``, ...).

    The page needs no JavaScript from elsewhere: its Socket.IO client (over
    websocket) and its chart are static files of the blueprint.
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        url_prefix: str = "/sockevents",
        check: Callable[[], bool] | None = None,
        namespace: str = "/sockevents",
        interval: float = 0.5,
        error_text: bool = False,
        payloads: bool = False,
        **state_options: Any,
    ) -> None:
        self.url_prefix = url_prefix.rstrip("/")
        self.check: Callable[[], bool] = check if check is not None else local_or_debug
        self.namespace = namespace
        self.interval = interval
        self.state_options = state_options
        self.state = MonitorState(
            exclude_namespace=namespace, error_text=error_text, payloads=payloads, **state_options
        )
        self.sockevents: Any = None
        self.watchers: set[str] = set()
        self._pushing = False
        if sockevents is not None:
            self.init_app(sockevents)

    # -- set-up ----------------------------------------------------------------

    def init_app(self, sockevents: Any, app: Any = None) -> None:
        """Watch ``sockevents`` and serve the page on its app (or on ``app``).

        :raises RuntimeError: when neither the extension nor ``app`` has a Flask app.
        """
        app = app if app is not None else sockevents.app
        if app is None:
            raise RuntimeError(
                "Monitor needs a Flask app: call sockevents.init_app(app) first, "
                "or pass it: monitor.init_app(sockevents, app=app)"
            )
        self.sockevents = sockevents
        self.state.is_declared = sockevents.bus.router.is_declared
        sockevents.listen("*", namespace="*")(self.state)
        sockevents.on("connect", namespace=self.namespace)(self._on_connect)
        sockevents.on("disconnect", namespace=self.namespace)(self._on_disconnect)
        sockevents.on("snapshot", namespace=self.namespace)(self._on_snapshot)
        app.register_blueprint(self.blueprint(), url_prefix=self.url_prefix)
        app.extensions["sockevents_monitor"] = self

    def blueprint(self) -> Blueprint:
        """A new blueprint serving the page and its static files, behind :attr:`check`."""
        blueprint = Blueprint(
            "sockevents_monitor",
            __name__,
            static_folder=str(_HERE / "static"),
            static_url_path="/static",
            template_folder=str(_HERE / "templates"),
        )

        @blueprint.before_request
        def require_access() -> None:
            if not self.check():
                abort(403)

        @blueprint.get("/")
        def page() -> str:
            path = self.sockevents.path or "socket.io"
            return render_template(
                "sockevents_monitor.html",
                namespace=self.namespace,
                socketio_path="/" + str(path).strip("/") + "/",
                interval=self.interval,
                window=self.state.window,
            )

        return blueprint

    # -- the namespace -----------------------------------------------------------

    def _on_connect(self) -> bool:
        if not self.check():
            return False
        sid: str = request.sid  # type: ignore[attr-defined]
        self.sockevents.join_room(ROOM, sid, namespace=self.namespace)
        self.watchers.add(sid)
        if not self._pushing:
            self._pushing = True
            self.sockevents.start_background_task(self._push_while_watched, self.state.last_seq)
        return True

    def _on_disconnect(self) -> None:
        self.watchers.discard(request.sid)  # type: ignore[attr-defined]

    def _on_snapshot(self) -> dict[str, Any]:
        return self._describe(self.state.snapshot())

    def _describe(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        snapshot["watchers"] = len(self.watchers)
        snapshot["cluster"] = cluster_snapshot(self.sockevents, exclude_namespace=self.namespace)
        return snapshot

    def _push_while_watched(self, sent: int) -> None:
        """Push a delta to the room every :attr:`interval` seconds until no page is left.

        :param sent: the seq of the last row the pages have (from their snapshot).
        """
        try:
            while self.watchers:
                self.sockevents.sleep(self.interval)
                if not self.watchers:
                    break
                delta = self._describe(self.state.snapshot(since=sent))
                sent = delta["seq"]
                self.sockevents.emit("delta", delta, to=ROOM, namespace=self.namespace)
        finally:
            self._pushing = False
