"""LoggingListener: one log line per event, failures louder."""

from __future__ import annotations

import logging

import pytest

from flask_sockevents.event import EventKind, Outcome
from flask_sockevents.listeners import LoggingListener

from .conftest import FakeSockEvents, MakeEvent

LOGGER = "flask_sockevents.events"


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def test_logs_one_line_per_event(caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent):
    listener = LoggingListener()
    listener(make_event("chat message", namespace="/chat", sid="s1", duration=0.0042))

    (record,) = caplog_info.records
    assert record.name == LOGGER
    assert record.levelno == logging.INFO
    assert record.getMessage() == "event /chat 'chat message' sid=s1 handled 4.2ms"


def test_lifecycle_events_are_logged_with_their_kind(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent
):
    listener = LoggingListener()
    listener(make_event(kind=EventKind.CONNECT, sid="s1", outcome=Outcome.UNHANDLED))
    listener(make_event(kind=EventKind.DISCONNECT, sid="s1"))

    assert [r.getMessage().split(" sid")[0] for r in caplog_info.records] == [
        "connect / 'connect'",
        "disconnect / 'disconnect'",
    ]


def test_rejected_events_are_logged_at_the_failures_level_with_reason(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent
):
    listener = LoggingListener()
    listener(make_event("admin", outcome=Outcome.REJECTED, reason="login required"))

    (record,) = caplog_info.records
    assert record.levelno == logging.WARNING
    assert "rejected (login required)" in record.getMessage()


def test_failed_events_are_logged_at_the_failures_level(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent
):
    listener = LoggingListener(failures_level=logging.ERROR)
    listener(make_event("x", outcome=Outcome.FAILED, reason="KeyError: 'a'"))

    (record,) = caplog_info.records
    assert record.levelno == logging.ERROR


def test_levels_and_logger_are_configurable(
    caplog: pytest.LogCaptureFixture, make_event: MakeEvent
):
    caplog.set_level(logging.DEBUG, logger="myapp.socket")
    listener = LoggingListener(logger=logging.getLogger("myapp.socket"), level=logging.DEBUG)
    listener(make_event("x"))

    (record,) = caplog.records
    assert (record.name, record.levelno) == ("myapp.socket", logging.DEBUG)


def test_client_chosen_text_cannot_forge_a_log_line(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent
):
    listener = LoggingListener()
    listener(
        make_event(
            "x\nevent / 'admin' sid=s2 handled",
            namespace="/a\nb",
            outcome=Outcome.REJECTED,
            reason="bad\rname",
        )
    )

    assert "\n" not in caplog_info.records[0].getMessage()
    assert "\r" not in caplog_info.records[0].getMessage()


def test_records_carry_the_event(caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent):
    event = make_event("x")
    LoggingListener()(event)

    assert caplog_info.records[0].sockevent is event


def test_nothing_is_logged_below_the_logger_level(
    caplog: pytest.LogCaptureFixture, make_event: MakeEvent
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    LoggingListener()(make_event("x"))

    assert caplog.records == []


def test_init_app_listens_to_every_event(sockevents: FakeSockEvents):
    listener = LoggingListener(sockevents)

    assert sockevents.listeners == [("*", "*", listener)]


def test_client_chosen_strings_are_cut_to_the_field_length(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent
):
    listener = LoggingListener(max_field_length=16)
    listener(
        make_event(
            "n" * 900_000, namespace="/" + "s" * 900_000, outcome=Outcome.REJECTED, reason="r" * 99
        )
    )

    message = caplog_info.records[0].getMessage()
    assert f"'{'n' * 16}…[+899984 chars]'" in message
    assert f"/{'s' * 15}…[+899985 chars]" in message
    assert f"({'r' * 16}…[+83 chars])" in message
    assert len(message) < 200


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\n"])
def test_a_log_line_stays_one_line_for_str_splitlines(
    caplog_info: pytest.LogCaptureFixture, make_event: MakeEvent, separator: str
):
    listener = LoggingListener()
    listener(
        make_event(
            f"a{separator}b",
            namespace=f"/x{separator}y",
            outcome=Outcome.REJECTED,
            reason=f"why{separator}not",
        )
    )

    assert len(caplog_info.records[0].getMessage().splitlines()) == 1
