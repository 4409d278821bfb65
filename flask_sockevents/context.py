"""Flask contexts around each event: ``request``, ``session``, ``g`` and ``current_app``.

Every guard, handler and listener of an event runs inside a fresh Flask app
context and a request context built from the connection's handshake environ,
as in Flask-SocketIO: ``request.sid``, ``request.namespace`` and
``request.event`` (``{"message": name, "args": args}``) are set,
``request.recovered`` is true for a connect that recovers a lost session
(connection state recovery), and
:data:`current_event` is the :class:`~flask_sockevents.Event` itself.

The request context is cheap: the request is made once per connection (and
parsed only as far as a handler reads it), the URL adapter built the first
time an event needs it (``url_for``), and each event gets its own shallow copy of that request
(so ``request.sid`` and friends never leak between events); URL matching is
skipped (an event has no URL rule), so ``url_for`` works and
``before_request`` hooks do not run, exactly as with Flask-SocketIO. While
nothing observes the contexts' life (no ``teardown_request`` or
``teardown_appcontext`` function, no receiver of Flask's context signals),
they are bound and unbound directly, without Flask's bookkeeping for
observers that are not there; as soon as one is registered, every event gets
Flask's own push and pop.
``flask.copy_current_request_context`` copies that context (same request,
``request.sid`` included) for a thread or greenlet started from a handler.

Sessions: with ``manage_session=True`` (the default) each connection gets its
own copy of the Flask session, taken at its first event; changes persist across
its events but never reach the HTTP session. The copy is kept where
Flask-SocketIO keeps it, in the connection's environ under ``"saved_session"``
(``sockevents.server.environ[eio_sid]["saved_session"]``). With ``manage_session=False``
Flask's own session interface is used, so server-side sessions are shared with
HTTP (a cookie session is read-only: the cookie cannot be rewritten over a
websocket).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask import Flask, Request
from flask import signals as flask_signals
from flask.ctx import AppContext, RequestContext
from flask.globals import _cv_app, _cv_request  # private: see .dependencies, _bind
from flask.sessions import SessionMixin
from werkzeug.exceptions import HTTPException
from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from .event import Event

__all__ = ["EventContext", "ManagedSession", "current_event"]

#: Flask-SocketIO's key for the managed session, which apps read.
_SESSION_KEY = "saved_session"
_URL_ADAPTER_KEY = "flask_sockevents.url_adapter"
_REQUEST_KEY = "flask_sockevents.request"
_SESSION_IS_PROPERTY = isinstance(getattr(RequestContext, "session", None), property)


class ManagedSession(dict[str, Any], SessionMixin):
    """The per-connection session used when ``manage_session=True``."""


def _current_event() -> Event:
    from flask import request

    try:
        return cast("Event", request.sockevent)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        raise RuntimeError(
            "current_event is only available while a Socket.IO event is dispatched"
        ) from None


#: The :class:`~flask_sockevents.Event` being dispatched (inside guards,
#: handlers and listeners).
current_event: Event = LocalProxy(_current_event)  # type: ignore[assignment]


_NOT_BUILT = object()


def _connection_url_adapter(app: Flask, request: Request) -> Any:
    """The URL adapter of the connection whose handshake ``request`` is, built once.

    Built from the connection's template request (``request`` is a copy of
    it), as Flask builds it for a request; a failure (an untrusted host)
    becomes the requests' ``routing_exception`` and the adapter is ``None``.
    """
    environ = request.environ
    adapter = environ.get(_URL_ADAPTER_KEY, _NOT_BUILT)
    if adapter is not _NOT_BUILT:
        return adapter
    template = environ.get(_REQUEST_KEY, request)
    try:
        adapter = app.create_url_adapter(template)
    except HTTPException as exc:
        template.routing_exception = request.routing_exception = exc
        adapter = None
    environ[_URL_ADAPTER_KEY] = adapter
    return adapter


class _EventRequestContext(RequestContext):
    """A request context for one event, without re-matching the handshake's URL.

    Its signature is :class:`~flask.ctx.RequestContext`'s (plus ``url_adapter``)
    because :meth:`~flask.ctx.RequestContext.copy`, used by
    ``flask.copy_current_request_context``, calls ``type(self)(app,
    environ=..., request=..., session=...)``.
    """

    def __init__(
        self,
        app: Flask,
        environ: dict[str, Any] | None = None,
        request: Request | None = None,
        session: Any = None,
        url_adapter: Any = None,
    ) -> None:
        if request is None:
            request = app.request_class(environ or {})
            request.json_module = app.json
        self.app = app
        self.request = request
        self._url_adapter = (
            url_adapter
            if url_adapter is not None
            else request.environ.get(_URL_ADAPTER_KEY, _NOT_BUILT)
        )
        self.flashes = None
        self.bound = False  # pushed by EventContext._bind, to be popped by its _unbind
        self._after_request_functions = []
        self._cv_tokens = []
        if _SESSION_IS_PROPERTY:
            self._session = session
        else:  # Flask < 3.1 keeps the session in a plain attribute
            self.session = session  # type: ignore[misc]

    @property
    def url_adapter(self) -> Any:
        """The handshake's URL adapter, built the first time an event needs one (``url_for``)."""
        adapter = self._url_adapter
        if adapter is _NOT_BUILT:
            adapter = self._url_adapter = _connection_url_adapter(self.app, self.request)
        return adapter

    @url_adapter.setter
    def url_adapter(self, adapter: Any) -> None:
        self._url_adapter = adapter

    def match_request(self) -> None:
        """An event has no URL rule: nothing to match."""


