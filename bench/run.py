"""Benchmark flask_sockevents side by side with python-socketio, Flask-SocketIO and node.

Runs every selected scenario against every selected server, interleaved: each repeat
goes through the scenarios, and each scenario through the servers (in an order that
rotates from one repeat to the next), so that drift of the machine hits all servers
alike. Every run gets a freshly started server. Prints the medians with their ratios to
bare python-socketio and writes the raw results (JSON) and a chart (PNG).

    python bench/run.py                 # the full run, into bench/results/
    python bench/run.py --quick         # about a minute, into bench/results/tmp/
    python bench/run.py --servers sockevents,python-socketio --scenarios throughput-50
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from catalog import BASELINE, BENCH, SCENARIOS, SERVERS, Scenario, ServerSpec
from procs import BenchError, ProcessPair, ServerProcess, raise_fd_limit, run_loadgen
from redis_server import missing as redis_missing
from redis_server import redis_server
from report import chart, notes, summarize, table, write_json

NODE_MODULES = BENCH / "node_modules"


def _select(kind: str, wanted: str | None, known: tuple[Any, ...]) -> list[Any]:
    if not wanted:
        return list(known)
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    by_name = {item.name: item for item in known}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        choices = ", ".join(by_name)
        raise SystemExit(f"unknown {kind}: {', '.join(unknown)} (choose from {choices})")
    return [item for item in known if item.name in names]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short repeat (about a minute)")
    parser.add_argument(
        "--servers", help="comma-separated servers: " + ", ".join(s.name for s in SERVERS)
    )
    parser.add_argument(
        "--scenarios", help="comma-separated scenarios: " + ", ".join(s.name for s in SCENARIOS)
    )
    parser.add_argument(
        "--repeats", type=int, help="repeats of every scenario (default 3, 1 with --quick)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for the JSON and PNG (default bench/results, or bench/results/tmp "
        "with --quick)",
    )
    return parser.parse_args(argv)


def ensure_node_modules() -> None:
    """Install the load generator's and the node server's npm packages when they are missing."""
    if (NODE_MODULES / "socket.io").is_dir():
        return
    print("installing npm packages for bench/ ...", file=sys.stderr)
    subprocess.run(
        ["npm", "install", "--prefix", str(BENCH), "--no-audit", "--no-fund", "--loglevel=error"],
        check=True,
    )


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _node_package_version(name: str) -> str | None:
    try:
        return json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def environment() -> dict[str, Any]:
    """Describe the machine and the software the figures were measured with."""
    node = shutil.which("node")
    node_version = (
        subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
        if node
        else None
    )
    return {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "node": node_version,
        "packages": {
            name: _version(name)
            for name in (
                "python-socketio",
                "python-engineio",
                "flask-socketio",
                "flask",
                "gevent",
                "gevent-websocket",
                "blinker",
            )
        },
        "npm_packages": {"socket.io": _node_package_version("socket.io")},
    }


def run_one(server: ServerSpec, scenario: Scenario, quick: bool) -> dict[str, Any]:
    """Start ``server``, run ``scenario`` against it, stop it, and return the figures.

    :raises BenchError: when the server does not start (the run is not attempted).
    """
    with contextlib.ExitStack() as stack:
        process: ServerProcess | ProcessPair
        if scenario.message_queue:
            env = {"BENCH_MESSAGE_QUEUE": stack.enter_context(redis_server())}
            sender = stack.enter_context(ServerProcess(server, env=env))
            receiver = stack.enter_context(ServerProcess(server, env=env))
            process = ProcessPair(sender, receiver)
            spec = scenario.loadgen_spec(receiver.url, quick)
            spec["trigger_url"] = sender.url
        else:
            process = stack.enter_context(ServerProcess(server))
            spec = scenario.loadgen_spec(process.url, quick)
        try:
            measured = run_loadgen(process, spec)
        except BenchError as exc:
            error = str(exc)
            if not process.alive():
                error += "\nserver died:\n" + process.stderr_tail()
            return {"ok": False, "error": error, "spec": spec}
    result, samples = measured["result"], measured["samples"]
    metrics = {m.key: m.derive(result, samples) for m in scenario.metrics}
    return {
        "ok": True,
        "error": None,
        "spec": spec,
        "result": result,
        "samples": samples,
        "metrics": metrics,
    }


def _headline(scenario: Scenario, outcome: dict[str, Any]) -> str:
    if not outcome["ok"]:
        return "FAILED: " + outcome["error"].splitlines()[0]
    metric = scenario.metrics[0]
    value = outcome["metrics"].get(metric.key)
    shown = f"{value:,.2f}" if value is not None else "—"
    cpu = outcome["samples"]["server_cpu_util"]
    client = outcome["result"].get("client_cpu_util") or 0.0
    others = outcome["samples"]["other_cpu_util"]
    return (
        f"{metric.label} {shown} {metric.unit}  "
        f"(CPU: server {cpu:.0%}, loadgen {client:.0%}, others {others:.0%})"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit status."""
    args = parse_args(argv)
    servers: list[ServerSpec] = _select("servers", args.servers, SERVERS)
    scenarios: list[Scenario] = _select("scenarios", args.scenarios, SCENARIOS)
    if args.quick and not args.scenarios:
        scenarios = [s for s in scenarios if s.in_quick]
    repeats = args.repeats or (1 if args.quick else 3)
    out = args.out or (BENCH / "results" / ("tmp" if args.quick else ""))
    if shutil.which("node") is None:
        raise SystemExit("the load generator needs node (v18 or later) on PATH")
    ensure_node_modules()
    fd_limit = raise_fd_limit()

    skipped: dict[str, str] = {}
    status: dict[str, str] = {}  # "scenario/server" -> the word shown in a cell not run
    not_run: list[str] = []
    for server in servers:
        reason = server.missing()
        if reason:
            skipped[server.name] = reason
    runs: list[dict[str, Any]] = []
    started_once: set[str] = set()
    context = environment()
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc)
    print(
        f"{len(scenarios)} scenarios x {len(servers)} servers x {repeats} repeats"
        f"{' (quick)' if args.quick else ''}; open files limit {fd_limit}",
        file=sys.stderr,
    )
    for repeat in range(repeats):
        shift = repeat % len(servers)
        order = servers[shift:] + servers[:shift]
        for scenario in scenarios:
            for server in order:
                if server.name in skipped:
                    continue
                reason = server.cannot_run(scenario) or (
                    redis_missing() if scenario.message_queue else None
                )
                if reason:
                    if f"{scenario.name}/{server.name}" not in status:
                        status[f"{scenario.name}/{server.name}"] = "n/a"
                        not_run.append(f"{server.name} not run in {scenario.name}: {reason}")
                    continue
                began = time.monotonic()
                try:
                    outcome = run_one(server, scenario, args.quick)
                except BenchError as exc:
                    if server.name not in started_once:
                        skipped[server.name] = f"did not start: {exc}"
                        print(
                            f"[{repeat + 1}/{repeats}] {server.name} did not start, skipped:\n"
                            f"{exc}",
                            file=sys.stderr,
                        )
                        continue
                    # It started before: count this as a failed run and try it again later.
                    outcome = {"ok": False, "error": f"did not start: {exc}"}
                started_once.add(server.name)
                outcome.update(
                    repeat=repeat,
                    scenario=scenario.name,
                    server=server.name,
                    elapsed_s=time.monotonic() - began,
                )
                runs.append(outcome)
                print(
                    f"[{repeat + 1}/{repeats}] {scenario.name:<14} {server.name:<16} "
                    f"{outcome['elapsed_s']:5.1f} s  {_headline(scenario, outcome)}",
                    file=sys.stderr,
                )

    summary = summarize(runs)
    status.update({name: "skipped" for name in skipped})
    elapsed = time.monotonic() - started
    print()
    print(
        f"Medians of {repeats} repeat(s); in brackets, the ratio to {BASELINE}; "
        "↑ higher is better, ↓ lower is better."
    )
    print()
    print(table(summary, scenarios, servers, status))
    for note in not_run + notes(runs, skipped):
        lines = note.strip().splitlines()
        print("note: " + " ... ".join(lines[:1] + lines[-1:] if len(lines) > 1 else lines))
    stamp = started_at.strftime("%Y-%m-%d %H:%M UTC")
    name = "quick" if args.quick else "bench"
    document = {
        "started_at": started_at.isoformat(),
        "elapsed_s": elapsed,
        "quick": args.quick,
        "repeats": repeats,
        "baseline": BASELINE,
        "environment": context,
        "servers": {
            s.name: {"label": s.label, "command": list(s.command), "skipped": skipped.get(s.name)}
            for s in servers
        },
        "scenarios": {
            s.name: {"description": s.description, "spec": s.loadgen_spec("", args.quick)}
            for s in scenarios
        },
        "summary": summary,
        "runs": runs,
    }
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    write_json(json_path, document)
    title = (
        f"Socket.IO servers on {document['environment']['cpus']} cores, {stamp}: medians of "
        f"{repeats} repeat(s), whiskers min-max, ratios to {BASELINE}"
    )
    chart(png_path, summary, scenarios, servers, title)
    print(f"\n{len(runs)} runs in {elapsed:.0f} s; wrote {json_path} and {png_path}")
    return 0 if runs and all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
