"""The connection limits: where they come from, how addresses are counted, the file limit."""

from __future__ import annotations

import resource
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from flask import Flask

from flask_sockevents import SockEvents
from flask_sockevents.connections import (
    FILE_HEADROOM,
    ConnectionGuard,
    ConnectionLimits,
    GuardedWSGIServer,
    address_key,
)
from flask_sockevents.serving import make_server
from flask_sockevents.testing import LiveServer

from ._support import TIMEOUT, command_or_skip, server_closed, wait_for


def test_the_defaults_fit_under_ulimit_n_1024() -> None:
    limits = ConnectionLimits()

    assert (limits.header_timeout, limits.body_timeout) == (10.0, 30.0)
    assert limits.max_http_connections == 1000
    assert limits.max_http_connections + FILE_HEADROOM <= 1024
    assert limits.max_http_connections_per_address == 100


def test_the_limits_are_sockevents_options_and_config_keys() -> None:
    app = Flask(__name__)
    app.config.update(SOCKEVENTS_MAX_HTTP_CONNECTIONS=500, SOCKEVENTS_BODY_TIMEOUT=5)
    sockevents = SockEvents(app, header_timeout=3, max_http_connections=900, max_message_size=10)

    assert sockevents.connection_limits == ConnectionLimits(
        header_timeout=3,
        body_timeout=5,
        max_http_connections=500,
        max_http_connections_per_address=100,
        max_body_buffer=10,
    )


def test_make_server_takes_the_apps_limits_and_its_own_overrides() -> None:
    app = Flask(__name__)
    SockEvents(app, header_timeout=3, max_http_connections_per_address=7)

    server = make_server(app, port=0, header_timeout=1, max_http_connections_per_address=None)

    assert isinstance(server, GuardedWSGIServer)
    assert server.connection_limits.header_timeout == 1
    assert server.connection_limits.max_http_connections_per_address is None


def test_an_app_without_sockevents_gets_the_defaults() -> None:
    assert ConnectionLimits.of(Flask(__name__)) == ConnectionLimits()


@pytest.mark.parametrize("name", ["header_timeout", "max_http_connections_per_address"])
def test_zero_means_no_limit(name: str) -> None:
    assert getattr(ConnectionLimits(**{name: 0}), name) is None


@pytest.mark.parametrize("value", [-1, True])
def test_a_negative_or_boolean_limit_is_refused_with_its_name(value: object) -> None:
    with pytest.raises(ValueError, match="body_timeout must be a non-negative number"):
        ConnectionLimits(body_timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        (("192.0.2.7", 5000), "192.0.2.7"),
        (("::ffff:192.0.2.7", 5000, 0, 0), "192.0.2.7"),
        (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "2001:0db8:0001:0002::/64"),
        (("2001:db8:1:2:bbbb::9", 5000, 0, 0), "2001:0db8:0001:0002::/64"),
        ("", None),  # a Unix-domain peer has no address
    ],
)
def test_peers_are_counted_by_ipv4_address_or_ipv6_prefix(address: object, key: object) -> None:
    assert address_key(address) == key


def test_the_guard_refuses_past_each_cap_and_admits_again_once_released() -> None:
    guard = ConnectionGuard(
        ConnectionLimits(max_http_connections=3, max_http_connections_per_address=2)
    )
    first, second = ("192.0.2.1", 1), ("192.0.2.1", 2)

    assert guard.admit(first) and guard.admit(second)
    assert not guard.admit(("192.0.2.1", 3))
    assert guard.admit(("192.0.2.2", 1))
    assert not guard.admit(("192.0.2.3", 1))
    guard.release(first)
    assert guard.admit(("192.0.2.1", 4))
    assert guard.stats()["closed"] == {
        "max_http_connections_per_address": 1,
        "max_http_connections": 1,
    }


@pytest.fixture
def open_file_limit_512() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("open_file_limit_512")
def test_the_total_is_lowered_to_fit_the_open_file_limit(caplog: pytest.LogCaptureFixture) -> None:
    fitted = ConnectionLimits().fitted_to_open_file_limit()

    assert fitted.max_http_connections == 512 - FILE_HEADROOM
    assert "max_http_connections lowered from 1000 to 488" in caplog.text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, made by ``openssl``."""
    openssl = command_or_skip("openssl", installed_by_make=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [openssl, *request, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    return str(cert), str(key)


def test_a_tls_handshake_that_never_starts_is_cut_at_header_timeout(
    certificate: tuple[str, str],
) -> None:
    cert, key = certificate
    app = Flask(__name__)
    SockEvents(app)
    with LiveServer(app, certfile=cert, keyfile=key, header_timeout=1) as live:
        silent = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
        wait_for(lambda: server_closed(silent), message="the silent TLS socket is still open")
        silent.close()

        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        raw = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
        with context.wrap_socket(raw) as tls:
            tls.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(4096).startswith(b"HTTP/1.1 200")


def test_a_request_cut_off_in_its_headers_never_reaches_the_app() -> None:
    app = Flask(__name__)
    sockevents = SockEvents(app)
    with LiveServer(app) as live:
        sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
        sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        sock.shutdown(socket.SHUT_WR)

        assert sock.recv(4096) == b""  # closed without an answer
        sock.close()
        assert sockevents.server is not None
        assert sockevents.server.eio.sockets == {}  # no session was opened


def test_a_large_body_the_app_reads_slowly_ends_the_connection_at_body_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past max_message_size the app reads the body itself, under the same deadline."""
    app = Flask(__name__)
    SockEvents(app, max_message_size=100, body_timeout=1)
    outcomes: list[str] = []

    @app.post("/upload")
    def upload() -> str:
        try:
            return str(len(flask.request.get_data()))
        except BaseException as exc:
            outcomes.append(type(exc).__name__)
            raise

    with LiveServer(app) as live:
        sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        sock.sendall(head + b"x" * 200)

        assert sock.recv(4096) == b""
        sock.close()
    assert outcomes == ["BodyTimeout"]
    assert "Exception on /upload" not in caplog.text  # a client error, not the app's


@pytest.mark.usefixtures("open_file_limit_512")
def test_no_total_limit_still_means_within_the_open_file_limit() -> None:
    fitted = ConnectionLimits(max_http_connections=None).fitted_to_open_file_limit()

    assert fitted.max_http_connections == 512 - FILE_HEADROOM
