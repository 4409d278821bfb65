"""What one idle websocket costs a benchmark server, object by object.

    .venv/bin/python bench/idle_memory.py --server sockevents --clients 1000 \\
        --out bench/results/profiles/idle-websocket-sockevents.txt

serves the benchmark server's app in a child process with ``tracemalloc`` on,
connects ``--clients`` websocket clients with the load generator's ``connect``
scenario, and compares the server between the start and the end of the load
generator's window (all clients connected and idle): RSS, the Python objects
alive by type (greenlets, queues, dicts...) and the allocations still held by
the line that made them, each divided by the number of clients. tracemalloc
sees Python allocations only: what a greenlet keeps of its C stack while
switched out, and what the C libraries hold, show in RSS alone.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from catalog import SCENARIOS, SERVERS_DIR, ServerSpec
from procs import Sample, ServerProcess, raise_fd_limit, run_loadgen

SCRIPTS = {"sockevents": "sockevents_server.py", "python-socketio": "socketio_server.py"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=sorted(SCRIPTS), default="sockevents")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="the report (standard output if omitted)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child: the report's path
    return parser.parse_args(argv)


# -- the child: the server, with tracemalloc ---------------------------------------------


def serve(server: str, report: str, top: int) -> None:
    """Serve ``server``'s app; SIGUSR1 takes the baseline, SIGUSR2 writes the report."""
    from gevent import monkey

    monkey.patch_all()
    import gc
    import importlib.util
    import tracemalloc
    from collections import Counter

    import gevent
    import psutil

    tracemalloc.start(1)
    sys.path.insert(0, str(SERVERS_DIR))
    spec = importlib.util.spec_from_file_location("bench_server", SERVERS_DIR / SCRIPTS[server])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import _serve

    if server == "sockevents":
        from flask_sockevents.websocket import handler_class

        app: Any = module.app
        handler: Any = handler_class(module.sockevents.max_message_size)
    else:
        import socketio

        app, handler = socketio.WSGIApp(module.sio), None
    state: dict[str, Any] = {}
    process = psutil.Process()

    own = {"Traceback", "Frame", "_Frame", "StatisticDiff", "Statistic", "Snapshot"}

    def types() -> Counter[str]:  # tracemalloc's own objects left out
        names = (type(o).__qualname__ for o in gc.get_objects())
        return Counter(name for name in names if name not in own)

    def baseline() -> None:
        gc.collect()
        state.update(snapshot=tracemalloc.take_snapshot(), types=types(),
                     rss=process.memory_info().rss)  # fmt: skip

    def write_report() -> None:
        gc.collect()
        clients = int(Path(report + ".clients").read_text())
        rss = process.memory_info().rss - state["rss"]
        snapshot = tracemalloc.take_snapshot()
        diff = snapshot.compare_to(state["snapshot"], "lineno")
        traced = sum(d.size_diff for d in diff)
        counts = types()
        counts.subtract(state["types"])
        lines = [
            f"RSS per connection: {rss / 1024 / clients:.1f} KB; Python allocations traced by "
            f"tracemalloc per connection: {traced / 1024 / clients:.1f} KB (the rest: C stacks "
            "of switched-out greenlets, C libraries, allocator slack)",
            "",
            "Objects alive per connection, by type (gc-tracked objects only):",
        ]
        lines += [f"  {n / clients:7.2f}  {name}" for name, n in counts.most_common(top) if n > 0]
        lines += ["", "Allocations held per connection, by the line that made them:"]
        for stat in diff[:top]:
            frame = stat.traceback[0]
            where = "/".join(Path(frame.filename).parts[-2:])
            lines.append(
                f"  {stat.size_diff / clients:8.0f} B  {stat.count_diff / clients:6.2f} blocks"
                f"  {where}:{frame.lineno}"
            )
        Path(report).write_text("\n".join(lines) + "\n")

    gevent.signal_handler(signal.SIGUSR1, baseline)
    gevent.signal_handler(signal.SIGUSR2, write_report)
    if handler is None:
        _serve.serve(app)
    else:
        _serve.serve(app, handler_class=handler)


# -- the parent: the load generator, and the marks -------------------------------------


class TracedServer(ServerProcess):
    """The server in ``--serve`` mode; the window's marks take its snapshots."""

    def __init__(self, spec: ServerSpec, report: Path, clients: int) -> None:
        super().__init__(spec)
        self.report = report
        self.clients = clients
        self._marks = 0

    def sample(self) -> Sample:
        """Sample the server, and have it take its baseline (start) or write its report (end)."""
        self._marks += 1
        assert self._proc is not None
        if self._marks == 2:
            Path(str(self.report) + ".clients").write_text(str(self.clients))
        self._proc.send_signal(signal.SIGUSR1 if self._marks == 1 else signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while self._marks == 2 and not self.report.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0 if self._marks == 1 else 0)  # the baseline's gc and snapshot
        return super().sample()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.server, args.serve, args.top)
        return 0
    raise_fd_limit()
    report = Path(f"/tmp/idle_memory_{args.server}_{time.time_ns()}.txt")
    spec = ServerSpec(
        args.server,
        args.server,
        (sys.executable, str(Path(__file__).resolve()), "--server", args.server,
         "--serve", str(report), "--top", str(args.top)),
    )  # fmt: skip
    scenario = next(s for s in SCENARIOS if s.name == "connect-1000")
    with TracedServer(spec, report, args.clients) as server:
        loadgen = scenario.loadgen_spec(server.url, quick=True)
        loadgen.update(clients=args.clients, deadline=120)
        outcome = run_loadgen(server, loadgen)
    connected = outcome["result"].get("connected")
    command = " ".join(["bench/idle_memory.py", *(argv if argv is not None else sys.argv[1:])])
    header = [
        f"One idle websocket of the {args.server} benchmark server, {connected} clients"
        " connected (the load generator's connect scenario), tracemalloc on (it slows the"
        " server and adds its own memory: compare lines, not the total, with bench/run.py).",
        f"Command: {command}",
        "",
    ]
    text = "\n".join(header) + report.read_text()
    report.unlink()
    Path(str(report) + ".clients").unlink()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    print(json.dumps({"connected": connected}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
