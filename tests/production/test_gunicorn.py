"""The app under gunicorn's gevent-websocket worker, talking to a real python-socketio client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._support import Process, Recorder, free_port, wait_for

pytest.importorskip("gunicorn", reason="gunicorn is not installed (the test extra has it)")

WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    logs = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        WORKER,
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(Path(__file__).parent),
        "serverapp:app",
    ]
    server = Process("gunicorn", argv, port, logs)
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture
def client(gunicorn: Process) -> Iterator[Recorder]:
    recorder = Recorder(gunicorn.url)
    yield recorder
    recorder.close()


def test_a_gunicorn_worker_answers_events(gunicorn: Process, client: Recorder) -> None:
    worker_pid = client.call("whoami")
    assert isinstance(worker_pid, int)
    assert worker_pid != gunicorn.pid


def test_a_handler_can_sleep_cooperatively_and_acknowledge(client: Recorder) -> None:
    assert client.call("slow", 0.1) == ["done", 0.1]
    assert wait_for(lambda: client.started) == [0.1]


def test_a_server_emit_reaches_the_client(client: Recorder) -> None:
    assert client.call("broadcast", "hello") is True
    assert wait_for(lambda: client.news) == ["hello"]
