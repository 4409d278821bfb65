"""A 30-second soak of a real server: 50 clients churning, the invariants that must hold after.

``bench/soak.py --duration 30 --clients 50`` runs once for the module (about
45 s): the soak app in a subprocess under gevent, 50 clients sending mixed
traffic (acknowledged echoes, rooms, broadcasts, rejected, unhandled and
failing events, malformed packets from raw websocket clients), reconnecting
every few seconds. Each test checks one invariant of its report; none checks
timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "bench" / "soak.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report of one short soak."""
    out = tmp_path_factory.mktemp("soak")
    command = [sys.executable, str(SOAK), "--duration", "30", "--clients", "50", "--out", str(out)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    path = out / "soak-30s-50c.json"
    assert path.exists(), finished.stdout[-2000:] + finished.stderr[-2000:]
    assert (out / "soak-30s-50c.png").stat().st_size > 0
    return dict(json.loads(path.read_text()))


def test_every_event_received_has_exactly_one_outcome(report: dict[str, Any]) -> None:
    invariant = report["invariants"]["outcomes_add_up"]
    assert invariant["received"] > 0
    assert invariant["received"] == invariant["outcomes"], invariant


def test_every_outcome_occurs_under_mixed_traffic(report: dict[str, Any]) -> None:
    counts = report["final"]["counts"]
    outcomes = ("handled", "unhandled", "rejected", "failed")
    assert all(counts.get(outcome, 0) > 0 for outcome in outcomes), counts


def test_every_accepted_connection_has_one_connect_and_one_disconnect(
    report: dict[str, Any],
) -> None:
    invariant = report["invariants"]["one_connect_one_disconnect_per_sid"]
    assert invariant["wrong"] == {}, invariant
    assert invariant["client_sids_not_on_bus"] == [], invariant


def test_clients_reconnected_many_times(report: dict[str, Any]) -> None:
    invariant = report["invariants"]["one_connect_one_disconnect_per_sid"]
    assert invariant["client_sids"] > 50, invariant


def test_the_server_holds_no_connection_after_the_clients_leave(report: dict[str, Any]) -> None:
    invariant = report["invariants"]["no_connection_left"]
    left = (invariant["connections"], invariant["queued"], invariant["engineio_sockets"])
    assert left == (0, 0, 0), invariant


def test_greenlets_and_file_descriptors_return_to_idle(report: dict[str, Any]) -> None:
    assert report["invariants"]["greenlets_and_fds_back_to_idle"]["holds"], report["invariants"]


def test_every_acknowledgement_carries_the_value_sent(report: dict[str, Any]) -> None:
    invariant = report["invariants"]["acks_carry_the_right_value"]
    assert invariant["ok"] > 0
    assert invariant["mismatch"] == 0, invariant


def test_a_faulty_listener_never_stops_the_others(report: dict[str, Any]) -> None:
    final = report["final"]
    assert final["listener_errors"] > 0
    assert sum(final["seen"].values()) == final["counts"]["received"], final["seen"]


def test_malformed_packets_close_their_connection_and_are_counted(report: dict[str, Any]) -> None:
    assert report["clients"]["malformed sent"] > 0
    assert sum(report["final"]["protocol_errors"].values()) == report["clients"]["malformed sent"]


def test_the_server_stops_on_sigterm(report: dict[str, Any]) -> None:
    assert report["server_exit_code"] == 0
