"""Listeners that cannot be turned against the server: bounded records, one line each, no secrets.

The arena runs the shipped AuditLog (to a file), LoggingListener (to a log
file) and Monitor. Whatever a client sends on either transport (900 KB event
names and namespaces, bodies of a megabyte to a name nobody declared, a line
separator in a name, a payload that makes a handler fail with a password in
its message) the records stay short, one line each, and free of the
handler's exception text, while the probe is answered and the process's
memory comes back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flask_sockevents import Event, EventKind, Outcome, SockEvents, signals
from flask_sockevents.listeners import AuditLog, LoggingListener
from flask_sockevents.monitor import Monitor

from ._resident import settled_resident_bytes
from ._transports import TRANSPORTS, Attacker
from ._wait import wait_for
from .conftest import Arena

HUGE = 900_000
MEGABYTE_EVENTS = 10
#: What a record may grow to: every client-chosen string is cut to 256 characters.
RECORD_BOUND = 4096
#: A namespace where only ``declared`` is handled: any other name is unhandled.
QUIET = "/quiet"


class Listened:
    """An arena whose bus feeds an audit file, a log file and the monitor."""

    def __init__(
        self, game: Arena, audit: AuditLog, audit_path: Path, log_path: Path,
        seen_last: list[Event],
    ) -> None:  # fmt: skip
        self.game = game
        #: Every event, as the listener registered after the audit log and the
        #: logging listener saw it: an event here is in both files already.
        self.seen_last = seen_last
        self.audit = audit
        self.audit_path = audit_path
        self.log_path = log_path
        self.monitor: Monitor = game.app.extensions["sockevents_monitor"]

    def records(self) -> list[dict[str, Any]]:
        """The audit records, read with ``str.splitlines()``."""
        text = self.audit_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8").splitlines()

    def attacker(self, transport: str, namespace: str = "/") -> Attacker:
        """An attacker connected to ``namespace``."""
        attacker = Attacker(self.game, transport)
        attacker.send("40" if namespace == "/" else f"40{namespace},")
        wait_for(lambda: self.of(attacker, EventKind.CONNECT))
        return attacker

    def of(self, attacker: Attacker, kind: EventKind) -> list[Event]:
        return [
            e for e in list(self.game.events) if e.transport == attacker.eio_sid and e.kind is kind
        ]


@pytest.fixture
def listened(arena: Any, tmp_path: Path) -> Iterator[Listened]:
    audit_path, log_path = tmp_path / "audit.jsonl", tmp_path / "events.log"
    # A logger of its own, outside logging's registry: the test harness's capture
    # handlers (which keep every record, and so every Event) never reach it.
    logger = logging.Logger("adversarial.listener_abuse", logging.INFO)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    logger.addHandler(handler)
    audit = AuditLog(audit_path)
    seen_last: list[Event] = []

    def setup(sockevents: SockEvents) -> None:
        audit.init_app(sockevents)
        LoggingListener(sockevents, logger=logger)
        Monitor(sockevents)
        # Listeners run in the order they were registered, in the server's thread.
        sockevents.listen("*", namespace="*")(seen_last.append)
        sockevents.on("declared", namespace=QUIET)(lambda: None)  # no catch-all there

        @sockevents.on("login")
        def login(credentials: dict[str, str]) -> None:
            raise ValueError(f"bad password {credentials['password']!r}")

    game = arena(setup, max_message_size=2_000_000)
    yield Listened(game, audit, audit_path, log_path, seen_last)
    game.close()
    game.live.stop()  # before the audit log closes, so every record finds it open
    audit.close()
    logger.removeHandler(handler)
    handler.close()


def attack_then_settle(listened: Listened, attacker: Attacker, attack: Any, finished: int) -> None:
    """Run ``attack`` while probing, until the bus has finished ``finished`` packets of it."""

    def sent() -> int:  # counted once the audit log and the logging listener have it
        return sum(1 for e in list(listened.seen_last) if e.transport == attacker.eio_sid)

    before = sent()

    def run() -> None:
        attack()
        wait_for(lambda: sent() >= before + finished)
        listened.game.settled_counts()

    listened.game.probe_while(run)


def gone(listened: Listened, attacker: Attacker, before: int) -> None:
    attacker.leave()
    wait_for(lambda: listened.game.connections() == 1, message="the attacker is still known")
    listened.game.probe()
    listened.game.events.clear()  # the test's own records of every event, megabytes included
    listened.seen_last.clear()
    after = settled_resident_bytes()
    assert after <= before * 1.10, f"RSS {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_900_kb_event_names_and_namespaces_are_cut_in_the_audit_file_and_the_log(
    listened: Listened, transport: str
) -> None:
    before = settled_resident_bytes()
    attacker = listened.attacker(transport)
    name, namespace = "n" * HUGE, "/" + "s" * HUGE

    def attack() -> None:
        attacker.send(json.dumps([name, 1]).join(["42", ""]))
        attacker.send(f"40{namespace},")

    attack_then_settle(listened, attacker, attack, finished=2)

    records = listened.records()
    refused_name = [r for r in records if r["event"].startswith("nnn")]
    refused_namespace = [r for r in records if r["namespace"].startswith("/sss")]
    assert [r["outcome"] for r in refused_name + refused_namespace] == ["rejected", "rejected"]
    assert refused_name[0]["event"] == "n" * 256 + f"…[+{HUGE - 256} chars]"
    assert refused_namespace[0]["namespace"] == "/" + "s" * 255 + f"…[+{HUGE + 1 - 256} chars]"
    assert listened.audit_path.stat().st_size < RECORD_BOUND * len(records)
    assert max(len(line) for line in listened.log_lines()) < RECORD_BOUND
    gone(listened, attacker, before)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_10_events_of_a_megabyte_to_an_undeclared_name_are_audited_without_their_body(
    listened: Listened, transport: str
) -> None:
    before = settled_resident_bytes()
    attacker = listened.attacker(transport, QUIET)
    # About 1 MB in 1,000 strings: cheap to decode, so what it costs is what the
    # listeners make of it (cleaned twice, serialized twice and hashed, before).
    body = json.dumps(["nobody declared this", ["0123456789" * 100] * 1_000])
    assert len(body) > 1_000_000

    def attack() -> None:
        for _ in range(MEGABYTE_EVENTS):
            attacker.send(f"42{QUIET}," + body)

    attack_then_settle(listened, attacker, attack, finished=MEGABYTE_EVENTS)

    audited = [r for r in listened.records() if r["event"] == "nobody declared this"]
    assert len(audited) == MEGABYTE_EVENTS
    assert {r["outcome"] for r in audited} == {"unhandled"}
    assert all(r["size"] > 1_000_000 and r["sha256"] is None for r in audited)
    assert listened.audit_path.stat().st_size < RECORD_BOUND * len(listened.records())
    gone(listened, attacker, before)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_handler_failing_with_a_password_in_its_message_publishes_only_the_exception_class(
    listened: Listened, transport: str
) -> None:
    failed: list[Event] = []

    def on_failed(sender: Any, event: Event, **_: Any) -> None:
        failed.append(event)

    signals.event_failed.connect(on_failed)
    try:
        attacker = listened.attacker(transport)
        attack_then_settle(
            listened,
            attacker,
            lambda: attacker.send('42["login",{"password":"hunter2","user":"ann"}]'),
            finished=1,
        )
    finally:
        signals.event_failed.disconnect(on_failed)

    [login] = [e for e in failed if e.name == "login"]
    assert (login.outcome, login.reason) == (Outcome.FAILED, "ValueError")
    [record] = [r for r in listened.records() if r["event"] == "login"]
    assert (record["outcome"], record["reason"], record["error"]) == (
        "failed",
        "ValueError",
        "ValueError",
    )
    assert "hunter2" not in listened.audit_path.read_text(encoding="utf-8")
    assert "hunter2" not in listened.log_path.read_text(encoding="utf-8")
    snapshot = listened.monitor.state.snapshot()
    assert snapshot["failures"]["by_reason"] == [["ValueError", 1]]
    assert "hunter2" not in json.dumps(snapshot)
    attacker.leave()


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_line_separator_in_an_event_name_leaves_every_record_one_line(
    listened: Listened, transport: str, separator: str
) -> None:
    attacker = listened.attacker(transport)
    name = f"split{separator}here"

    attack_then_settle(
        listened,
        attacker,
        lambda: attacker.send("42" + json.dumps([name, f"and{separator}there"])),
        finished=1,
    )

    records = listened.records()  # json.loads of every str.splitlines() line
    assert [r["event"] for r in records if r["event"].startswith("split")] == [name]
    assert len(listened.audit_path.read_text(encoding="utf-8").splitlines()) == len(records)
    [logged] = [line for line in listened.log_lines() if "split" in line]
    assert logged.startswith(f"event / {name!r} sid=")
    attacker.leave()
