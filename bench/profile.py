"""Profile one benchmark server during one scenario with py-spy, as a text summary.

    .venv/bin/python bench/profile.py --server sockevents --scenario fanout-1000 \\
        --out bench/results/profiles/fanout-1000-sockevents.txt

starts the server as ``bench/run.py`` does (:class:`procs.ServerProcess`), records it
with ``py-spy record --pid`` (``--format raw``: collapsed stacks) during the load
generator's measured window only (connecting and warming up are left out), with the
``--quick`` bounds unless ``--full``, and writes a summary: the header names the
command, then the self time by function and line (where the CPU is spent) and the
inclusive time by function (what the time is spent under). ``--raw FILE`` keeps
py-spy's collapsed stacks too.

py-spy samples from outside the process without stopping it (``--nonblocking``), so
the server's figures printed at the end are close to, but not, those of a plain run.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from catalog import SCENARIOS, SERVERS, ServerSpec
from procs import BenchError, Sample, ServerProcess, raise_fd_limit, run_loadgen


class RecordedServer(ServerProcess):
    """A server that py-spy records during the load generator's window only.

    The load generator's start and end marks (where the harness samples the
    server) start and stop the recorder, so connecting the clients and the
    warm-up are not in the profile.
    """

    def __init__(self, spec: ServerSpec, recorder: list[str]) -> None:
        super().__init__(spec)
        self._recorder_command = recorder
        self._recorder: subprocess.Popen[bytes] | None = None
        self._marks = 0

    def sample(self) -> Sample:
        """Sample the server, and start py-spy at the first mark, stop it at the second."""
        sample = super().sample()
        self._marks += 1
        if self._marks == 1 and self._proc is not None:
            self._recorder = subprocess.Popen(
                [*self._recorder_command, str(self._proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.2)  # py-spy attaches before the window's load starts
        elif self._marks == 2:
            self.stop_recording()
        return sample

    def stop_recording(self) -> None:
        """Stop py-spy (SIGINT: it writes the stacks it has), if it is recording."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=30)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, choices=[s.name for s in SERVERS])
    parser.add_argument("--scenario", required=True, choices=[s.name for s in SCENARIOS])
    parser.add_argument("--full", action="store_true", help="the full bounds, not --quick's")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--out", type=Path, help="the summary (standard output if omitted)")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    parser.add_argument("--top", type=int, default=30, help="lines per section")
    parser.add_argument("--note", default="", help="a line added to the header")
    return parser.parse_args(argv)


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's ``--format raw`` output: stack (outermost first) -> samples."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def _function(frame: str) -> str:
    """``name (file.py:123)`` without the line: ``name (file.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarize(stacks: Counter[tuple[str, ...]], top: int) -> tuple[int, list[str]]:
    """The sample count and the summary lines of ``stacks``."""
    total = sum(stacks.values()) or 1
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        self_time[stack[-1]] += count
        for function in {_function(frame) for frame in stack[1:]}:  # [0] is the thread
            inclusive[function] += count
    lines = ["Self time (where the CPU is spent):"]
    lines += [f"  {100 * n / total:6.1f}%  {f}" for f, n in self_time.most_common(top)]
    lines += ["", "Inclusive time (what the CPU is spent under):"]
    lines += [f"  {100 * n / total:6.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return total, lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    raise_fd_limit()
    server = next(s for s in SERVERS if s.name == args.server)
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        command = [
            py_spy,
            "record",
            "--rate",
            str(args.rate),
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--pid",
        ]
        with RecordedServer(server, command) as process:
            try:
                outcome = run_loadgen(process, scenario.loadgen_spec(process.url, not args.full))
            except BenchError as exc:
                print(f"the scenario failed: {exc}", file=sys.stderr)
                return 1
            finally:
                process.stop_recording()
        if args.raw:
            args.raw.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(raw, args.raw)
        total, lines = summarize(read_collapsed(raw), args.top)
    figures = [
        f"{metric.label}: {value:.1f} {metric.unit}"
        for metric in scenario.metrics
        if (value := metric.derive(outcome["result"], outcome["samples"])) is not None
    ]
    command = " ".join(["bench/profile.py", *(argv if argv is not None else sys.argv[1:])])
    header = [
        f"py-spy samples of the {server.label} benchmark server during {scenario.name}",
        f"({'full' if args.full else 'quick'} bounds), its measured window only: {total} samples"
        f" at {args.rate} Hz.",
        f"Command: {command}",
        "Figures of this (sampled) run: " + "; ".join(figures),
    ]
    if args.note:
        header.append(args.note)
    text = "\n".join([*header, "", *lines]) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
