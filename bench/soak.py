"""Soak test: many clients for minutes against one server process, its resources sampled.

``bench/soak.py --duration 300 --clients 200`` (``make soak``):

1. starts the soak app (below) in a subprocess under gevent, on 127.0.0.1
   and a free port: a few handlers (one sometimes sleeps, one raises), two
   listeners, a guard, and a listener that raises on 1% of the events;
2. drives ``--clients`` concurrent clients for ``--duration`` seconds, each in
   its own thread: python-socketio clients (echo with acks, joins and leaves,
   broadcasts to rooms, rejected, unhandled and failing events) and, one in
   ten, raw websocket clients that now and then send a malformed packet and
   are closed by the server; every client disconnects and reconnects after a
   few seconds, so connections churn all along; beside them, ``--attackers``
   (2) raw websocket clients stream cheap packets (Engine.IO pongs and
   upgrades, unasked acknowledgements, CONNECTs to a refused namespace) in
   bursts without reading a byte of the answers, then vanish with a reset;
3. samples the server every ``--interval`` seconds: RSS, greenlets, open
   file descriptors, connections, queued packets and the bus's counts (from
   the app's ``/soak/stats`` route, and psutil);
4. after every client has left, checks the invariants: every event received
   has one outcome, every accepted connection produced exactly one connect and
   one disconnect on the bus, the server holds no connection any more and is
   back to the greenlets and file descriptors it had before the first client,
   every ack carried the right value; and reports the RSS drift;
5. writes ``soak-<duration>s-<clients>c.json`` (time series, totals,
   invariants) and a ``.png`` chart under ``bench/results/`` for runs of
   5 minutes or more, else under ``bench/results/tmp/`` (or ``--out``), and
   exits 1 if an invariant does not hold.

Every loop is bounded in time and count; the server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"

#: Rooms clients join and broadcast to.
ROOMS = 10
#: Seconds a client session lasts before the client disconnects and reconnects.
SESSION = (3.0, 15.0)
#: Seconds between two actions of one client.
PAUSE = (0.1, 0.6)
#: What an attacker streams, one kind per session: pong, upgrade, an unasked ack, a refused CONNECT.
CHEAP_PACKETS = ["3", "5", "431[1]", "40/nope,"]
#: Seconds an attacker streams in one burst, and pauses between bursts.
BURST = (0.5, 2.0)
#: Malformed Socket.IO packets (inside Engine.IO message frames) a raw client sends.
MALFORMED = ['42["echo"', "49", "4", "45-[]", "42{}", "42[]", "4x", '43["no id"]']


# -- the server (runs in the subprocess, under gevent) ------------------------------------------


def serve(port: int) -> None:
    """Serve the soak app on 127.0.0.1:``port`` until SIGTERM; print ``{"port": N}`` first.

    Must run in a process that gevent patched before anything else was
    imported (``python -m gevent.monkey bench/soak.py serve``).
    """
    import gc
    import logging

    import gevent
    import greenlet
    from flask import Flask, jsonify, request

    from flask_sockevents import Event, EventKind, Outcome, SockEvents, emit, join_room
    from flask_sockevents import leave_room as leave
    from flask_sockevents.serving import make_server

    logging.basicConfig(level=logging.CRITICAL)  # the faulty listener's tracebacks are expected
    app = Flask("soak")
    app.config["SECRET_KEY"] = "soak"
    sockevents = SockEvents(  # every client comes from 127.0.0.1: no per-address caps
        app,
        max_connections_per_address=None,
        max_http_connections_per_address=None,
        ping_interval=5,
    )
    bus = sockevents.bus
    lifecycle: dict[str, list[int]] = {}  # sid -> [accepted connects, disconnects]
    seen: Counter[str] = Counter()  # "<kind> <outcome>"
    rng = random.Random(0)

    @sockevents.on("echo")
    def echo(data: Any) -> Any:
        if rng.random() < 0.02:
            gevent.sleep(rng.uniform(0.01, 0.05))
        return data

    @sockevents.on("slow")
    def slow() -> str:
        gevent.sleep(rng.uniform(0.0, 0.2))
        return "done"

    @sockevents.on("join")
    def join(room: str) -> str:
        join_room(room)
        return room

    @sockevents.on("leave")
    def leave_room(room: str) -> None:
        leave(room)

    @sockevents.on("broadcast")
    def broadcast(data: dict[str, Any]) -> None:
        emit("news", data, to=data.get("room"))

    @sockevents.on("boom")
    def boom() -> None:
        raise RuntimeError("a handler that fails")

    @sockevents.on("move", namespace="/games/*")
    def move(data: Any) -> Any:
        return data

    @sockevents.guard("*")
    def no_forbidden(event: Event) -> bool:
        return event.name != "forbidden"

    @sockevents.listen("*", namespace="*")
    def count_lifecycle(event: Event) -> None:
        if event.sid is None:
            return
        if event.kind is EventKind.CONNECT and event.outcome in (
            Outcome.HANDLED,
            Outcome.UNHANDLED,
        ):
            lifecycle.setdefault(event.sid, [0, 0])[0] += 1
        elif event.kind is EventKind.DISCONNECT:
            lifecycle.setdefault(event.sid, [0, 0])[1] += 1

    @sockevents.listen("*", namespace="*")
    def count_outcomes(event: Event) -> None:
        seen[f"{event.kind.value} {event.outcome}"] += 1

    faults = random.Random(1)

    @sockevents.listen("*", namespace="*")
    def faulty(event: Event) -> None:
        if faults.random() < 0.01:
            raise RuntimeError("a listener that fails 1% of the time")

    @app.get("/soak/stats")
    def stats() -> Any:
        if request.args.get("collect"):
            gc.collect()
        server = sockevents._require_server()
        greenlets = [o for o in gc.get_objects() if isinstance(o, greenlet.greenlet)]
        with open("/proc/self/status") as status:
            rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return jsonify(
            rss_mb=rss_kb / 1024,
            greenlets=len(greenlets),
            greenlets_alive=sum(not g.dead for g in greenlets),
            greenlet_kinds=dict(Counter(map(_greenlet_kind, greenlets)).most_common(8)),
            fds=len(os.listdir("/proc/self/fd")),
            counts=dict(bus.counts),
            rejections=dict(bus.rejections.most_common(10)),
            listener_errors=bus.listener_errors,
            protocol_errors=dict(server.protocol_errors),
            engineio_sockets=len(server.eio.sockets),
            seen=dict(seen),
            **server.connection_stats(),
        )

    @app.get("/soak/lifecycle")
    def lifecycle_tally() -> Any:
        return jsonify(lifecycle)

    server = make_server(app, "127.0.0.1", port)
    server.start()
    sockevents.wsgi_server = server

    def stop() -> None:
        sockevents.shutdown(5)
        server.stop(timeout=1)

    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(stop))
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


def _greenlet_kind(g: Any) -> str:
    """What a greenlet runs, and whether it is still alive."""
    run = getattr(g, "_run", None) or getattr(g, "run", None)
    name = getattr(run, "__qualname__", None) or type(g).__name__
    return f"{name} ({'dead' if g.dead else 'alive'})"


# -- the clients (in the driver process, one thread each) ---------------------------------------


class Tally:
    """What the clients did and saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.sids: set[str] = set()
        self.connected = 0

    def add(self, what: str, count: int = 1) -> None:
        """Count ``what``."""
        with self.lock:
            self.counts[what] += count

    def joined(self, sid: str) -> None:
        """A client was let in with ``sid``."""
        with self.lock:
            self.sids.add(sid)
            self.connected += 1
            self.counts["connected"] += 1

    def left(self) -> None:
        """A client is gone."""
        with self.lock:
            self.connected -= 1


