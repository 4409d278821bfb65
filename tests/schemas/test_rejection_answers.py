"""The acknowledgement a rejected event's client gets, which carries a schema's errors."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_sockevents import Event, Reject, SockEvents


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (None, {"error": "rejected", "reason": "busy"}),
        ({"retry_after": 5}, {"error": "rejected", "reason": "busy", "retry_after": 5}),
        ({"error": "overloaded"}, {"error": "overloaded", "reason": "busy"}),
        ([1, 2], {"error": "rejected", "reason": "busy", "data": [1, 2]}),
    ],
    ids=["no-data", "dict-merged", "dict-keys-win", "other-data"],
)
def test_a_rejects_data_shapes_the_acknowledgement(data: Any, answer: dict[str, Any]) -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)

    @sockevents.guard("work")
    def busy(event: Event) -> None:
        raise Reject("busy", data)

    sockevents.on("work")(lambda: "done")
    client = sockevents.test_client(app)
    assert client.emit("work", callback=True) == answer


def test_a_rejection_decided_before_the_bus_gets_the_plain_answer() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    seen: list[Event] = []
    sockevents.listen("*")(seen.append)
    client = sockevents.test_client(app)
    assert client.emit("error", callback=True) == {
        "error": "rejected",
        "reason": "reserved event name 'error'",
    }
    assert seen[-1].ack == {"error": "rejected", "reason": "reserved event name 'error'"}
