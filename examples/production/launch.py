"""Start Redis, two chat processes and (if installed) nginx on loopback; stop them all on Ctrl-C.

Usage, from the repository root::

    python examples/production/launch.py                 # ports 6379, 5001, 5002, 8080
    python examples/production/launch.py --redis-port 6390 --ports 5101 5102 --no-nginx

Each process is started with its own command line (printed), its output
going to ``examples/production/run/<name>.log``. On Ctrl-C or SIGTERM every
process gets SIGTERM, by PID, the app processes first (each finishes its
running handlers and disconnects its clients), then nginx and Redis; one
still running after ``--stop-timeout`` seconds gets SIGKILL. If a process
dies on its own, the others are stopped the same way.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RUN = HERE / "run"
#: No snapshots, no append-only file: the queue keeps nothing.
REDIS_OPTIONS = ("--save", "", "--appendonly", "no")
SERVE_APP = (sys.executable, "-m", "flask_sockevents", "examples/production/wsgi.py:app")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Child:
    """One started process, known by its PID."""

    def __init__(self, name: str, argv: list[str], port: int, **popen: Any) -> None:
        self.name = name
        self.port = port
        print(f"[{name}] {shlex.join(argv)}", flush=True)
        with open(RUN / f"{name}.log", "ab") as log:
            self.popen = subprocess.Popen(
                argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, **popen
            )

    def wait_listening(self, timeout: float) -> None:
        """Wait until the port accepts connections.

        :raises RuntimeError: if the process exits or ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: see {RUN / (self.name + '.log')}")
            time.sleep(0.05)
        print(f"[{self.name}] pid {self.popen.pid} on 127.0.0.1:{self.port}", flush=True)

    def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"[{self.name}] still running after {timeout} s: SIGKILL", flush=True)
                self.popen.kill()
                self.popen.wait()
        print(f"[{self.name}] exited with {self.popen.returncode}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Start everything, wait for Ctrl-C or a death, stop everything; 0 if all went well."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--ports", type=int, nargs="+", default=[5001, 5002])
    parser.add_argument("--proxy-port", type=int, default=8080, help="nginx's port")
    parser.add_argument("--no-nginx", action="store_true", help="do not start nginx")
    parser.add_argument("--stop-timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    RUN.mkdir(exist_ok=True)

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 1
    queue = f"redis://127.0.0.1:{args.redis_port}/0"
    children: list[Child] = []
    apps: list[Child] = []
    # Children ignore Ctrl-C from the terminal: this launcher stops them, in order.
    detached = {"start_new_session": True}
    try:
        redis = Child(
            "redis",
            [redis_server, "--bind", "127.0.0.1", "--port", str(args.redis_port), *REDIS_OPTIONS],
            args.redis_port,
            **detached,
        )
        children.append(redis)
        redis.wait_listening(10)
        for index, port in enumerate(args.ports, start=1):
            app = Child(
                f"app-{index}",
                [*SERVE_APP, "--host", "127.0.0.1", "--port", str(port)],
                port,
                env={**os.environ, "SOCKEVENTS_MESSAGE_QUEUE": queue},
                **detached,
            )
            children.append(app)
            apps.append(app)
        for app in apps:
            app.wait_listening(60)
        nginx = shutil.which("nginx")
        if nginx and not args.no_nginx:
            config = _nginx_config(args.ports, args.proxy_port)
            proxy = Child(
                "nginx",
                [nginx, "-p", str(RUN), "-c", str(config), "-g", "daemon off;"],
                args.proxy_port,
                **detached,
            )
            children.append(proxy)
            proxy.wait_listening(10)
            print(f"chat on http://127.0.0.1:{args.proxy_port}/ (Ctrl-C stops)", flush=True)
        else:
            print(
                "nginx not started; the chat is on "
                + ", ".join(f"http://127.0.0.1:{port}/" for port in args.ports)
                + " (Ctrl-C stops)",
                flush=True,
            )
        while not stopping and all(child.popen.poll() is None for child in children):
            time.sleep(0.2)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
    finally:
        for child in [*apps, *(c for c in reversed(children) if c not in apps)]:
            child.stop(args.stop_timeout)
    return 0 if stopping and all(c.popen.returncode == 0 for c in children) else 1


def _nginx_config(ports: list[int], proxy_port: int) -> Path:
    """``nginx.conf`` with the given ports, written to the run directory."""
    text = (HERE / "nginx.conf").read_text()
    text = text.replace(
        "server 127.0.0.1:5001;\n        server 127.0.0.1:5002;",
        "\n        ".join(f"server 127.0.0.1:{port};" for port in ports),
    )
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{proxy_port};")
    path = RUN / "nginx.conf"
    path.write_text(text)
    return path


if __name__ == "__main__":
    sys.exit(main())
