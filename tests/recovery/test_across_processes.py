"""Connection state recovery across processes: two servers on one real Redis.

Each test starts two processes (``python -m flask_sockevents``, the cluster
tests' :class:`~tests.cluster._support.Cluster`) serving
:mod:`._cluster_app` with ``message_queue="redis://..."``: A and B. The
official JavaScript client (npm ``socket.io-client`` in Node) connects to
A, joins room ``r`` and receives one event (so it holds an offset); then its
transport is lost, either broken under it (its TCP socket destroyed without
a close frame) or by ``kill -9`` of A. While it is away the gap's events are
emitted (``GET /gap/<sid>``, see :mod:`._app`) on A and on B; then the
client comes back through B (``socket.io.uri`` pointed at B, as a load
balancer would send it elsewhere).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from integration._node import run_node_client
from selenium.webdriver.remote.webdriver import WebDriver

from flask_sockevents import SockEvents
from flask_sockevents.recovery import recovery_options, redis_recovery_store
from tests.cluster._support import Cluster
from tests.production._support import TIMEOUT, Process, redis_server, wait_for

from . import test_browser
from ._app import MISSED, RawClient
from .test_browser import PAGE_TIMEOUT, _barrier, _report

APP = str(Path(__file__).with_name("_cluster_app.py")) + ":app"
#: The browser tests' fixture: a headless Chromium session for one test.
browser = test_browser.browser

#: Connects to A, joins ``r``, receives ``first``; LOSE loses the transport.
#: On the loss, for each [url, marker] of GAPS: the gap's events emitted
#: there, then ``marker`` to ``r`` (so the order across processes shows);
#: waits WAIT ms and comes back through B. There it joins ``barrier`` (its
#: rooms answered), has LATER emit ``after`` to ``r`` then ``end`` to
#: ``barrier``, and reports once ``end`` arrived: ``after`` came before it
#: if it came at all, since both went through the same queue in order.
SCRIPT = """
const { io } = require("socket.io-client");
const a = process.argv[2];
const b = "URL_B";
const later = "LATER";
const report = { news: [] };
const socket = io(a, { transports: TRANSPORTS, reconnection: false });
const done = () => { console.log(JSON.stringify(report)); process.exit(0); };
setTimeout(() => { report.timedOut = true; done(); }, 15000);
const get = async (url) => (await fetch(url)).text();
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
    report.gaps = [];
    for (const [url, marker] of GAPS) {
      report.gaps.push(await get(`${url}/gap/${report.firstSid}`));
      await get(`${url}/emit/r/${marker}`);
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT));
    socket.io.uri = b;
    socket.once("connect", async () => {
      report.secondSid = socket.id;
      report.recovered = socket.recovered;
      report.secondPort = Number(socket.io.engine.port);
      report.rooms = await socket.emitWithAck("join", "barrier");
      const end = new Promise((resolve) => socket.on("news", (t) => t === "end" && resolve()));
      await get(`${later}/emit/r/after`);
      await get(`${later}/emit/barrier/end`);
      await end;
      done();
    });
    socket.connect();
  });
  LOSE
});
"""
#: Destroys the client's TCP socket under its websocket, without a close frame.
BREAK = "socket.io.engine.transport.ws._socket.destroy();"
#: Has A write its tracked sessions to Redis, then ``kill -9`` A.
KILL_A = 'await get(`${a}/flush`); process.kill(A_PID, "SIGKILL");'
#: Stops A as a deployment does: SIGTERM, a graceful shutdown.
TERMINATE_A = 'process.kill(A_PID, "SIGTERM");'


def _script(**values: Any) -> str:
    script = SCRIPT
    values.setdefault("TRANSPORTS", '["websocket"]')
    for name, value in values.items():
        script = script.replace(name, str(value))
    return script


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("recovery_across_processes")) as url:
        yield url


StartCluster = Callable[..., Cluster]


@pytest.fixture
def start_cluster(redis_url: str, tmp_path: Path) -> Iterator[StartCluster]:
    """Starts processes A and B with ``connection_state_recovery=recovery`` on a channel
    of their own; stops them after the test."""
    clusters: list[Cluster] = []

    def start(recovery: Any = True) -> Cluster:
        env = {"SOCKEVENTS_TEST_RECOVERY": json.dumps(recovery)}
        channel = f"recovery-{uuid.uuid4().hex[:8]}"
        cluster = Cluster(redis_url, channel, tmp_path, size=2, env=env, app=APP)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def _run(script: str, a: Process, tmp_path: Path) -> Any:
    report = run_node_client(script, a.url, tmp_path)
    assert not report.get("timedOut"), report
    return report


@pytest.mark.parametrize(
    "transports",
    ['["websocket"]', '["polling", "websocket"]'],
    ids=["websocket", "upgraded-from-polling"],
)
def test_a_node_client_recovers_through_the_other_process_with_every_missed_event_once(
    start_cluster: StartCluster, tmp_path: Path, transports: str
) -> None:
    a, b = start_cluster().servers
    gaps = [[a.url, "marker-a"], [b.url, "marker-b"]]
    script = _script(
        URL_B=b.url, GAPS=json.dumps(gaps), WAIT=0, LATER=a.url, LOSE=BREAK, TRANSPORTS=transports
    )

    report = _run(script, a, tmp_path)

    assert report["firstRecovered"] is False
    assert report["reason"] == "transport close"
    assert report["gaps"] == ["sent", "sent"]
    assert report["secondPort"] == b.port
    assert report["recovered"] is True
    assert report["secondSid"] == report["firstSid"]
    # Missed on A, then on B, in the order emitted; ``after`` (to ``r``, from A)
    # reached it on B through Redis: it is back in its room.
    assert report["news"] == ["first", *MISSED, "marker-a", *MISSED, "marker-b", "after", "end"]
    assert sorted(report["rooms"]) == sorted(["r", "barrier", report["firstSid"]])


def test_a_node_client_coming_back_through_the_other_process_after_the_window_is_a_new_session(
    start_cluster: StartCluster, tmp_path: Path
) -> None:
    a, b = start_cluster({"max_disconnection_duration": 1}).servers
    gaps = [[a.url, "marker-a"], [b.url, "marker-b"]]
    script = _script(URL_B=b.url, GAPS=json.dumps(gaps), WAIT=1500, LATER=a.url, LOSE=BREAK)

    report = _run(script, a, tmp_path)

    assert report["recovered"] is False
    assert report["secondSid"] != report["firstSid"]
    assert report["news"] == ["first", "end"]  # nothing replayed; a new session is in no room
    assert sorted(report["rooms"]) == sorted(["barrier", report["secondSid"]])


@pytest.mark.parametrize(
    ("lose", "exit_status"),
    [(KILL_A, -9), (TERMINATE_A, 0)],
    ids=["killed-with-kill-9", "shut-down-gracefully"],
)
def test_a_node_client_of_a_process_that_stopped_recovers_through_another_one(
    start_cluster: StartCluster, tmp_path: Path, lose: str, exit_status: int
) -> None:
    cluster = start_cluster()
    a, b = cluster.servers
    script = _script(
        URL_B=b.url,
        GAPS=json.dumps([[b.url, "marker-b"]]),
        WAIT=0,
        LATER=b.url,
        LOSE=lose.replace("A_PID", str(a.pid)),
    )

    report = _run(script, a, tmp_path)

    assert a.popen.wait(TIMEOUT) == exit_status  # -9: killed, no graceful anything
    assert report["reason"] == "transport close"
    assert report["recovered"] is True
    assert report["secondSid"] == report["firstSid"]
    assert report["news"] == ["first", *MISSED, "marker-b", "after", "end"]
    assert sorted(report["rooms"]) == sorted(["r", "barrier", report["firstSid"]])


@pytest.mark.parametrize("namespace", ["/", "/chat"])
def test_what_a_process_without_an_app_emitted_during_the_gap_is_recovered_too(
    start_cluster: StartCluster, namespace: str
) -> None:
    cluster = start_cluster()
    a, b = cluster.servers
    client = RawClient(a.url, namespace)  # speaks recovery as the JavaScript client does
    first = client.connect()
    client.call("join", "r")
    client.send("hello")
    assert client.news(1) == ["first"]
    client.break_transport()
    gap = requests.get(f"{a.url}/gap/{client.sid}", {"namespace": namespace}, timeout=TIMEOUT)
    assert gap.text == "sent"
    emitter = SockEvents(
        message_queue=cluster.redis_url, channel=cluster.channel, connection_state_recovery=True
    )
    try:
        emitter.emit("news", "outside-room", to="r", namespace=namespace)
        emitter.emit("news", "outside-other-room", to="other", namespace=namespace)
        emitter.emit("news", "outside-all", namespace=namespace)
    finally:
        assert emitter.server is not None and emitter.server.recovery is not None
        emitter.server.recovery.store.close()  # type: ignore[attr-defined]
    client.url = b.url

    again = client.connect()
    try:
        assert (again["sid"], again["pid"]) == (first["sid"], first["pid"])  # recovered
        assert client.news(len(MISSED) + 2) == [*MISSED, "outside-room", "outside-all"]
        client.send("hello")  # nothing else came before B's answer to it
        assert client.news(1) == ["first"]
    finally:
        client.disconnect()


def test_a_session_recovered_through_a_process_then_killed_with_it_is_recovered_again(
    start_cluster: StartCluster,
) -> None:
    cluster = start_cluster()
    a, b = cluster.servers
    client = RawClient(a.url)
    first = client.connect()
    client.call("join", "r")
    client.call("remember", "ada")  # the managed session
    client.send("hello")
    assert client.news(1) == ["first"]
    client.break_transport()
    assert requests.get(f"{a.url}/gap/{client.sid}", timeout=TIMEOUT).text == "sent"
    client.url = b.url
    assert client.connect()["sid"] == first["sid"]
    assert client.news(len(MISSED)) == MISSED
    client.call("join", "s")  # a room joined on B
    assert requests.get(f"{b.url}/flush", timeout=TIMEOUT).text == "flushed"
    cluster.kill(b)
    for room in ("r", "s", "other"):
        requests.get(f"{a.url}/emit/{room}/to-{room}", timeout=TIMEOUT)
    client.url = a.url

    again = client.connect()
    try:
        assert (again["sid"], again["pid"]) == (first["sid"], first["pid"])
        assert client.news(2) == ["to-r", "to-s"]
        assert client.call("recall") == ["ada"]
        assert client.call("join", "t") == [sorted(["r", "s", "t", first["sid"]])]
    finally:
        client.disconnect()


def test_rooms_changed_from_another_process_are_what_a_killed_processs_client_recovers(
    start_cluster: StartCluster,
) -> None:
    cluster = start_cluster()
    a, b = cluster.servers
    client = RawClient(b.url)
    first = client.connect()
    sid = first["sid"]
    client.call("join", "r")
    assert requests.get(f"{a.url}/enter/{sid}/x", timeout=TIMEOUT).text == "entered"
    assert requests.get(f"{a.url}/close/r", timeout=TIMEOUT).text == "closed"
    # Through the queue after both changes: once it arrives, B applied them.
    requests.get(f"{a.url}/emit/x/in-x", timeout=TIMEOUT)
    assert client.news(1) == ["in-x"]
    assert requests.get(f"{b.url}/flush", timeout=TIMEOUT).text == "flushed"
    cluster.kill(b)
    for room in ("r", "x"):
        requests.get(f"{a.url}/emit/{room}/to-{room}", timeout=TIMEOUT)
    client.url = a.url

    again = client.connect()
    try:
        assert (again["sid"], again["pid"]) == (sid, first["pid"])
        assert client.news(1) == ["to-x"]
        assert client.call("join", "t") == [sorted(["x", "t", sid])]
    finally:
        client.disconnect()


def test_a_python_socketio_client_connects_normally_and_gets_each_offset_as_an_extra_argument(
    start_cluster: StartCluster,
) -> None:
    a, b = start_cluster().servers
    client = socketio.Client(reconnection=False)
    received: list[tuple[Any, ...]] = []
    client.on("news", lambda *args: received.append(args))
    client.connect(b.url, transports=["websocket"], wait_timeout=TIMEOUT)
    try:
        sid = client.get_sid("/")
        assert sorted(client.call("join", "r", timeout=TIMEOUT)) == sorted(["r", sid])
        for text in ("one", "two"):
            assert requests.get(f"{a.url}/emit/r/{text}", timeout=TIMEOUT).text == "sent"
        wait_for(lambda: len(received) == 2, message=f"received only {received}")
    finally:
        client.disconnect()

    assert [args[0] for args in received] == ["one", "two"]
    offsets = [args[1] for args in received]
    assert all(isinstance(offset, str) and offset for offset in offsets)
    assert len(set(offsets)) == 2


@pytest.mark.browser
def test_a_page_recovers_through_the_other_process_with_every_missed_event_once(
    start_cluster: StartCluster, browser: WebDriver
) -> None:
    a, b = start_cluster().servers
    browser.set_script_timeout(PAGE_TIMEOUT)
    browser.get(f"{a.url}/page")  # the page connects to A, joins ``r``, receives ``first``
    sid = _report(browser, "report.news.length === 1")["firstSid"]
    assert requests.get(f"{a.url}/break/{sid}", timeout=TIMEOUT).text == "broken"
    _report(browser, "report.state === 'lost'")
    for server, marker in ((a, "marker-a"), (b, "marker-b")):
        assert requests.get(f"{server.url}/gap/{sid}", timeout=TIMEOUT).text == "sent"
        requests.get(f"{server.url}/emit/r/{marker}", timeout=TIMEOUT)
    browser.execute_script("window.sock.io.uri = arguments[0]; window.sock.connect();", b.url)
    _report(browser, "report.secondSid !== undefined")
    assert browser.execute_script("return Number(window.sock.io.engine.port);") == b.port
    rooms = _barrier(browser)
    requests.get(f"{a.url}/emit/r/after", timeout=TIMEOUT)
    requests.get(f"{a.url}/emit/barrier/end", timeout=TIMEOUT)
    report = _report(browser, "report.news.includes('end')")

    assert report["reason"] == "transport close"
    assert report["recovered"] is True
    assert report["secondSid"] == report["firstSid"]
    assert report["news"] == ["first", *MISSED, "marker-a", *MISSED, "marker-b", "after", "end"]
    assert sorted(rooms) == sorted(["r", "barrier", sid])


def test_a_window_shorter_than_the_stores_liveness_timeout_works_with_a_redis_queue(
    redis_url: str,
) -> None:
    options = recovery_options({"max_disconnection_duration": 1})
    assert options is not None
    store = redis_recovery_store(redis_url, options, channel=f"short-{uuid.uuid4().hex[:8]}")
    try:
        assert 0 < store.heartbeat_interval < store.liveness_timeout < 1  # type: ignore[attr-defined]
    finally:
        store.close()  # type: ignore[attr-defined]
