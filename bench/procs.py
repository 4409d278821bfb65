"""The processes of one measurement: a reference server and the load generator.

:class:`ServerProcess` starts a server script, learns its port from the JSON line it
prints, samples its CPU time and RSS with psutil, and stops it by its PID.
:func:`run_loadgen` runs ``loadgen.js`` against it and samples the server whenever the
load generator marks the start or the end of its measured window.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

import psutil
from catalog import BENCH, SERVERS_DIR, ServerSpec

LOADGEN = BENCH / "loadgen.js"
ROOT = BENCH.parent


class BenchError(RuntimeError):
    """A server or the load generator did not do its part; the message says why."""


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit (children inherit it).

    :returns: the new soft limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _tail(stream: IO[bytes], limit: int = 1500) -> str:
    stream.flush()
    stream.seek(0)
    text = stream.read().decode(errors="replace").strip()
    return text[-limit:] if text else "(no output)"


@dataclass(frozen=True)
class Sample:
    """The server at one instant: wall time, its CPU seconds (user + system), its RSS bytes,
    and the CPU seconds the whole machine has been busy (all processes, all cores)."""

    wall: float
    cpu_s: float
    rss: int
    machine_busy_s: float


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class ServerProcess:
    """A reference server running as a child process on 127.0.0.1 and an ephemeral port.

    Use as a context manager: the server is started on entry and stopped on exit.

    :param spec: the server to run.
    :param start_timeout: seconds to wait for the server to print its port.
    :param env: variables added to its environment (``BENCH_MESSAGE_QUEUE``...).
    :raises BenchError: on entry, when the server exits or stays silent; the message
        carries the end of its output.
    """

    def __init__(
        self, spec: ServerSpec, start_timeout: float = 30.0, env: dict[str, str] | None = None
    ) -> None:
        self.spec = spec
        self.start_timeout = start_timeout
        self.env = env or {}
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)

    def __enter__(self) -> ServerProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        self._proc = subprocess.Popen(
            self.spec.command,
            cwd=str(SERVERS_DIR),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            env=env,
        )
        try:
            self.port = self._wait_for_port()
            self._ps = psutil.Process(self._proc.pid)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_port(self) -> int:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            self._stdout.seek(0)
            line = self._stdout.readline()
            if line.endswith(b"\n"):
                try:
                    return int(json.loads(line)["port"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise BenchError(f"printed {line[:200]!r} instead of its port") from exc
            if self._proc.poll() is not None:
                raise BenchError(
                    f"exited with status {self._proc.returncode} before listening:\n"
                    + _tail(self._stderr)
                )
            time.sleep(0.05)
        raise BenchError(
            f"did not print its port within {self.start_timeout:.0f} s:\n" + _tail(self._stderr)
        )

    @property
    def url(self) -> str:
        """The Engine.IO websocket URL of the server."""
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"

    def sample(self) -> Sample:
        """Read the server's CPU time and RSS now."""
        assert self._ps is not None
        with self._ps.oneshot():
            cpu = self._ps.cpu_times()
            rss = self._ps.memory_info().rss
        return Sample(time.monotonic(), cpu.user + cpu.system, rss, _machine_busy_s())

    def alive(self) -> bool:
        """Tell whether the server process is still running."""
        return self._proc is not None and self._proc.poll() is None

    def stderr_tail(self) -> str:
        """The end of what the server wrote on standard error."""
        return _tail(self._stderr)

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after five seconds."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._stdout.close()
        self._stderr.close()


class ProcessPair:
    """Two server processes measured as one: CPU times and RSS are their sums.

    The message-queue scenario's clients connect to :attr:`receiver`; the client that
    triggers each broadcast connects to :attr:`sender`.
    """

    def __init__(self, sender: ServerProcess, receiver: ServerProcess) -> None:
        self.sender = sender
        self.receiver = receiver

    def sample(self) -> Sample:
        """Read both processes now: the sums of their CPU times and of their RSS."""
        first, second = self.sender.sample(), self.receiver.sample()
        return Sample(
            second.wall, first.cpu_s + second.cpu_s, first.rss + second.rss, second.machine_busy_s
        )

    def alive(self) -> bool:
        """Tell whether both processes are still running."""
        return self.sender.alive() and self.receiver.alive()

    def stderr_tail(self) -> str:
        """The end of what each process wrote on standard error."""
        return f"A: {self.sender.stderr_tail()}\nB: {self.receiver.stderr_tail()}"


def run_loadgen(server: ServerProcess | ProcessPair, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario of the load generator against ``server``.

    The server is sampled at each mark the load generator prints; the returned dict holds
    the load generator's result under ``"result"`` and the samples under ``"samples"``
    (``server_cpu_s``, ``server_rss_delta_bytes``, ``window_s``, ``server_cpu_util``, and
    ``other_cpu_util``: the cores that processes other than the server and the load
    generator kept busy during the window, a measure of how noisy the machine was).

    :raises BenchError: when the load generator fails, stops early, or overruns its
        deadline (it is then killed).
    """
    deadline = time.monotonic() + float(spec.get("deadline", 120)) + 10
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            ["node", str(LOADGEN), json.dumps(spec)],
            cwd=str(BENCH),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert proc.stdin is not None and proc.stdout is not None
        marks: dict[str, Sample] = {}
        outcome: dict[str, Any] | None = None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        buffer = b""
        try:
            while outcome is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"load generator overran its deadline in {spec['scenario']}")
                if not selector.select(timeout=min(remaining, 1.0)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise BenchError(
                        f"load generator exited with status {proc.wait()}:\n" + _tail(stderr)
                    )
                buffer += chunk
                while b"\n" in buffer and outcome is None:
                    line, buffer = buffer.split(b"\n", 1)
                    message = json.loads(line)
                    if "mark" in message:
                        marks[message["mark"]] = server.sample()
                        proc.stdin.write(b"go\n")
                        proc.stdin.flush()
                    elif "result" in message:
                        outcome = message["result"]
                    elif "error" in message:
                        raise BenchError(f"load generator: {message['error']}")
        finally:
            selector.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()
    if "start" not in marks or "end" not in marks:
        raise BenchError("load generator did not mark its measured window")
    start, end = marks["start"], marks["end"]
    window = end.wall - start.wall
    cpu = end.cpu_s - start.cpu_s
    others = end.machine_busy_s - start.machine_busy_s - cpu - float(outcome["client_cpu_s"])
    samples = {
        "server_cpu_s": cpu,
        "server_rss_delta_bytes": float(end.rss - start.rss),
        "server_rss_before_bytes": float(start.rss),
        "server_rss_after_bytes": float(end.rss),
        "window_s": window,
        "server_cpu_util": cpu / window if window > 0 else 0.0,
        "other_cpu_util": max(0.0, others / window) if window > 0 else 0.0,
    }
    return {"result": outcome, "samples": samples}
