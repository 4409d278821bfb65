"""SIGTERM to a server with handlers in flight: they finish, clients are told, logs are complete.

One server process (``python -m flask_sockevents``) with three clients, each
waiting for the ack of a handler that sleeps one second, is sent SIGTERM
while those handlers run; the tests below check what that one shutdown did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._support import Recorder, free_port, serve_process, wait_for

CLIENTS = 3
SLEEP = 1.0


@dataclass
class Shutdown:
    """What one graceful shutdown left behind."""

    sids: list[str]
    acks: dict[str, list[Any]]
    disconnect_reasons: dict[str, list[Any]]
    bus: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    exit_code: int
    stderr: str


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def shutdown(tmp_path_factory: pytest.TempPathFactory) -> Shutdown:
    logs = tmp_path_factory.mktemp("shutdown")
    env = {
        "SOCKEVENTS_TEST_BUS_LOG": str(logs / "bus.jsonl"),
        "SOCKEVENTS_TEST_AUDIT_LOG": str(logs / "audit.jsonl"),
    }
    server = serve_process("server", free_port(), logs, env)
    clients: list[Recorder] = []
    try:
        clients = [Recorder(server.url) for _ in range(CLIENTS)]
        sids = [client.sid for client in clients]
        acks: dict[str, list[Any]] = {sid: [] for sid in sids}
        for client, sid in zip(clients, sids, strict=True):
            client.client.emit("slow", SLEEP, callback=lambda *ack, sid=sid: acks[sid].append(ack))
        wait_for(
            lambda: all(client.started for client in clients),
            message="the slow handlers did not start",
        )
        exit_code = server.terminate()
        wait_for(lambda: not any(client.client.connected for client in clients))
        return Shutdown(
            sids=sids,
            acks=acks,
            disconnect_reasons={
                sid: client.disconnect_reasons for sid, client in zip(sids, clients, strict=True)
            },
            bus=_json_lines(logs / "bus.jsonl"),
            audit=_json_lines(logs / "audit.jsonl"),
            exit_code=exit_code,
            stderr=server.stderr(),
        )
    finally:
        for client in clients:
            client.close()
        server.terminate()


def test_the_server_exits_with_status_0(shutdown: Shutdown) -> None:
    assert shutdown.exit_code == 0, shutdown.stderr


def test_every_in_flight_handler_finishes_and_its_ack_arrives(shutdown: Shutdown) -> None:
    assert shutdown.acks == {sid: [(["done", SLEEP],)] for sid in shutdown.sids}


def test_the_bus_shows_each_in_flight_event_handled(shutdown: Shutdown) -> None:
    slow = [(e["sid"], e["outcome"]) for e in shutdown.bus if e["name"] == "slow"]
    assert sorted(slow) == sorted((sid, "handled") for sid in shutdown.sids)


def test_each_client_disconnect_is_on_the_bus_exactly_once(shutdown: Shutdown) -> None:
    disconnects = [e["sid"] for e in shutdown.bus if e["kind"] == "disconnect"]
    assert sorted(disconnects) == sorted(shutdown.sids)


def test_the_disconnect_reason_is_server_disconnect(shutdown: Shutdown) -> None:
    reasons = {e["sid"]: e["args"] for e in shutdown.bus if e["kind"] == "disconnect"}
    assert reasons == {sid: ["'server disconnect'"] for sid in shutdown.sids}


def test_each_disconnect_comes_after_that_clients_event(shutdown: Shutdown) -> None:
    for sid in shutdown.sids:
        names = [e["name"] for e in shutdown.bus if e["sid"] == sid]
        assert names[-2:] == ["slow", "disconnect"]


def test_the_audit_log_ends_with_the_disconnects(shutdown: Shutdown) -> None:
    tail = shutdown.audit[-CLIENTS:]
    assert [record["kind"] for record in tail] == ["disconnect"] * CLIENTS
    assert sorted(record["sid"] for record in tail) == sorted(shutdown.sids)


def test_the_clients_are_told_the_server_disconnected_them(shutdown: Shutdown) -> None:
    assert shutdown.disconnect_reasons == {sid: ["server disconnect"] for sid in shutdown.sids}