#: Flask's signals sent as contexts are pushed and popped: a receiver of any
#: of them gets Flask's own push and pop.
_CONTEXT_SIGNALS = (
    flask_signals.appcontext_pushed,
    flask_signals.appcontext_popped,
    flask_signals.appcontext_tearing_down,
    flask_signals.request_tearing_down,
)


class EventContext:
    """Builds and pushes the Flask contexts in which one event is dispatched.

    :param app: the Flask application.
    :param manage_session: give each connection its own session copy.
    """

    def __init__(self, app: Flask, manage_session: bool = True) -> None:
        self.app = app
        self.manage_session = manage_session

    def _observed(self) -> bool:
        """Whether anything runs when a context is pushed or popped (teardowns, signals)."""
        app = self.app
        pushed, popped, app_tearing_down, request_tearing_down = _CONTEXT_SIGNALS
        return bool(
            app.teardown_request_funcs
            or app.teardown_appcontext_funcs
            or pushed.receivers
            or popped.receivers
            or app_tearing_down.receivers
            or request_tearing_down.receivers
        )

    def _bind(self, context: _EventRequestContext) -> None:
        """Push ``context`` (and a fresh app context) as Flask does when nothing observes it.

        Flask's ``push`` and ``pop`` send four signals and call the teardown
        functions per event; with no receiver and no function they only set
        and reset the two context variables, which is what this does, with
        the tokens kept where Flask keeps them (so that a nested push, or
        ``copy_current_request_context``, behaves as with Flask's push).
        ``_cv_app`` and ``_cv_request`` are Flask's context variables
        (``flask.globals``, since Flask 2.2).
        """
        app = self.app
        app_context = _cv_app.get(None)
        if app_context is None or app_context.app is not app:
            app_context = object.__new__(AppContext)
            app_context.app = app
            app_context.url_adapter = app.create_url_adapter(None)
            app_context.g = app.app_ctx_globals_class()
            app_context._cv_tokens = [_cv_app.set(app_context)]
        else:
            app_context = None
        context._cv_tokens.append((_cv_request.set(context), app_context))
        context.bound = True

    def _unbind(self, context: _EventRequestContext) -> None:
        """Pop a context pushed by :meth:`_bind`."""
        context.bound = False
        token, app_context = context._cv_tokens.pop()
        _cv_request.reset(token)
        if app_context is not None:
            _cv_app.reset(app_context._cv_tokens.pop())

    def push(self, environ: dict[str, Any], event: Event) -> RequestContext:
        """Push the contexts for ``event`` and return the request context to pop."""
        template: Request | None = environ.get(_REQUEST_KEY)
        if template is None:
            template = environ[_REQUEST_KEY] = self._connection_request(environ)
        request = object.__new__(type(template))
        attributes = request.__dict__
        attributes.update(template.__dict__)
        attributes["sid"] = event.sid
        attributes["namespace"] = event.namespace
        attributes["event"] = {"message": event.name, "args": event.args}
        attributes["sockevent"] = event
        attributes["recovered"] = event.recovered
        session = self._connection_session(environ, request) if self.manage_session else None
        context = _EventRequestContext(self.app, None, request, session)
        if session is not None and not self._observed():
            self._bind(context)
        else:
            context.push()
        return context

    def pop(self, context: RequestContext, error: BaseException | None = None) -> None:
        """Save a Flask-managed session if it changed, then pop ``context``."""
        if isinstance(context, _EventRequestContext) and context.bound:
            self._unbind(context)
            return
        try:
            if not self.manage_session:
                self._save_flask_session(context)
        finally:
            context.pop(error)

    def _connection_request(self, environ: dict[str, Any]) -> Request:
        """The template each event's request is copied from, once per connection.

        Nothing of the handshake is parsed yet: werkzeug parses headers,
        cookies and arguments when first read, and the URL adapter is built
        when an event first needs it.
        """
        app = self.app
        request = app.request_class(environ)
        request.json_module = app.json
        return request

    def _connection_session(self, environ: dict[str, Any], request: Request) -> ManagedSession:
        session = environ.get(_SESSION_KEY)
        if session is None:
            opened = self.app.session_interface.open_session(self.app, request)
            session = environ[_SESSION_KEY] = ManagedSession(opened or {})
        return cast(ManagedSession, session)

    def _save_flask_session(self, context: RequestContext) -> None:
        session = context.session
        if getattr(session, "modified", True):
            response = self.app.response_class()
            self.app.session_interface.save_session(self.app, session, response)
