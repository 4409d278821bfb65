"""Refuse connects and events from clients that are not logged in.

Plug it in with one line (Flask-Login's ``current_user`` by default)::

    from flask_sockevents.guards import RequireUser

    RequireUser(sockevents)                      # every namespace, connects included
    RequireUser(sockevents, namespace="/admin")  # only there

or guard a single handler, as Flask-SocketIO's documented ``authenticated_only``::

    @sockevents.on("delete")
    @authenticated_only
    def delete(data): ...
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from flask_sockevents.event import Event, EventKind
from flask_sockevents.exceptions import Reject

__all__ = ["RequireUser", "authenticated_only", "is_authenticated"]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_REASON = "authentication required"
_log = logging.getLogger(__name__)


def is_authenticated(user: Any) -> bool:
    """Whether ``user`` counts as logged in.

    ``None`` does not; an object with an ``is_authenticated`` attribute (a
    Flask-Login user, or an old-style method) counts when it is true; any
    other object counts as a user.
    """
    if user is None:
        return False
    flag = getattr(user, "is_authenticated", True)
    if callable(flag):
        flag = flag()
    return bool(flag)


def flask_login_user() -> Callable[[], Any]:
    """Return a callable giving Flask-Login's ``current_user``.

    :raises ImportError: when Flask-Login is not installed, saying what to
        install or pass instead.
    """
    try:
        import flask_login
    except ImportError as exc:
        raise ImportError(
            "flask_sockevents uses Flask-Login's current_user to find the user: "
            "pip install flask-login, or pass user=<a callable returning the current user "
            "or None>, e.g. user=lambda: session.get('user_id')"
        ) from exc

    def current_user() -> Any:
        return flask_login.current_user._get_current_object()

    return current_user


class RequireUser:
    """A guard rejecting connects and events from anonymous clients.

    A client is anonymous when ``user()`` returns ``None`` or an object whose
    ``is_authenticated`` is false. Connects are guarded too (when ``events``
    matches ``connect``, as ``"*"`` does), so an anonymous client is refused
    at connect with ``{"message": reason}``. Disconnects are never rejected.
    If ``user()`` raises, the event is rejected: a broken login check fails
    closed.

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param user: a callable returning the current user (called in the
        connection's Flask context); Flask-Login's ``current_user`` by default.
    :param events: the event pattern, or several, to guard.
    :param namespace: the namespace pattern to guard.
    :param reason: the rejection reason the client is told.
    :raises ImportError: when ``user`` is not given and Flask-Login is not
        installed.
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        user: Callable[[], Any] | None = None,
        events: str | Iterable[str] = "*",
        namespace: str = "*",
        reason: str = DEFAULT_REASON,
    ) -> None:
        self.user = user if user is not None else flask_login_user()
        self.events = (events,) if isinstance(events, str) else tuple(events)
        self.namespace = namespace
        self.reason = reason
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(
        self, sockevents: Any, event: str | None = None, namespace: str | None = None
    ) -> None:
        """Guard ``event`` in ``namespace`` on ``sockevents``.

        Both default to the constructor's ``events`` and ``namespace``.
        """
        patterns = (event,) if event is not None else self.events
        for pattern in patterns:
            sockevents.guard(pattern, namespace if namespace is not None else self.namespace)(self)

    def __call__(self, event: Event) -> None:
        """Let ``event`` through when a user is logged in.

        Disconnects, and server-to-server events (kind ``server``: no client
        sent them), always pass.

        :raises Reject: ``Reject(reason)`` for an anonymous client.
        """
        if event.kind is EventKind.DISCONNECT or event.kind is EventKind.SERVER:
            return
        try:
            user = self.user()
        except Exception:
            _log.exception("RequireUser: the user callable raised; rejecting %r", event)
            raise Reject(self.reason) from None
        if not is_authenticated(user):
            raise Reject(self.reason)


@overload
def authenticated_only(handler: F, /) -> F: ...
@overload
def authenticated_only(
    *, user: Callable[[], Any] | None = None, reason: str = DEFAULT_REASON
) -> Callable[[F], F]: ...
def authenticated_only(
    handler: F | None = None,
    /,
    *,
    user: Callable[[], Any] | None = None,
    reason: str = DEFAULT_REASON,
) -> F | Callable[[F], F]:
    """Decorate a handler so that it only runs for a logged-in client.

    Flask-SocketIO documents a decorator of this name that disconnects the
    client; this one raises :class:`Reject`, so the event is published as
    rejected with ``reason`` and the connection stays. Use it bare or with
    options::

        @sockevents.on("delete")
        @authenticated_only
        def delete(data): ...

        @sockevents.on("delete")
        @authenticated_only(user=lambda: g.user, reason="login first")
        def delete(data): ...

    :param user: a callable returning the current user; Flask-Login's
        ``current_user`` by default.
    :param reason: the rejection reason.
    :raises ImportError: at decoration, when ``user`` is not given and
        Flask-Login is not installed.
    """
    current = user if user is not None else flask_login_user()

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not is_authenticated(current()):
                raise Reject(reason)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(handler) if handler is not None else decorate
