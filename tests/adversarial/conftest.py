"""The arena: a live gevent server, a probe client connected before the attack, raw attackers.

Each test builds an :class:`Arena` with ``arena(**options)``: a Flask app with
SockEvents (``max_message_size`` 64 KiB unless told otherwise, so oversized
cases stay cheap), an ``echo`` handler, a catch-all handler that records what
it handled, a listener that logs every finished event, served by
:class:`~flask_sockevents.testing.LiveServer` on 127.0.0.1. The probe, a
python-socketio client over websocket, is connected before the test attacks;
:meth:`Arena.probe` asserts it is still answered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
from flask import Flask

from flask_sockevents import Event, EventKind, Outcome, SockEvents
from flask_sockevents.server import Server
from flask_sockevents.testing import LiveServer

from ._raw import TIMEOUT, RawWebSocket
from ._wait import wait_for

#: ``setup(sockevents)``: registers what a test needs before the server starts.
Setup = Callable[[SockEvents], None]

SMALL_MESSAGE_SIZE = 64 * 1024


class Arena:
    """A served app, its probe client and the raw attackers a test opened."""

    def __init__(self, app: Flask, sockevents: SockEvents, live: LiveServer) -> None:
        self.app = app
        self.sockevents = sockevents
        self.live = live
        self.events: list[Event] = []  # every finished event, in the order the listener saw it
        self.recording = True  # False: :attr:`events` stays as it is (for memory measurements)
        self.handled: list[tuple[Any, ...]] = []  # (name, *args) of what the catch-all handled
        self.raws: list[RawWebSocket] = []
        self.probe_client = socketio.Client(reconnection=False)
        self._probes = 0

    @property
    def server(self) -> Server:
        """The python-socketio server under attack."""
        assert self.sockevents.server is not None
        return self.sockevents.server

    @property
    def port(self) -> int:
        """The server's port on 127.0.0.1."""
        return self.live.port

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.live.url

    def record(self, event: Event) -> None:
        """The listener of every event: keep it in :attr:`events` while :attr:`recording`."""
        if self.recording:
            self.events.append(event)

    def raw(self, **options: Any) -> RawWebSocket:
        """A raw websocket attacker (see :class:`RawWebSocket`), closed at the end of the test."""
        ws = RawWebSocket(self.port, **options)
        self.raws.append(ws)
        return ws

    def probe(self) -> None:
        """Assert that the probe client still gets its answer from the server."""
        self._probes += 1
        value = f"probe-{self._probes}"
        assert self.probe_client.call("echo", value, timeout=1) == value

    def probe_while(
        self,
        attack: Callable[[], Any],
        timeout: float = 30.0,
        on_probe: Callable[[], None] | None = None,
    ) -> Any:
        """Run ``attack`` in a thread, probing the server until it ends; return its result.

        :param on_probe: called after each probe answered while the attack runs.
        :return: what ``attack`` returned (or raises what it raised).
        :raises AssertionError: if the attack is still running after ``timeout`` seconds.
        :raises socketio.exceptions.TimeoutError: if a probe goes unanswered for 1 s.
        """
        result: list[Any] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                result.append(attack())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, name="attack", daemon=True)
        thread.start()

        def probe() -> bool:
            self.probe()
            if on_probe is not None:
                on_probe()
            return not thread.is_alive()

        wait_for(
            probe,
            timeout=timeout,
            message=f"the attack still runs after {timeout} s",
        )
        if errors:
            raise errors[0]
        return result[0]

    def of(self, kind: EventKind, sid: str | None = None) -> list[Event]:
        """The finished events of ``kind`` (of client ``sid`` only, if given)."""
        return [e for e in list(self.events) if e.kind is kind and (sid is None or e.sid == sid)]

    def rejected(self, name: str) -> list[Event]:
        """The client events called ``name`` that were rejected."""
        return [
            e for e in self.of(EventKind.EVENT) if e.name == name and e.outcome is Outcome.REJECTED
        ]

    def disconnected(self, sid: str) -> list[Event]:
        """Wait for the disconnect of client ``sid`` on the bus; return its disconnects."""
        return list(wait_for(lambda: self.of(EventKind.DISCONNECT, sid)))

    def connections(self) -> int:
        """Engine.IO connections the server still keeps."""
        return self.server.connection_stats()["connections"]

    def settled_counts(self) -> dict[str, int]:
        """The bus counts once every queue is drained and every count balances.

        :raises AssertionError: if ``received`` never equals the sum of the outcomes.
        """
        counts = self.sockevents.bus.counts

        def balanced() -> bool:
            outcomes = sum(counts[o.value] for o in Outcome)
            return self.server.connection_stats()["queued"] == 0 and counts["received"] == outcomes

        wait_for(balanced, message=f"bus counts never balanced: {dict(counts)}")
        return dict(counts)

    def close(self) -> None:
        """Close every raw attacker and the probe."""
        for ws in self.raws:
            ws.close()
        self.probe_client.shutdown()


@pytest.fixture
def arena() -> Iterator[Callable[..., Arena]]:
    """``arena(setup=None, probe=None, **options)``: build, serve and probe an app.

    :param setup: registers what the test needs before the server starts.
    :param probe: options for the probe's ``connect`` (``auth``, ``transports``...).
    :param options: SockEvents options.
    Everything is stopped at the end of the test.
    """
    made: list[Arena] = []

    def build(
        setup: Setup | None = None, probe: dict[str, Any] | None = None, **options: Any
    ) -> Arena:
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "adversarial"
        options.setdefault("max_message_size", SMALL_MESSAGE_SIZE)
        sockevents = SockEvents(app, **options)
        live = LiveServer(app)
        built = Arena(app, sockevents, live)

        @sockevents.on("echo")
        def echo(value: Any) -> Any:
            return value

        @sockevents.on("*")
        def anything(name: str, *args: Any) -> Any:
            built.handled.append((name, *args))
            return list(args)

        sockevents.listen("*", namespace="*")(built.record)
        if setup is not None:
            setup(sockevents)
        live.start()
        made.append(built)
        probe_options = {"transports": ["websocket"], "wait_timeout": TIMEOUT, **(probe or {})}
        built.probe_client.connect(live.url, **probe_options)
        return built

    yield build
    for built in reversed(made):
        built.close()
        built.live.stop()
