"""`python -m flask_sockevents` and `flask sockevents run`: patched first, stopped by PID."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flask_sockevents.cli import serve_command

from ._support import (
    APP,
    TIMEOUT,
    Process,
    Recorder,
    free_port,
    partial_request,
    serve_process,
    server_closed,
    wait_for,
)

FLASK_WITH_SOCKEVENTS = (
    "import sys\n"
    "from flask.cli import FlaskGroup\n"
    "from flask_sockevents.cli import sockevents_cli\n"
    "cli = FlaskGroup()\n"
    "cli.add_command(sockevents_cli)\n"
    "cli.main(args=sys.argv[1:], prog_name='flask')\n"
)


def test_python_m_patches_before_anything_imports_ssl(tmp_path: Path) -> None:
    server = serve_process("server", free_port(), tmp_path)
    try:
        client = Recorder(server.url)
        assert client.call("slow", 0.05) == ["done", 0.05]
        client.close()
    finally:
        assert server.terminate() == 0
    assert "serving on" in server.stderr()
    assert "MonkeyPatchWarning" not in server.stderr()


def test_python_m_serves_in_the_process_it_was_started_as(tmp_path: Path) -> None:
    server = serve_process("server", free_port(), tmp_path)
    try:
        client = Recorder(server.url)
        assert client.call("whoami") == server.pid
        client.close()
    finally:
        server.terminate()


def test_flask_sockevents_run_serves_the_app_of_flask_app(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-c", FLASK_WITH_SOCKEVENTS, "--app", APP, "sockevents", "run"]
    server = Process("flask", [*argv, "--port", str(port)], port, tmp_path)
    try:
        client = Recorder(server.url)
        assert client.call("whoami") == server.pid
        client.close()
    finally:
        assert server.terminate() == 0
    assert "MonkeyPatchWarning" not in server.stderr()


def test_sigint_stops_gracefully_too(tmp_path: Path) -> None:
    server = serve_process("server", free_port(), tmp_path)
    client = Recorder(server.url)
    try:
        server.popen.send_signal(signal.SIGINT)
        assert server.popen.wait(TIMEOUT) == 0
    finally:
        client.close()
        server.terminate()
    assert "SIGINT: stopping" in server.stderr()


def test_an_app_without_sockevents_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    result = CliRunner().invoke(serve_command, [f"{tmp_path / 'plain.py'}:app"])
    assert result.exit_code == 2
    assert "has no SockEvents" in result.output


@pytest.mark.parametrize(
    "option",
    [
        "--host",
        "--port",
        "--debug",
        "--reload",
        "--log-output",
        "--header-timeout",
        "--body-timeout",
        "--max-http-connections",
        "--max-http-connections-per-address",
    ],
)
def test_the_help_lists_the_serving_options(option: str) -> None:
    result = CliRunner().invoke(serve_command, ["--help"])
    assert option in result.output


def test_flask_sockevents_run_passes_a_limit_on_over_the_apps_option(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-c", FLASK_WITH_SOCKEVENTS, "--app", APP, "sockevents", "run"]
    app_option = {"SOCKEVENTS_TEST_CONFIG_SOCKEVENTS_HEADER_TIMEOUT": "60"}
    server = Process(
        "flask", [*argv, "--port", str(port), "--header-timeout", "1"], port, tmp_path, app_option
    )
    try:
        stalled = partial_request(port)
        wait_for(lambda: server_closed(stalled), message="the stalled request is still open")
        stalled.close()
    finally:
        assert server.terminate() == 0
    assert "header_timeout" in server.stderr()


def test_python_m_caps_the_sockets_of_one_address(tmp_path: Path) -> None:
    options = ("--max-http-connections-per-address", "2", "--header-timeout", "60")
    server = serve_process("server", free_port(), tmp_path, None, *options)
    held = [partial_request(server.port, source="127.0.0.3") for _ in range(2)]
    try:
        refused = partial_request(server.port, source="127.0.0.3")
        wait_for(lambda: server_closed(refused), message="a 3rd socket from 127.0.0.3 is open")
        refused.close()
        assert not any(server_closed(sock) for sock in held)
        client = Recorder(server.url)
        assert client.call("whoami") == server.pid
        client.close()
    finally:
        for sock in held:
            sock.close()
        assert server.terminate() == 0
