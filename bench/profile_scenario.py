"""Profile one benchmark server under one scenario with py-spy, as a text summary.

    .venv/bin/python bench/profile_scenario.py sockevents latency-1 --seconds 8 \
        --out bench/results/profiles/after-latency-1.txt

The server is started as ``bench/run.py`` starts it (see :mod:`procs`), the load
generator runs the scenario's spec with a longer window (``--seconds``) and no
marks, and ``py-spy record --format raw`` samples the server meanwhile. The
summary lists the functions with the most samples, by self time (the function
was on top of the stack) and by cumulative time (anywhere on the stack), each
as a share of all samples; the raw collapsed stacks are kept next to it
(``.folded``) when ``--keep-raw`` is given.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from catalog import SCENARIOS, SERVERS
from procs import BENCH, LOADGEN, ServerProcess

PY_SPY = Path(sys.executable).with_name("py-spy")


def summarize(folded: str, top: int) -> str:
    """Return the self and cumulative tables of a collapsed-stacks profile."""
    own: collections.Counter[str] = collections.Counter()
    cumulative: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            cumulative[frame] += count
    lines = [f"samples: {total}", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in own.most_common(top)]
    lines += ["", "cumul %  function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in cumulative.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    """``fn (/long/path/site-packages/pkg/mod.py:12)`` -> ``fn (pkg/mod.py:12)``."""
    name, _, where = frame.partition(" (")
    for marker in ("site-packages/", "flask_sockevents/", "lib/python3"):
        if marker in where:
            head = "flask_sockevents/" if marker == "flask_sockevents/" else ""
            where = head + where.split(marker, 1)[1]
            break
    return f"{name} ({where}" if where else name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("server", choices=[s.name for s in SERVERS])
    parser.add_argument("scenario", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--seconds", type=float, default=8.0, help="the measured window")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--clients", type=int, help="override the scenario's client count")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--keep-raw", action="store_true")
    parser.add_argument("--native", action="store_true", help="C frames too (py-spy --native)")
    args = parser.parse_args()
    server_spec = next(s for s in SERVERS if s.name == args.server)
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    with ServerProcess(server_spec) as server, tempfile.TemporaryDirectory() as tmp:
        spec = scenario.loadgen_spec(server.url, quick=False)
        spec["marks"] = False
        if "duration" in spec:
            spec["duration"] = args.seconds
            spec["count"] = 10**9
            spec["deadline"] = args.seconds + 60
        if args.clients:
            spec["clients"] = args.clients
        raw = Path(tmp) / "profile.folded"
        pid = server._proc.pid  # type: ignore[union-attr]
        spy = subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                str(args.rate),
                "--output",
                str(raw),
                *(["--native"] if args.native else ["--nonblocking"]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        loadgen = subprocess.run(
            ["node", str(LOADGEN), json.dumps(spec)],
            cwd=str(BENCH),
            capture_output=True,
            timeout=spec.get("deadline", 120) + 30,
            check=False,
        )
        spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
        spy.wait(timeout=60)
        folded = raw.read_text() if raw.exists() else ""
        if args.keep_raw:
            args.out.with_suffix(".folded").write_text(folded)
    result = loadgen.stdout.decode().strip().splitlines()[-1:] or ["(no result)"]
    header = (
        f"# py-spy record --format raw --rate {args.rate} --nonblocking, attached to the "
        f"{server_spec.label} server\n"
        f"# under {args.scenario} ({scenario.description}), window {args.seconds:g} s\n"
        f"# command: bench/profile_scenario.py {args.server} {args.scenario} "
        f"--seconds {args.seconds:g}{f' --clients {args.clients}' if args.clients else ''}\n"
        f"# load generator: {result[0][:300]}\n\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + summarize(folded, args.top))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
