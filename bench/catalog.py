"""What the benchmark runs: the servers, the scenarios, and the figures each one reports.

A scenario is a load-generator spec (``loadgen.js`` reads it) plus the figures derived
from the load generator's result and from the harness's samples of the server process
at the start and end of the measured window. ``--quick`` overrides some bounds so that
a whole run takes about a minute; the scenario's name and shape stay the same.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SERVERS_DIR = BENCH / "servers"

#: The server every ratio is relative to.
BASELINE = "python-socketio"


@dataclass(frozen=True)
class ServerSpec:
    """A reference server: a script run as its own process.

    :param name: the key used by ``--servers`` and in the results.
    :param label: how tables and charts name it.
    :param command: the command line that starts it; it must print ``{"port": N}``.
    :param needs: an executable that must be on ``PATH`` (``node``), or ``None``.
    :param message_queue: whether it serves with a Redis message queue when
        ``BENCH_MESSAGE_QUEUE`` is set (the ``fanout-mq`` scenario).
    :param only: the scenarios it runs (``None``: all of them).
    """

    name: str
    label: str
    command: tuple[str, ...]
    needs: str | None = None
    message_queue: bool = True
    only: tuple[str, ...] | None = None

    def missing(self) -> str | None:
        """Say why this server cannot run here, or return ``None`` when it can."""
        if self.needs and shutil.which(self.needs) is None:
            return f"{self.needs} is not on PATH"
        return None

    def cannot_run(self, scenario: Scenario) -> str | None:
        """Say why this server does not run ``scenario``, or return ``None`` when it does."""
        if self.only is not None and scenario.name not in self.only:
            return f"runs {', '.join(self.only)} only"
        if scenario.message_queue and not self.message_queue:
            return "has no Redis message queue in the benchmark"
        return None


def _python(script: str) -> tuple[str, ...]:
    return (sys.executable, str(SERVERS_DIR / script))


SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(BASELINE, "python-socketio", _python("socketio_server.py")),
    ServerSpec("flask-socketio", "Flask-SocketIO", _python("flask_socketio_server.py")),
    ServerSpec("sockevents", "flask_sockevents", _python("sockevents_server.py")),
    ServerSpec(
        "node",
        "node socket.io",
        ("node", str(SERVERS_DIR / "node_server.js")),
        "node",
        message_queue=False,
    ),
    ServerSpec(
        "sockevents-recovery",
        "sockevents+recovery",
        _python("sockevents_recovery_server.py"),
        only=("fanout-1000",),
    ),
)


#: What the harness measured around the window: server CPU seconds, RSS growth in bytes,
#: and the window's wall seconds, as ``run.py`` records them.
Samples = dict[str, float]
Derive = Callable[[dict[str, Any], Samples], float | None]


@dataclass(frozen=True)
class Metric:
    """One figure of a scenario.

    :param key: its name in the JSON results.
    :param label: how the table and the chart name it.
    :param unit: printed after the value.
    :param higher_is_better: the direction of "better", for the reader.
    :param derive: computes the figure from the load generator's result and the samples.
    """

    key: str
    label: str
    unit: str
    higher_is_better: bool
    derive: Derive


def _field(name: str) -> Derive:
    return lambda result, samples: result.get(name)


def _server_cpu_us_per(count_field: str) -> Derive:
    def derive(result: dict[str, Any], samples: Samples) -> float | None:
        count = result.get(count_field) or 0
        return samples["server_cpu_s"] * 1e6 / count if count else None

    return derive


def _rss_kb_per_connection(result: dict[str, Any], samples: Samples) -> float | None:
    connected = result.get("connected") or 0
    return samples["server_rss_delta_bytes"] / 1024 / connected if connected else None


def _latency_metrics() -> tuple[Metric, ...]:
    return (
        Metric("p50_ms", "ack round trip p50", "ms", False, _field("p50_ms")),
        Metric("p99_ms", "ack round trip p99", "ms", False, _field("p99_ms")),
        Metric(
            "cpu_us_per_event", "server CPU per event", "µs", False, _server_cpu_us_per("events")
        ),
    )


#: The load of both broadcast scenarios: 1,000 clients, 40 measured rounds.
FANOUT_1000 = {
    "scenario": "fanout",
    "clients": 1000,
    "concurrency": 50,
    "warmup_rounds": 3,
    "rounds": 40,
    "duration": 6,
    "round_timeout": 10,
    "deadline": 90,
}


def _fanout_metrics() -> tuple[Metric, ...]:
    return (
        Metric("deliveries_per_s", "deliveries", "/s", True, _field("deliveries_per_s")),
        Metric(
            "last_delivery_p50_ms",
            "time to last delivery p50",
            "ms",
            False,
            _field("last_delivery_p50_ms"),
        ),
        Metric(
            "cpu_us_per_delivery",
            "server CPU per delivery",
            "µs",
            False,
            _server_cpu_us_per("deliveries"),
        ),
    )


def _connect_metrics() -> tuple[Metric, ...]:
    return (
        Metric("connects_per_s", "connects", "/s", True, _field("connects_per_s")),
        Metric("rss_kb_per_conn", "server RSS per connection", "KB", False, _rss_kb_per_connection),
        Metric(
            "cpu_us_per_conn",
            "server CPU per connect",
            "µs",
            False,
            _server_cpu_us_per("connected"),
        ),
    )


@dataclass(frozen=True)
class Scenario:
    """A measured situation, bounded in count and time.

    :param name: the key used by ``--scenarios`` and in the results.
    :param description: one line for the table and the README.
    :param spec: the load generator's spec, without the server's URL.
    :param quick: the overrides of ``spec`` that ``--quick`` applies.
    :param metrics: the figures reported, in table order.
    :param chart: the keys of the metrics the chart shows.
    :param in_quick: whether ``--quick`` runs it when no ``--scenarios`` are named.
    :param message_queue: two server processes share a Redis message queue: the
        load generator's clients connect to the second, the one that triggers
        each broadcast to the first, and the figures are the two processes' sums.
    """

    name: str
    description: str
    spec: dict[str, Any]
    metrics: tuple[Metric, ...]
    chart: tuple[str, ...]
    quick: dict[str, Any] = field(default_factory=dict)
    in_quick: bool = True
    message_queue: bool = False

    def loadgen_spec(self, url: str, quick: bool) -> dict[str, Any]:
        """Return the load generator's spec for a server at ``url``."""
        spec = {"scenario": self.spec["scenario"], "url": url, **self.spec}
        if quick:
            spec.update(self.quick)
        return spec


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "latency-1",
        "1 client sends echo and awaits its ack, one at a time",
        {
            "scenario": "latency",
            "clients": 1,
            "warmup": 0.5,
            "duration": 2,
            "count": 20000,
            "deadline": 30,
        },
        _latency_metrics(),
        ("p50_ms", "p99_ms"),
        quick={"warmup": 0.3, "duration": 1},
    ),
    Scenario(
        "latency-100",
        "100 clients each send echo and await its ack, one at a time",
        {
            "scenario": "latency",
            "clients": 100,
            "warmup": 0.5,
            "duration": 2,
            "count": 200000,
            "deadline": 40,
        },
        _latency_metrics(),
        ("p50_ms", "p99_ms"),
        quick={"warmup": 0.3, "duration": 1},
    ),
    Scenario(
        "throughput-50",
        "50 clients keep 10 echo events each in flight (pipelined)",
        {
            "scenario": "throughput",
            "clients": 50,
            "inflight": 10,
            "warmup": 1,
            "duration": 4,
            "deadline": 40,
        },
        (
            Metric("events_per_s", "echo events", "/s", True, _field("events_per_s")),
            Metric(
                "cpu_us_per_event",
                "server CPU per event",
                "µs",
                False,
                _server_cpu_us_per("events"),
            ),
            Metric("p50_ms", "ack round trip p50 under load", "ms", False, _field("p50_ms")),
        ),
        ("events_per_s", "cpu_us_per_event"),
        quick={"warmup": 0.5, "duration": 2},
    ),
    Scenario(
        "fanout-1000",
        "1 of 1,000 clients triggers an emit to the room all are in, round after round",
        dict(FANOUT_1000),
        _fanout_metrics(),
        ("deliveries_per_s", "last_delivery_p50_ms", "cpu_us_per_delivery"),
        quick={"warmup_rounds": 1, "rounds": 10, "duration": 3},
    ),
    Scenario(
        "fanout-mq",
        "1 client on process A triggers an emit to the room of 1,000 clients on process B "
        "(Redis message queue)",
        dict(FANOUT_1000),
        _fanout_metrics(),
        ("deliveries_per_s", "cpu_us_per_delivery"),
        quick={"warmup_rounds": 1, "rounds": 10, "duration": 3},
        message_queue=True,
    ),
    Scenario(
        "connect-1000",
        "1,000 websocket clients connect (50 at a time) and stay idle",
        {
            "scenario": "connect",
            "clients": 1000,
            "concurrency": 50,
            "warmup_clients": 10,
            "settle": 0.5,
            "deadline": 90,
        },
        _connect_metrics(),
        ("connects_per_s", "rss_kb_per_conn"),
        quick={"settle": 0.3},
    ),
    Scenario(
        "connect-5000",
        "5,000 websocket clients connect (50 at a time) and stay idle",
        {
            "scenario": "connect",
            "clients": 5000,
            "concurrency": 50,
            "warmup_clients": 10,
            "settle": 0.5,
            "deadline": 150,
        },
        _connect_metrics(),
        ("connects_per_s", "rss_kb_per_conn"),
        quick={"settle": 0.3},
        in_quick=False,
    ),
)
