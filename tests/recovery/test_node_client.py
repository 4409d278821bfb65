"""Connection state recovery with the official JavaScript client (npm socket.io-client) in Node.

Each script connects, joins room ``r`` and receives one event (so the client
holds an offset), then destroys its TCP socket under the websocket without a
close frame (``socket.io.engine.transport.ws._socket.destroy()``). While it is
away the server emits to its room, to everyone, to its sid and elsewhere
(``GET /gap/<sid>``, see :mod:`._app`); then the client reconnects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from integration._node import run_node_client

from tests.conftest import Serve

from ._app import MISSED, make_app

#: Connects, receives ``first``, breaks its transport, has the gap's events
#: emitted, waits ``WAIT`` ms, reconnects, asks for ``after`` to room ``r``,
#: and reports once an acknowledgement shows that everything sent before it
#: has arrived.
SCRIPT = """
const { io } = require("socket.io-client");
const url = process.argv[2];
const report = { news: [] };
const socket = io(url, { transports: TRANSPORTS, reconnection: false });
const done = () => { console.log(JSON.stringify(report)); process.exit(0); };
setTimeout(() => { report.timedOut = true; done(); }, 15000);
socket.on("news", (...args) => report.news.push(args[0]));
socket.once("connect", async () => {
  if (socket.io.engine.transport.name !== "websocket") {  // long-polling first: upgrade
    await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
  }
  report.firstSid = socket.id;
  report.firstRecovered = socket.recovered;
  await socket.emitWithAck("join", "r");
  socket.emit("hello");
  await new Promise((resolve) => socket.once("news", resolve));
  socket.once("disconnect", async (reason) => {
    report.reason = reason;
    await (await fetch(`${url}/gap/${report.firstSid}`)).text();
    await new Promise((resolve) => setTimeout(resolve, WAIT));
    socket.once("connect", async () => {
      report.secondSid = socket.id;
      report.recovered = socket.recovered;
      await (await fetch(`${url}/emit/r/after`)).text();
      // Acknowledged over the same websocket, so after ``after`` if it was sent.
      report.rooms = await socket.emitWithAck("join", "barrier");
      done();
    });
    socket.connect();
  });
  socket.io.engine.transport.ws._socket.destroy();
});
"""


def _script(wait_ms: int, transports: str = '["websocket"]') -> str:
    return SCRIPT.replace("WAIT", str(wait_ms)).replace("TRANSPORTS", transports)


@pytest.mark.parametrize(
    "transports",
    ['["websocket"]', '["polling", "websocket"]'],
    ids=["websocket", "upgraded-from-polling"],
)
def test_a_node_client_recovers_its_sid_rooms_and_every_missed_event_once_in_order(
    serve: Serve, tmp_path: Path, transports: str
) -> None:
    app, _ = make_app()
    report = run_node_client(_script(0, transports), serve(app).url, tmp_path)
    assert not report.get("timedOut"), report
    assert report["firstRecovered"] is False
    assert report["reason"] == "transport close"
    assert report["recovered"] is True
    assert report["secondSid"] == report["firstSid"]
    # ``after`` went to room ``r`` after the reconnect: the client is back in it.
    assert report["news"] == ["first", *MISSED, "after"]
    assert sorted(report["rooms"]) == sorted(["r", "barrier", report["firstSid"]])


def test_a_node_client_coming_back_after_the_window_is_a_new_session(
    serve: Serve, tmp_path: Path
) -> None:
    app, _ = make_app({"max_disconnection_duration": 1})
    report = run_node_client(_script(1500), serve(app).url, tmp_path)
    assert report["recovered"] is False
    assert report["secondSid"] != report["firstSid"]
    assert report["news"] == ["first"]  # nothing missed replayed; a new session is in no room
    assert sorted(report["rooms"]) == sorted(["barrier", report["secondSid"]])