def socketio_client(url: str, deadline: float, rng: random.Random, tally: Tally) -> None:
    """One python-socketio client: sessions of mixed traffic until ``deadline``."""
    import socketio

    for _ in range(10_000):  # sessions; the deadline ends the loop long before
        if time.monotonic() >= deadline:
            return
        client = socketio.Client(reconnection=False, handle_sigint=False)
        client.on("news", lambda data: tally.add("news received"))
        try:
            client.connect(url, transports=["websocket"], wait_timeout=10)
        except Exception:
            tally.add("connect failed")
            time.sleep(rng.uniform(*PAUSE))
            continue
        tally.joined(str(client.get_sid()))
        try:
            socketio_session(client, deadline, rng, tally)
        except Exception as exc:  # the connection broke under the client
            tally.add(f"session error {type(exc).__name__}")
        finally:
            client.disconnect()
            client.shutdown()
            tally.left()


def socketio_session(client: Any, deadline: float, rng: random.Random, tally: Tally) -> None:
    """Mixed traffic on one connection for a few seconds."""
    import socketio

    end = min(deadline, time.monotonic() + rng.uniform(*SESSION))
    room = f"room-{rng.randrange(ROOMS)}"
    actions = ["echo"] * 6 + ["join", "leave", "broadcast", "slow", "forbidden", "unknown", "boom"]
    for number in range(1000):
        if time.monotonic() >= end or not client.connected:
            return
        action = rng.choice(actions)
        try:
            if action == "echo":
                payload = {"n": number, "pad": "x" * rng.randrange(200)}
                reply = client.call("echo", payload, timeout=15)
                tally.add("ack ok" if reply == payload else "ack mismatch")
            elif action == "join":
                room = f"room-{rng.randrange(ROOMS)}"
                tally.add(
                    "ack ok" if client.call("join", room, timeout=15) == room else "ack mismatch"
                )
            elif action == "slow":
                tally.add("ack ok" if client.call("slow", timeout=15) == "done" else "ack mismatch")
            elif action == "leave":
                client.emit("leave", room)
            elif action == "broadcast":
                client.emit("broadcast", {"room": room, "n": number})
            elif action == "forbidden":
                client.emit("forbidden", number)
            elif action == "unknown":
                client.emit(f"nobody-{rng.randrange(5)}", number)
            else:
                client.emit("boom")
            tally.add(f"sent {action}")
        except socketio.exceptions.TimeoutError:
            tally.add("ack timeout")
        time.sleep(rng.uniform(*PAUSE))


