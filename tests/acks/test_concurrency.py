"""Many emits waiting for acknowledgements at once: none blocks the server.

A handler starts 200 greenlets, each emitting ``question`` with
``emit_with_ack`` to a room of three answering clients and a silent one, and
waiting for its result; meanwhile a probe client's ``echo`` is answered
within 1 s, every time.
"""

from __future__ import annotations

from typing import Any

import gevent

from flask_sockevents import join_room
from tests.integration._support import AppFactory, Clients, Serve, wait_for

from ._support import TIMEOUT, SilentClient, assert_released

GREENLETS = 200


def test_200_greenlets_waiting_for_a_rooms_answers_do_not_keep_the_probe_waiting(
    make_app: AppFactory, serve: Serve, clients: Clients, silent: list[SilentClient]
) -> None:
    app, sockevents = make_app()
    summaries: list[dict[str, Any]] = []

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    sockevents.on("echo")(lambda value: value)

    def ask(number: int) -> Any:
        return sockevents.emit_with_ack("question", number, to="lobby", timeout=2).get()

    def flood() -> None:
        asking = [gevent.spawn(ask, number) for number in range(GREENLETS)]
        gevent.joinall(asking, raise_error=True)
        summaries.append({
            "answers": [sorted(greenlet.value.values()) for greenlet in asking],
            "missing": {tuple(greenlet.value.missing) for greenlet in asking},
        })  # fmt: skip

    @sockevents.on("flood")
    def start_flood() -> bool:
        sockevents.start_background_task(flood)
        return True

    server = serve(app)
    for factor in (1, 2, 3):
        client = clients.new()
        client.on("question", lambda number, factor=factor: number * factor)
        clients.connect(server.url, client=client)
        assert client.call("join", "lobby", timeout=TIMEOUT) is True
    quiet = SilentClient(server.url)
    silent.append(quiet)
    assert quiet.client.call("join", "lobby", timeout=TIMEOUT) is True
    probe = clients.connect(server.url)

    probe.call("flood", timeout=TIMEOUT)
    probes = 0

    def probe_answered_within_1_s() -> bool:
        nonlocal probes
        probes += 1
        assert probe.call("echo", probes, timeout=1) == probes
        return bool(summaries)

    wait_for(probe_answered_within_1_s, timeout=30, message="the greenlets did not finish")

    assert summaries[0]["answers"] == [[n, 2 * n, 3 * n] for n in range(GREENLETS)]
    assert summaries[0]["missing"] == {(quiet.sid,)}
    assert probes > 1  # the probe was answered while the greenlets waited
    assert_released(sockevents.server)
