"""Acknowledgements with a timeout, answered (or not) by the official JavaScript client in node.

One node script opens several sockets of npm's ``socket.io-client``: one
answers ``question``, one receives it and never calls the acknowledgement
function, one disconnects when it receives it; a controlling socket asks
the server to emit, and prints what the server got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_sockevents import BroadcastAcks, join_room
from tests.integration._node import run_node_client
from tests.integration._support import AppFactory, Serve

from ._support import assert_released

NODE_SCRIPT = """
const { io } = require("socket.io-client");
const url = process.argv[2];
const open = () => new Promise((resolve) => {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  socket.on("connect", () => resolve(socket));
});
(async () => {
  const answering = await open();
  answering.on("question", (n, ack) => ack(n * 2, "twice"));
  const silent = await open();
  silent.on("question", (n, ack) => {});
  const leaving = await open();
  leaving.on("question", () => leaving.disconnect());
  for (const socket of [answering, silent, leaving]) {
    await socket.emitWithAck("join", "lobby");
  }
  const controller = await open();
  const report = {
    answering: answering.id, silent: silent.id, leaving: leaving.id,
    one: await controller.emitWithAck("ask_one", answering.id),
    room: await controller.emitWithAck("ask_room", "lobby", 1),
  };
  for (const socket of [answering, silent, controller]) socket.disconnect();
  console.log(JSON.stringify(report));
})();
"""


def test_the_javascript_client_answers_a_timed_emit_and_its_silence_and_leaving_are_reported(
    make_app: AppFactory, serve: Serve, tmp_path: Path
) -> None:
    app, sockevents = make_app()

    @sockevents.on("join")
    def join(room: str) -> bool:
        join_room(room)
        return True

    @sockevents.on("ask_one")
    def ask_one(sid: str) -> list[Any]:
        return list(sockevents.emit_with_ack("question", 21, to=sid, timeout=5).get())

    @sockevents.on("ask_room")
    def ask_room(room: str, timeout: float) -> dict[str, Any]:
        acks: BroadcastAcks = sockevents.emit_with_ack(
            "question", 1, to=room, timeout=timeout
        ).get()
        return {"answers": acks, "missing": sorted(acks.missing)}

    server = serve(app)

    report = run_node_client(NODE_SCRIPT, server.url, tmp_path)

    assert report["one"] == [42, "twice"]
    assert report["room"] == {
        "answers": {report["answering"]: [2, "twice"]},
        "missing": sorted([report["silent"], report["leaving"]]),
    }
    assert_released(sockevents.server)