def raw_client(url: str, deadline: float, rng: random.Random, tally: Tally) -> None:
    """A raw websocket client: echo with acks, and now and then a malformed packet."""
    import websocket

    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    for _ in range(10_000):
        if time.monotonic() >= deadline:
            return
        try:
            ws = websocket.create_connection(ws_url, timeout=10)
        except Exception:
            tally.add("connect failed")
            time.sleep(rng.uniform(*PAUSE))
            continue
        try:
            raw_session(ws, deadline, rng, tally)
        except Exception as exc:
            tally.add(f"session error {type(exc).__name__}")
        finally:
            ws.close()


def _receive(ws: Any, wanted: str) -> str:
    """Read Engine.IO messages, answering pings, until one starts with ``wanted``."""
    for _ in range(1000):
        message = ws.recv()
        if message == "2":
            ws.send("3")
        elif isinstance(message, str) and message.startswith(wanted):
            return message
    raise RuntimeError(f"no {wanted!r} in 1000 messages")


def raw_session(ws: Any, deadline: float, rng: random.Random, tally: Tally) -> None:
    """One raw connection: CONNECT, acknowledged echoes, then a clean or a malformed end."""
    import websocket

    _receive(ws, "0{")
    ws.send("40")
    reply = _receive(ws, "40")
    tally.joined(json.loads(reply[2:])["sid"])
    try:
        end = min(deadline, time.monotonic() + rng.uniform(*SESSION))
        for number in range(1, 1000):
            if time.monotonic() >= end:
                break
            if rng.random() < 0.05:
                ws.send(rng.choice(MALFORMED))
                tally.add("malformed sent")
                try:
                    for _ in range(1000):
                        if ws.recv() == "2":
                            ws.send("3")
                except (websocket.WebSocketConnectionClosedException, ConnectionError):
                    tally.add("closed by server")
                return
            ws.send(f'42{number}["echo",{number}]')
            answer = _receive(ws, f"43{number}")
            tally.add("ack ok" if answer == f"43{number}[{number}]" else "ack mismatch")
            tally.add("sent raw echo")
            time.sleep(rng.uniform(*PAUSE))
        ws.send("41")
    finally:
        tally.left()


