"""The server under test: flask_sockevents, with the listeners and guard a real app has.

Beside the ``echo`` and ``broadcast`` handlers, two listeners and one guard are
subscribed to every event of every namespace (``"*"``), as audit, metrics and
authorization would be. They do a little real work (counting), so each event
pays for the whole trip along the bus.

Environment: ``BENCH_MESSAGE_QUEUE`` (a ``redis://`` URL) serves with that
message queue; ``BENCH_CONNECTION_STATE_RECOVERY=1`` turns connection state
recovery on (``servers/sockevents_recovery_server.py``).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

from _serve import serve  # noqa: E402
from flask import Flask  # noqa: E402

from flask_sockevents import Event, SockEvents, emit, join_room  # noqa: E402
from flask_sockevents.serving import freeze_startup_heap  # noqa: E402
from flask_sockevents.websocket import handler_class  # noqa: E402

options: dict[str, Any] = {}
if os.environ.get("BENCH_MESSAGE_QUEUE"):
    options["message_queue"] = os.environ["BENCH_MESSAGE_QUEUE"]
if os.environ.get("BENCH_CONNECTION_STATE_RECOVERY"):
    options["connection_state_recovery"] = True

app = Flask(__name__)
# Every benchmark client connects from 127.0.0.1: lift the per-address cap.
sockevents = SockEvents(
    app, logger=False, engineio_logger=False, max_connections_per_address=None, **options
)

events_by_name: Counter[str] = Counter()
outcomes: Counter[str] = Counter()
admitted = 0


@sockevents.on("connect")
def connect(auth: object = None) -> None:
    """Put every client in the room ``all``."""
    join_room("all")


@sockevents.on("echo")
def echo(data: object) -> object:
    """Acknowledge with the argument."""
    return data


@sockevents.on("broadcast")
def broadcast(data: object) -> None:
    """Send ``msg`` to every client."""
    emit("msg", data, to="all")


@sockevents.listen("*", namespace="*")
def count_events(event: Event) -> None:
    """Count events by name, as a metrics listener would."""
    events_by_name[event.name] += 1


@sockevents.listen("*", namespace="*")
def count_outcomes(event: Event) -> None:
    """Count events by outcome, as an audit listener would."""
    outcomes[str(event.outcome)] += 1


@sockevents.guard("*", namespace="*")
def admit(event: Event) -> bool:
    """Admit every event, after looking at it as an authorization guard would."""
    global admitted
    admitted += 1
    return event.namespace.startswith("/")


if __name__ == "__main__":
    # Served as SockEvents.run and `python -m flask_sockevents` serve it: the
    # start-up heap frozen, and flask_sockevents' own websocket handler (it
    # unmasks frames and checks UTF-8 at C speed, where gevent-websocket's
    # does both byte by byte in Python).
    freeze_startup_heap()
    serve(app, handler_class=handler_class(sockevents.max_message_size))
