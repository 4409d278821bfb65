"""The production example's monitor: behind ProxyFix, with an explicit check by client address."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

WSGI = Path(__file__).resolve().parents[2] / "examples" / "production" / "wsgi.py"
ADMIN = "198.51.100.7"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``examples/production/wsgi.py`` imported with ``MONITOR_ALLOW`` set to one address."""
    monkeypatch.setenv("MONITOR_ALLOW", ADMIN)
    monkeypatch.setenv("SOCKEVENTS_MESSAGE_QUEUE", "redis://127.0.0.1:1/0")  # never reached
    spec = importlib.util.spec_from_file_location("production_wsgi", WSGI)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_allowed_client_address_relayed_by_nginx_opens_the_monitor(
    production: ModuleType,
) -> None:
    http = production.app.test_client()

    response = http.get("/sockevents/", headers={"X-Forwarded-For": ADMIN})

    assert response.status_code == 200


def test_another_client_relayed_by_nginx_is_refused(production: ModuleType) -> None:
    http = production.app.test_client()

    response = http.get("/sockevents/", headers={"X-Forwarded-For": "203.0.113.9"})

    assert response.status_code == 403


def test_a_direct_request_from_the_loopback_is_refused_too(production: ModuleType) -> None:
    http = production.app.test_client()

    assert http.get("/sockevents/").status_code == 403