def attacker_client(url: str, deadline: float, rng: random.Random, tally: Tally) -> None:
    """An attacker: sessions that stream one kind of cheap packet in bursts, never reading."""
    import websocket

    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    for session in range(10_000):
        if time.monotonic() >= deadline:
            return
        try:
            ws = websocket.create_connection(ws_url, timeout=10)
            _receive(ws, "0{")
            ws.send("40")
            sid = json.loads(_receive(ws, "40")[2:])["sid"]
        except Exception:
            tally.add("attacker connect failed")
            time.sleep(rng.uniform(*PAUSE))
            continue
        tally.joined(sid)
        packet = CHEAP_PACKETS[session % len(CHEAP_PACKETS)]
        frame = bytes(websocket.ABNF.create_frame(packet, websocket.ABNF.OPCODE_TEXT).format())
        try:
            end = min(deadline, time.monotonic() + rng.uniform(*SESSION))
            while time.monotonic() < end:
                burst = min(end, time.monotonic() + rng.uniform(*BURST))
                sent = _stream(ws.sock, frame, burst)
                tally.add("attacker bytes sent", sent)
                tally.add(f"attacker packets sent {packet}", sent // len(frame))
                time.sleep(min(max(0.0, end - time.monotonic()), rng.uniform(*BURST)))
        finally:
            tally.left()
            ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.sock.close()  # gone at once, with a reset: the server drops what it did not read


def _stream(sock: socket.socket, frame: bytes, until: float) -> int:
    """Write ``frame`` over and over until ``until``, never reading; whole frames only."""
    block = memoryview(frame * max(1, 65536 // len(frame)))
    sent = 0
    sock.settimeout(0.1)
    while time.monotonic() < until or sent % len(frame):
        if time.monotonic() > until + 10:
            break  # the server stopped reading mid-frame: give up on the frame
        try:
            sent += sock.send(block[sent % len(block) :])
        except TimeoutError:
            continue  # the server is not reading: back-pressure
        except OSError:
            break
    return sent


# -- the driver ---------------------------------------------------------------------------------


class ServerProcess:
    """The soak app in a subprocess; stopped by its PID."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gevent.monkey", __file__, "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the server prints its port once bound
        if not line:
            self.stop()
            raise RuntimeError(f"the soak server did not start; see {log}")
        self.port = int(json.loads(line)["port"])
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self, collect: bool = False) -> dict[str, Any]:
        """The app's ``/soak/stats``."""
        import requests

        suffix = "?collect=1" if collect else ""
        return dict(requests.get(f"{self.url}/soak/stats{suffix}", timeout=10).json())

    def lifecycle(self) -> dict[str, list[int]]:
        """Connects and disconnects the bus published, by sid."""
        import requests

        return dict(requests.get(f"{self.url}/soak/lifecycle", timeout=30).json())

    def stop(self) -> int | None:
        """SIGTERM (graceful), then SIGKILL after 15 s; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        return self.process.returncode


def sample(server: ServerProcess, started: float, tally: Tally, collect: bool = False) -> dict:
    """One point of the time series."""
    import psutil

    stats = server.stats(collect)
    process = psutil.Process(server.process.pid)
    cpu = process.cpu_times()
    return {
        "t": round(time.monotonic() - started, 2),
        "rss_mb": round(process.memory_info().rss / 2**20, 2),
        "cpu_s": round(cpu.user + cpu.system, 2),
        "clients_connected": tally.connected,
        **stats,
    }


def soak(
    duration: float, clients: int, interval: float, out: Path, seed: int, attackers: int = 2
) -> dict:
    """Run the soak and return its report (also written to ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    name = f"soak-{duration:g}s-{clients}c"
    logs = RESULTS / "tmp" if out.resolve() == RESULTS else out  # logs are never kept
    logs.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(logs / f"{name}.server.log")
    tally = Tally()
    samples: list[dict] = []
    try:
        started = time.monotonic()
        samples.append(sample(server, started, tally))
        deadline = started + duration
        threads = []
        for index in range(clients):
            target = raw_client if index % 10 == 9 else socketio_client
            rng = random.Random(seed * 100_003 + index)
            thread = threading.Thread(
                target=target, args=(server.url, deadline, rng, tally), daemon=True
            )
            threads.append(thread)
        for index in range(attackers):
            rng = random.Random(seed * 100_003 + clients + index)
            thread = threading.Thread(
                target=attacker_client, args=(server.url, deadline, rng, tally), daemon=True
            )
            threads.append(thread)
        ramp = min(5.0, duration / 6)

        def start_all() -> None:  # ramp up over a few seconds
            for thread in threads:
                thread.start()
                time.sleep(ramp / clients)

        starter = threading.Thread(target=start_all, daemon=True)
        starter.start()
        while time.monotonic() < deadline:
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            samples.append(sample(server, started, tally))
        starter.join(timeout=ramp + 5)
        for thread in threads:
            thread.join(timeout=max(0.1, deadline + 40 - time.monotonic()))
        stragglers = sum(thread.is_alive() for thread in threads)
        drained = time.monotonic() + 30
        while time.monotonic() < drained:
            final = sample(server, started, tally)
            if final["connections"] == 0 and final["engineio_sockets"] == 0:
                break
            time.sleep(0.5)
        settled = time.monotonic() + 15  # engineio's ping greenlets end one ping interval later
        while time.monotonic() < settled:
            final = sample(server, started, tally, collect=True)
            if final["greenlets_alive"] <= samples[0]["greenlets_alive"] + 2:
                break
            time.sleep(0.5)
        lifecycle = server.lifecycle()
    finally:
        exit_code = server.stop()
    report = {
        "config": {
            "duration": duration,
            "clients": clients,
            "attackers": attackers,
            "interval": interval,
            "seed": seed,
        },
        "client_threads_still_running": stragglers,
        "server_exit_code": exit_code,
        "clients": dict(tally.counts),
        "samples": samples,
        "final": final,
    }
    report["summary"] = summarize(samples, final, ramp)
    report["invariants"] = check(samples[0], final, lifecycle, tally)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    chart(samples, final, out / f"{name}.png", f"{clients} clients, {duration:g} s")
    return report


def summarize(samples: list[dict], final: dict, ramp: float) -> dict:
    """RSS, greenlets and fds: idle before, loaded (after the ramp) start and end, idle after."""
    loaded = [point for point in samples[1:] if point["t"] >= ramp] or samples[-1:]
    first, last = loaded[0], loaded[-1]
    half = loaded[len(loaded) // 2 :]
    slope = 0.0
    if len(half) >= 2 and half[-1]["t"] > half[0]["t"]:
        slope = (half[-1]["rss_mb"] - half[0]["rss_mb"]) / (half[-1]["t"] - half[0]["t"]) * 60
    duration = max(last["t"] - first["t"], 1e-9)
    return {
        "rss_mb": {
            "idle_before": samples[0]["rss_mb"],
            "loaded_start": first["rss_mb"],
            "loaded_end": last["rss_mb"],
            "peak": max(point["rss_mb"] for point in samples),
            "idle_after": final["rss_mb"],
            "drift_loaded": round(last["rss_mb"] - first["rss_mb"], 2),
            "drift_second_half_mb_per_min": round(slope, 3),
        },
        "greenlets_alive": {
            "idle_before": samples[0]["greenlets_alive"],
            "loaded_start": first["greenlets_alive"],
            "loaded_end": last["greenlets_alive"],
            "idle_after": final["greenlets_alive"],
        },
        "greenlets": {
            "idle_before": samples[0]["greenlets"],
            "loaded_start": first["greenlets"],
            "loaded_end": last["greenlets"],
            "idle_after": final["greenlets"],
        },
        "fds": {
            "idle_before": samples[0]["fds"],
            "loaded_start": first["fds"],
            "loaded_end": last["fds"],
            "idle_after": final["fds"],
        },
        "events_received": final["counts"].get("received", 0),
        "events_per_s": round(
            (last["counts"].get("received", 0) - first["counts"].get("received", 0)) / duration, 1
        ),
        "server_cpu_s": final["cpu_s"],
        "counts": final["counts"],
        "listener_errors": final["listener_errors"],
        "protocol_errors": final["protocol_errors"],
    }


def check(idle: dict, final: dict, lifecycle: dict[str, list[int]], tally: Tally) -> dict:
    """Each invariant: whether it holds, and the figures behind it.

    ``idle`` is the server before any client came, ``final`` after all left.
    """
    counts = final["counts"]
    outcomes = sum(counts.get(key, 0) for key in ("handled", "unhandled", "rejected", "failed"))
    wrong = {sid: pair for sid, pair in lifecycle.items() if pair != [1, 1]}
    unseen = sorted(tally.sids - set(lifecycle))
    return {
        "outcomes_add_up": {
            "holds": counts.get("received", 0) == outcomes,
            "received": counts.get("received", 0),
            "outcomes": outcomes,
        },
        "one_connect_one_disconnect_per_sid": {
            "holds": not wrong and not unseen,
            "sids": len(lifecycle),
            "client_sids": len(tally.sids),
            "wrong": dict(list(wrong.items())[:20]),
            "client_sids_not_on_bus": unseen[:20],
        },
        "no_connection_left": {
            "holds": final["connections"] == 0
            and final["queued"] == 0
            and final["engineio_sockets"] == 0,
            "connections": final["connections"],
            "queued": final["queued"],
            "engineio_sockets": final["engineio_sockets"],
        },
        "greenlets_and_fds_back_to_idle": {
            "holds": final["greenlets_alive"] <= idle["greenlets_alive"] + 2
            and final["fds"] <= idle["fds"] + 2,
            "greenlets_alive": [idle["greenlets_alive"], final["greenlets_alive"]],
            "fds": [idle["fds"], final["fds"]],
            "greenlets_after": final["greenlet_kinds"],
        },
        "acks_carry_the_right_value": {
            "holds": tally.counts["ack mismatch"] == 0 and tally.counts["ack ok"] > 0,
            "ok": tally.counts["ack ok"],
            "mismatch": tally.counts["ack mismatch"],
            "timeout": tally.counts["ack timeout"],
        },
    }


def chart(samples: list[dict], final: dict, path: Path, title: str) -> None:
    """RSS, greenlets, fds, connections and event rate over time, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [*samples, final]
    t = [point["t"] for point in points]
    figure, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    figure.suptitle(f"flask_sockevents soak: {title}")
    rss = axes[0][0]
    rss.plot(t, [point["rss_mb"] for point in points], color="tab:blue")
    rss.set_ylabel("server RSS (MB)")
    rss.set_ylim(bottom=0)
    counts = axes[0][1]
    counts.plot(
        t, [point["greenlets_alive"] for point in points], label="greenlets", color="tab:green"
    )
    counts.plot(t, [point["fds"] for point in points], label="open fds", color="tab:orange")
    counts.set_ylabel("count")
    counts.legend(loc="upper left")
    connections = axes[1][0]
    connections.plot(t, [point["connections"] for point in points], label="server connections")
    connections.plot(
        t, [point["clients_connected"] for point in points], label="clients connected", ls="--"
    )
    connections.set_ylabel("connections")
    connections.set_xlabel("seconds")
    connections.legend(loc="upper left")
    rate = axes[1][1]
    rates = [0.0]
    for before, after in itertools.pairwise(points):
        elapsed = max(after["t"] - before["t"], 1e-9)
        received = after["counts"].get("received", 0) - before["counts"].get("received", 0)
        rates.append(received / elapsed)
    rate.plot(t, rates, color="tab:purple")
    rate.set_ylabel("events received per second")
    rate.set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=["serve"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (300)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (200)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between samples")
    parser.add_argument("--attackers", type=int, default=2, help="cheap-packet attackers (2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clients' choices")
    parser.add_argument("--out", type=Path, help="directory for the JSON and the PNG")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port)
        return 0
    out = args.out or (RESULTS if args.duration >= 300 else RESULTS / "tmp")
    report = soak(args.duration, args.clients, args.interval, out, args.seed, args.attackers)
    print(json.dumps({"summary": report["summary"], "invariants": report["invariants"]}, indent=1))
    return 0 if all(item["holds"] for item in report["invariants"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
