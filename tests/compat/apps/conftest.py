"""Fixtures for the app-compatibility suite: each app, written for Flask-SocketIO, run twice.

An app in this directory is written the way apps written for Flask-SocketIO
are (``from flask_socketio import SocketIO, emit``). Every test runs once per
``implementation``: as written, against Flask-SocketIO 5.7, and with that
import line changed to ``flask_sockevents`` (the only change the migration
asks for), asserting the same outcome, so any difference is a red test.

- ``load_app(name)`` imports the app in-process (for the test client and the
  Flask test client);
- ``serve_app(name, *args)`` runs it as ``python <name>.py PORT *args`` (its
  own ``socketio.run(...)``) in a process of its own on a free loopback port,
  and returns its URL; the process group is ended in teardown;
- ``self_signed_certificate`` is a certificate and key for 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import urllib3

from flask_sockevents.testing import wait_for

APPS = Path(__file__).parent
ROOT = APPS.parents[2]
IMPLEMENTATIONS = ["flask_socketio", "flask_sockevents"]


def app_source(name: str, implementation: str) -> str:
    """The source of app ``name``, with its import line changed for ``implementation``."""
    source = (APPS / f"{name}.py").read_text()
    if implementation == "flask_sockevents":
        swapped = source.replace("from flask_socketio import", "from flask_sockevents import")
        assert swapped != source, f"{name}.py does not import flask_socketio"
        return swapped
    return source


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    """The Socket.IO extension the app runs on: Flask-SocketIO or flask_sockevents."""
    return str(request.param)


@dataclass
class LoadedApp:
    """An app module imported for one implementation, with the warnings its import raised."""

    module: types.ModuleType
    warnings: list[warnings.WarningMessage] = field(default_factory=list)


@pytest.fixture
def load_app(implementation: str) -> Iterator[Callable[[str], LoadedApp]]:
    """Import app ``name`` in-process for the current implementation."""
    names: list[str] = []

    def load(name: str) -> LoadedApp:
        module_name = f"compat_app_{name}_{implementation}"
        module = types.ModuleType(module_name)
        module.__file__ = str(APPS / f"{name}.py")
        sys.modules[module_name] = module
        names.append(module_name)
        code = compile(app_source(name, implementation), module.__file__, "exec")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(code, module.__dict__)
        return LoadedApp(module, list(caught))

    yield load
    for module_name in names:
        sys.modules.pop(module_name, None)


def free_port() -> int:
    """A loopback port nothing listens on, outside the range the kernel hands out itself.

    An app run with the reloader closes and binds its port again at each
    restart; a port from the ephemeral range could be taken in between by any
    process's outgoing connection on this shared machine.
    """
    port_range = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(port_range.read_text().split()[0]) if port_range.exists() else 32768
    for port in random.sample(range(max(1024, low - 12_000), low), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _answers(url: str) -> bool:
    try:  # only "is it up?": the tests verify certificates themselves
        return requests.get(url, timeout=1, verify=False).ok
    except requests.RequestException:
        return False


@pytest.fixture
def serve_app(implementation: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Run app ``name`` as a script (its own ``socketio.run``) and return its base URL.

    The app must answer ``GET /pid``; the fixture waits for it before returning.
    ``scheme="https"`` for an app serving TLS.
    """
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str, scheme: str = "http") -> str:
        script = tmp_path / f"{name}.py"
        script.write_text(app_source(name, implementation))
        port = free_port()
        log_path = tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(script), str(port), *args],
                cwd=tmp_path,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL,  # not a terminal, as under a process manager
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the reloader's child too
            )
        processes.append(process)
        url = f"{scheme}://127.0.0.1:{port}"
        wait_for(
            lambda: process.poll() is not None or _answers(url + "/pid"),
            timeout=30,
            message=f"{name}.py did not answer on {url}",
        )
        if process.poll() is not None:
            pytest.fail(f"{name}.py exited with {process.returncode}:\n{log_path.read_text()}")
        return url

    with warnings.catch_warnings():  # the readiness probe does not verify certificates
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield start
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="session")
def self_signed_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(certfile, keyfile)``: a self-signed certificate for 127.0.0.1, made by openssl."""
    directory = tmp_path_factory.mktemp("tls")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(keyfile), "-out", str(certfile), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return certfile, keyfile
