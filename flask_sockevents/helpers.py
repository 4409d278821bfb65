"""Helpers for use inside handlers: they act on the client of the current event.

``emit``, ``emit_with_ack``, ``send`` and ``call`` address the current client unless told
otherwise (``to=``, ``broadcast=True``); ``join_room``, ``leave_room``,
``rooms`` and ``disconnect`` act on it. Outside a handler use the methods of
:class:`~flask_sockevents.SockEvents` instead, which take a ``sid``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import gevent.event

if TYPE_CHECKING:
    from .extension import SockEvents

__all__ = [
    "call",
    "close_room",
    "disconnect",
    "emit",
    "emit_with_ack",
    "join_room",
    "leave_room",
    "rooms",
    "send",
]


def _extension() -> SockEvents:
    try:
        return flask.current_app.extensions["sockevents"]
    except KeyError:
        raise RuntimeError("this app has no SockEvents extension: call init_app(app)") from None


def _client() -> tuple[str, str]:
    request = flask.request
    sid = getattr(request, "sid", None)
    if sid is None:
        raise RuntimeError(
            "no Socket.IO client here: use this helper inside a handler, or the "
            "SockEvents method of the same name with an explicit sid"
        )
    return sid, request.namespace  # type: ignore[attr-defined]


def emit(event: str, *args: Any, **kwargs: Any) -> None:
    """Emit ``event`` to the current client (or ``to=`` a room, or ``broadcast=True``).

    :param namespace: defaults to the current event's namespace.
    :param include_self: with ``broadcast`` or ``to``, ``False`` skips the sender.
    :param callback: called with the client's acknowledgement.
    :param timeout: with ``callback``, seconds to wait: ``callback`` is then
        called once, error first (see :meth:`SockEvents.emit
        <flask_sockevents.SockEvents.emit>`).
    """
    sid, namespace = _client()
    kwargs.setdefault("namespace", namespace)
    broadcast = kwargs.pop("broadcast", False)
    to = kwargs.pop("to", None) or kwargs.pop("room", None)
    if to is None and not broadcast:
        to = sid
    _extension().emit(event, *args, to=to, **kwargs)


def emit_with_ack(event: str, *args: Any, **kwargs: Any) -> gevent.event.AsyncResult:
    """Emit ``event`` to the current client (or ``to=``, ``broadcast=True``) without waiting.

    Returns a gevent ``AsyncResult`` of the acknowledgements; see
    :meth:`SockEvents.emit_with_ack <flask_sockevents.SockEvents.emit_with_ack>`.

    :param timeout: seconds to wait for the answers (5).
    """
    sid, namespace = _client()
    kwargs.setdefault("namespace", namespace)
    broadcast = kwargs.pop("broadcast", False)
    to = kwargs.pop("to", None) or kwargs.pop("room", None)
    if to is None and not broadcast:
        to = sid
    return _extension().emit_with_ack(event, *args, to=to, **kwargs)


def send(message: Any, **kwargs: Any) -> None:
    """Send an unnamed ``message`` (``json=True``: a ``json`` event) like :func:`emit`."""
    json = kwargs.pop("json", False)
    emit("json" if json else "message", message, **kwargs)


def call(event: str, *args: Any, **kwargs: Any) -> Any:
    """Emit ``event`` to the current client (or ``to=``) and return its acknowledgement.

    :param timeout: seconds to wait (60); :class:`TimeoutError` after it.
    """
    sid, namespace = _client()
    kwargs.setdefault("namespace", namespace)
    to = kwargs.pop("to", None) or kwargs.pop("room", None) or sid
    return _extension().call(event, *args, to=to, **kwargs)


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Put the current client (or ``sid``) in ``room``."""
    current_sid, current_namespace = _client()
    _extension().join_room(room, sid or current_sid, namespace or current_namespace)


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the current client (or ``sid``) out of ``room``."""
    current_sid, current_namespace = _client()
    _extension().leave_room(room, sid or current_sid, namespace or current_namespace)


def close_room(room: str, namespace: str | None = None) -> None:
    """Remove every client from ``room`` (in the current namespace by default)."""
    _, current_namespace = _client()
    _extension().close_room(room, namespace or current_namespace)


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms the current client (or ``sid``) is in."""
    current_sid, current_namespace = _client()
    return _extension().rooms(sid or current_sid, namespace or current_namespace)


def disconnect(sid: str | None = None, namespace: str | None = None, silent: bool = False) -> None:
    """Disconnect the current client (or ``sid``) from the namespace.

    :param sid: the client's session id; the current client's by default.
    :param namespace: the namespace; the current one by default.
    :param silent: accepted for Flask-SocketIO compatibility, where it is
        deprecated and has no effect; it has none here either.
    """
    current_sid, current_namespace = _client()
    _extension().disconnect(sid or current_sid, namespace or current_namespace)
