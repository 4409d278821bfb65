"""The acknowledgement messages on the queue are checked like python-socketio's own."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents.queues import message_problem

EMIT: dict[str, Any] = {
    "method": "ack_emit", "host_id": "a", "request": "r", "event": "question", "data": [21],
    "binary": False, "namespace": "/", "room": "lobby", "skip_sid": None, "timeout": 5,
}  # fmt: skip
COUNT: dict[str, Any] = {
    "method": "ack_count", "host_id": "a", "request": "r", "sids": ["s1"], "sid_room": False,
}  # fmt: skip
ANSWER: dict[str, Any] = {
    "method": "ack_answer", "host_id": "a", "request": "r", "sid": "s1", "args": [42],
}  # fmt: skip


@pytest.mark.parametrize("message", [EMIT, COUNT, ANSWER, {**ANSWER, "args": None, "gone": True}])
def test_well_formed_acknowledgement_messages_are_accepted(message: dict[str, Any]) -> None:
    assert message_problem(message) is None


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({**EMIT, "timeout": 0}, "ack_emit with a malformed timeout"),
        ({**EMIT, "timeout": 3601}, "ack_emit with a malformed timeout"),
        ({**EMIT, "timeout": True}, "ack_emit with a malformed timeout"),
        ({**EMIT, "callback": ["s", "/", 1]}, "ack_emit with a malformed callback"),
        ({k: v for k, v in EMIT.items() if k != "request"}, "ack_emit without request"),
        ({**COUNT, "sids": ["s1", 2]}, "ack_count with a malformed sids"),
        ({**COUNT, "sid_room": "yes"}, "ack_count with a malformed sid_room"),
        ({**ANSWER, "sid": 1}, "ack_answer with a malformed sid"),
        ({k: v for k, v in ANSWER.items() if k != "host_id"}, "ack_answer without host_id"),
    ],
)
def test_malformed_acknowledgement_messages_are_dropped_with_a_reason(
    message: dict[str, Any], problem: str
) -> None:
    assert message_problem(message) == problem
