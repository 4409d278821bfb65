"""Connection state recovery on a live server, driven by a raw client that speaks it.

The client (:class:`~._app.RawClient`) does what the JavaScript client does
(see ``test_node_client.py`` and ``test_browser.py`` for the real thing): it
keeps the ``pid`` of its CONNECT answer and the offset of its last event, and
sends both when it comes back. Its transport is broken by shutting its TCP
socket down, without a close frame.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from flask_sockevents import Event, EventKind, Reject
from flask_sockevents.recovery import MemoryRecoveryStore
from flask_sockevents.recovery_store import SessionState
from flask_sockevents.testing import wait_for
from tests.conftest import Serve

from ._app import MISSED, RawClient, make_app


def _connected_in_room(url: str, namespace: str = "/") -> RawClient:
    """A client connected to ``namespace``, in room ``r``, that has received one event."""
    client = RawClient(url, namespace)
    client.connect()
    assert client.call("join", "r") == [sorted(["r", client.sid])]
    client.send("hello")
    assert client.news(1) == ["first"]
    return client


def _lose_and_emit(url: str, client: RawClient) -> None:
    """Break the client's transport, then emit the gap's events while it is away."""
    sid = client.sid
    client.break_transport()
    gap = requests.get(f"{url}/gap/{sid}", params={"namespace": client.namespace}, timeout=10)
    assert gap.text == "sent"


def test_connect_answer_carries_a_private_session_id(serve: Serve) -> None:
    app, _ = make_app()
    client = RawClient(serve(app).url)
    answer = client.connect()
    assert set(answer) == {"sid", "pid"}
    assert len(answer["pid"]) >= 20 and answer["pid"] != answer["sid"]


def test_events_without_ack_carry_an_offset_as_last_argument(serve: Serve) -> None:
    app, _ = make_app()
    client = _connected_in_room(serve(app).url)
    assert client.offset is not None
    client.disconnect()


def test_a_lost_client_gets_its_sid_and_every_missed_event_once_in_order(serve: Serve) -> None:
    app, _ = make_app()
    url = serve(app).url
    client = _connected_in_room(url)
    sid, pid = client.sid, client.pid
    _lose_and_emit(url, client)
    answer = client.connect()
    assert answer == {"sid": sid, "pid": pid}
    assert client.news(len(MISSED)) == MISSED
    requests.get(f"{url}/emit/r/after", timeout=10)
    assert client.news(1) == ["after"]  # nothing else came between: each missed event once
    client.disconnect()


def test_a_client_recovers_in_another_namespace_than_the_main_one(serve: Serve) -> None:
    app, _ = make_app(namespaces="*")
    url = serve(app).url
    main = _connected_in_room(url)
    chat = _connected_in_room(url, "/chat")
    sid = chat.sid
    _lose_and_emit(url, chat)
    assert chat.connect()["sid"] == sid
    assert chat.news(len(MISSED)) == MISSED
    requests.get(f"{url}/emit/r/after", params={"namespace": "/chat"}, timeout=10)
    assert chat.news(1) == ["after"]
    requests.get(f"{url}/emit/r/main", timeout=10)
    assert main.news(1) == ["main"]  # "/" was not disturbed: its room still reaches it
    chat.disconnect()
    main.disconnect()


def test_a_recovered_client_is_back_in_its_rooms(serve: Serve) -> None:
    app, sockevents = make_app()
    url = serve(app).url
    client = _connected_in_room(url)
    _lose_and_emit(url, client)
    client.connect()
    client.news(len(MISSED))
    assert sorted(sockevents.rooms(client.sid, "/")) == sorted(["r", client.sid])  # type: ignore[arg-type]
    requests.get(f"{url}/emit/r/to-the-room", timeout=10)
    assert client.news(1) == ["to-the-room"]
    client.disconnect()


def test_a_recovered_client_gets_its_managed_session_back(serve: Serve) -> None:
    app, _ = make_app()
    url = serve(app).url
    client = _connected_in_room(url)
    assert client.call("remember", "kept") == []
    _lose_and_emit(url, client)
    client.connect()
    client.news(len(MISSED))
    assert client.call("recall") == ["kept"]
    client.disconnect()


def test_the_bus_sees_one_disconnect_then_one_recovered_connect(serve: Serve) -> None:
    app, sockevents = make_app()
    seen: list[Event] = []
    sockevents.listen("*", namespace="*")(seen.append)
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)
    client.connect()
    client.news(len(MISSED))
    lifecycle = wait_for(
        lambda: [
            (e.kind, e.recovered, e.args[0] if e.is_disconnect else None)
            for e in list(seen)
            if e.sid == sid and e.kind is not EventKind.EVENT
        ][1:]
    )
    assert lifecycle == [
        (EventKind.DISCONNECT, False, "transport close"),
        (EventKind.CONNECT, True, None),
    ]
    client.disconnect()


def test_the_connect_handler_runs_on_recovery_and_sees_request_recovered(serve: Serve) -> None:
    app, sockevents = make_app()
    seen: list[Any] = []

    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        from flask import request

        seen.append(request.recovered)  # type: ignore[attr-defined]

    url = serve(app).url
    client = _connected_in_room(url)
    _lose_and_emit(url, client)
    client.connect()
    client.news(len(MISSED))
    assert seen == [False, True]
    client.disconnect()


@pytest.mark.parametrize("skip_guards", [True, False], ids=["skipped", "not-skipped"])
def test_guards_of_a_recovered_connect_run_unless_skip_guards(
    serve: Serve, skip_guards: bool
) -> None:
    app, sockevents = make_app({"skip_guards": skip_guards})
    guarded: list[bool] = []

    @sockevents.guard("connect")
    def only_fresh_connects(event: Event) -> None:
        guarded.append(event.recovered)
        if event.recovered:
            raise Reject("no recovery here")

    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)
    if skip_guards:
        assert client.connect()["sid"] == sid
        assert guarded == [False]
    else:
        with pytest.raises(AssertionError, match="no recovery here"):
            client.connect()
        assert guarded == [False, True]


def test_a_graceful_shutdown_keeps_the_sessions_and_sends_no_disconnect(serve: Serve) -> None:
    app, sockevents = make_app()
    seen: list[Event] = []
    sockevents.listen("disconnect")(seen.append)
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    assert requests.get(f"{url}/shutdown", timeout=10).text == "finished"
    assert "41" not in client.until_closed()  # closed, not told to stay away
    assert [e.args[0] for e in seen if e.sid == sid] == ["server disconnect"]
    assert client.connect()["sid"] == sid  # the next process would restore it so
    client.disconnect()


def test_a_client_that_left_on_purpose_is_not_recovered(serve: Serve) -> None:
    app, _ = make_app()
    url = serve(app).url
    client = _connected_in_room(url)
    sid, pid = client.sid, client.pid
    client.disconnect()
    answer = client.connect()  # sends its old pid and offset
    assert answer["sid"] != sid and answer["pid"] != pid
    client.disconnect()


def test_an_unknown_offset_is_a_new_session(serve: Serve) -> None:
    app, _ = make_app()
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)
    pid = client.pid
    client.offset = "ff-0"
    answer = client.connect()
    assert answer["sid"] != sid and answer["pid"] != pid
    client.disconnect()


def test_after_the_window_the_client_is_a_new_session(serve: Serve) -> None:
    now = [1_000_000.0]
    store = MemoryRecoveryStore(max_disconnection_duration=1, clock=lambda: now[0])
    app, _ = make_app({"store": store})
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)
    now[0] = 2e10  # far past every session's window
    answer = client.connect()
    assert answer["sid"] != sid
    assert store.session_count() == 0
    client.disconnect()


def test_a_client_whose_offset_left_the_log_is_a_new_session(serve: Serve) -> None:
    app, _ = make_app({"max_packets": 3})
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)  # six packets logged: the client's offset left the log
    answer = client.connect()
    assert answer["sid"] != sid
    client.disconnect()


def test_a_client_without_recovery_gets_the_offset_as_an_extra_argument(serve: Serve) -> None:
    import socketio

    app, _ = make_app()
    url = serve(app).url
    received: list[tuple[Any, ...]] = []
    client = socketio.Client(reconnection=False)
    client.on("news", lambda *args: received.append(args))
    client.connect(url, transports=["websocket"], wait_timeout=5)
    try:
        assert "r" in client.call("join", "r", timeout=5)
        client.emit("hello")
        wait_for(lambda: received)
        text, offset = received[0]
        assert text == "first" and isinstance(offset, str)
    finally:
        client.disconnect()


def test_recovery_off_sends_no_pid_and_no_offset(serve: Serve) -> None:
    app, _ = make_app(recovery=False)
    client = RawClient(serve(app).url)
    assert set(client.connect()) == {"sid"}
    assert client.call("join", "r")
    client.send("hello")
    assert client.event() == ["news", "first"]
    client.disconnect()


class _LoggedBeforeRestoreSentAfter(MemoryRecoveryStore):
    """A store whose log of a ``slow`` packet returns only once ``back()`` is true.

    So the packet is logged before a returning client's restore reads the log
    (it is among the packets replayed) and sent to the client's room after
    the client is back in it: what a store that yields while logging, or a
    message queue carrying an emit from another process, can do.
    """

    def __init__(self) -> None:
        super().__init__()
        self.back: Any = None
        self.waiting = False

    def log(self, namespace: str, rooms: Any, except_rooms: Any, data: list[Any]) -> str:
        offset = super().log(namespace, rooms, except_rooms, data)
        if data[1:2] == ["slow"]:
            import gevent

            self.waiting = True
            with gevent.Timeout(5):
                while not self.back():
                    gevent.sleep(0.005)
        return offset


def test_a_missed_packet_sent_again_after_the_recovery_arrives_once(serve: Serve) -> None:
    store = _LoggedBeforeRestoreSentAfter()
    app, sockevents = make_app({"store": store})
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    store.back = lambda: sockevents.server.manager.is_connected(sid, "/")  # type: ignore[union-attr]
    _lose_and_emit(url, client)
    import threading

    slow = threading.Thread(target=requests.get, args=(f"{url}/emit/r/slow",), daemon=True)
    slow.start()
    wait_for(lambda: store.waiting)
    assert client.connect()["sid"] == sid
    slow.join(10)
    requests.get(f"{url}/emit/r/after", timeout=10)
    assert client.news(len(MISSED) + 2) == [*MISSED, "slow", "after"]
    client.disconnect()


def test_what_a_recovered_connect_handler_emits_comes_after_the_missed_packets(
    serve: Serve,
) -> None:
    app, sockevents = make_app()

    @sockevents.on("connect")
    def connect(auth: Any) -> None:
        from flask import request

        if request.recovered:  # type: ignore[attr-defined]
            sockevents.emit("news", "welcome back", to=request.sid)  # type: ignore[attr-defined]

    url = serve(app).url
    client = _connected_in_room(url)
    _lose_and_emit(url, client)
    client.connect()
    assert client.news(len(MISSED) + 1) == [*MISSED, "welcome back"]
    client.disconnect()


def test_recovery_works_with_always_connect(serve: Serve) -> None:
    app, _ = make_app(always_connect=True)
    url = serve(app).url
    client = _connected_in_room(url)
    sid = client.sid
    _lose_and_emit(url, client)
    assert client.connect()["sid"] == sid
    assert client.news(len(MISSED)) == MISSED
    client.disconnect()


class _RecordingStore(MemoryRecoveryStore):
    """A store that keeps connected sessions too (as one shared by processes does)."""

    tracks_connected_sessions = True

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def track(self, session: SessionState) -> None:
        self.calls.append(("track", sorted(session.rooms), session.saved_session))

    def keep(self, session: SessionState) -> None:
        self.calls.append(("keep", sorted(session.rooms), session.saved_session))
        super().keep(session)

    def forget(self, pid: str) -> None:
        self.calls.append(("forget", pid))
        super().forget(pid)


def test_a_tracking_store_is_told_of_connects_changes_losses_and_departures(
    serve: Serve,
) -> None:
    store = _RecordingStore()
    app, _ = make_app({"store": store})
    url = serve(app).url
    client = _connected_in_room(url)
    sid, pid = client.sid, client.pid
    client.call("remember", "this")
    client.call("recall")  # no change: not told
    client.break_transport()
    wait_for(lambda: any(call[0] == "keep" for call in store.calls))
    client.connect()
    client.disconnect()
    wait_for(lambda: any(call[0] == "forget" for call in store.calls))
    rooms = sorted([sid, "r"])
    remembered = {"remembered": "this"}
    assert store.calls == [
        ("track", [sid], {}),
        ("track", rooms, {}),
        ("track", rooms, remembered),
        ("keep", rooms, remembered),
        ("track", rooms, remembered),  # recovered
        ("forget", pid),
    ]


def test_a_client_lost_to_a_ping_timeout_recovers(serve: Serve) -> None:
    app, sockevents = make_app(ping_interval=0.2, ping_timeout=0.2)
    reasons: list[str] = []
    sockevents.listen("disconnect")(lambda event: reasons.append(event.args[0]))
    url = serve(app).url
    client = _connected_in_room(url)
    sid, pid = client.sid, client.pid
    silent = client.ws  # stops answering pings: the server gives up on it
    wait_for(lambda: reasons)
    assert reasons == ["ping timeout"]
    assert client.connect() == {"sid": sid, "pid": pid}
    client.disconnect()
    silent.close()  # type: ignore[union-attr]
