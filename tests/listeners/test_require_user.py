"""RequireUser and authenticated_only: anonymous clients are rejected, users let through."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from flask_sockevents.bus import Bus
from flask_sockevents.event import Event, EventKind, Outcome
from flask_sockevents.exceptions import Reject
from flask_sockevents.guards import RequireUser, authenticated_only, is_authenticated

from .conftest import FakeSockEvents, MakeEvent


class User:
    """A user in the shape of Flask-Login's ``UserMixin`` and ``AnonymousUserMixin``."""

    def __init__(self, authenticated: bool) -> None:
        self.is_authenticated = authenticated


def received(make_event: MakeEvent, name: str = "chat message", **fields: Any) -> Event:
    return make_event(name, outcome=None, **fields)


def test_rejects_when_there_is_no_user(make_event: MakeEvent):
    guard = RequireUser(user=lambda: None)

    with pytest.raises(Reject) as rejected:
        guard(received(make_event))
    assert rejected.value.reason == "authentication required"


def test_rejects_an_anonymous_user(make_event: MakeEvent):
    guard = RequireUser(user=lambda: User(authenticated=False))

    with pytest.raises(Reject):
        guard(received(make_event))


def test_lets_an_authenticated_user_through(make_event: MakeEvent):
    guard = RequireUser(user=lambda: User(authenticated=True))

    assert guard(received(make_event)) is None


def test_rejects_the_connect_of_an_anonymous_client(make_event: MakeEvent):
    guard = RequireUser(user=lambda: None)

    with pytest.raises(Reject):
        guard(received(make_event, kind=EventKind.CONNECT))


def test_never_rejects_a_disconnect(make_event: MakeEvent):
    guard = RequireUser(user=lambda: None)

    assert guard(received(make_event, kind=EventKind.DISCONNECT)) is None


def test_a_user_callable_that_raises_rejects(make_event: MakeEvent):
    def broken() -> Any:
        raise RuntimeError("session store down")

    guard = RequireUser(user=broken)

    with pytest.raises(Reject):
        guard(received(make_event))


def test_reason_is_configurable(make_event: MakeEvent):
    guard = RequireUser(user=lambda: None, reason="login first")

    with pytest.raises(Reject, match="login first"):
        guard(received(make_event))


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (None, False),
        (User(authenticated=False), False),
        (User(authenticated=True), True),
        (types.SimpleNamespace(is_authenticated=lambda: True), True),
        (types.SimpleNamespace(is_authenticated=lambda: False), False),
        ({"id": 7}, True),
    ],
)
def test_is_authenticated(user: Any, expected: bool):
    assert is_authenticated(user) is expected


def test_init_app_guards_every_event_in_every_namespace(sockevents: FakeSockEvents):
    guard = RequireUser(sockevents, user=lambda: None)

    assert sockevents.guards == [("*", "*", guard)]


def test_init_app_guards_each_given_event_pattern_in_the_namespace(sockevents: FakeSockEvents):
    guard = RequireUser(sockevents, user=lambda: None, events=["admin *", "delete"], namespace="/a")

    assert sockevents.guards == [("admin *", "/a", guard), ("delete", "/a", guard)]


def test_defaults_to_flask_login_current_user(
    monkeypatch: pytest.MonkeyPatch, make_event: MakeEvent
):
    class Proxy:
        def __init__(self) -> None:
            self.user = User(authenticated=False)

        def _get_current_object(self) -> User:
            return self.user

    fake_flask_login = types.ModuleType("flask_login")
    fake_flask_login.current_user = Proxy()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flask_login", fake_flask_login)
    guard = RequireUser()

    with pytest.raises(Reject):
        guard(received(make_event))
    fake_flask_login.current_user.user = User(authenticated=True)  # type: ignore[attr-defined]
    assert guard(received(make_event)) is None


def test_without_flask_login_or_a_user_callable_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(sys.modules, "flask_login", None)

    with pytest.raises(ImportError, match="pip install flask-login, or pass user="):
        RequireUser()


def test_on_the_bus_an_anonymous_connect_is_refused_with_the_reason(make_event: MakeEvent):
    bus = Bus()
    RequireUser(bus, user=lambda: None)

    finished = bus.publish(received(make_event, kind=EventKind.CONNECT))

    assert finished.outcome is Outcome.REJECTED
    assert finished.ack == {"message": "authentication required"}


def test_authenticated_only_runs_the_handler_for_a_user():
    @authenticated_only(user=lambda: User(authenticated=True))
    def echo(data: str) -> str:
        return data

    assert echo("hi") == "hi"


def test_authenticated_only_rejects_an_anonymous_client():
    calls: list[str] = []

    @authenticated_only(user=lambda: None)
    def echo(data: str) -> str:
        calls.append(data)
        return data

    with pytest.raises(Reject, match="authentication required"):
        echo("hi")
    assert calls == []


def test_authenticated_only_keeps_the_handler_name():
    @authenticated_only(user=lambda: None)
    def on_delete() -> None:
        """Delete things."""

    assert (on_delete.__name__, on_delete.__doc__) == ("on_delete", "Delete things.")


def test_authenticated_only_bare_uses_flask_login(monkeypatch: pytest.MonkeyPatch):
    fake_flask_login = types.ModuleType("flask_login")
    fake_flask_login.current_user = types.SimpleNamespace(  # type: ignore[attr-defined]
        _get_current_object=lambda: User(authenticated=False)
    )
    monkeypatch.setitem(sys.modules, "flask_login", fake_flask_login)

    @authenticated_only
    def echo(data: str) -> str:
        return data

    with pytest.raises(Reject):
        echo("hi")


def test_on_the_bus_authenticated_only_turns_anonymous_events_into_rejections(
    make_event: MakeEvent,
):
    bus = Bus()
    bus.on("delete", "/")(authenticated_only(user=lambda: None)(lambda item: "deleted"))

    finished = bus.publish(received(make_event, "delete"))

    assert finished.outcome is Outcome.REJECTED
    assert finished.reason == "authentication required"
    assert finished.replied is False
