"""Cross-origin handshakes: refused unless the origin is listed; ``"*"`` is warned of."""

from __future__ import annotations

from typing import Any

import pytest

from flask_sockevents.extension import CORSWarning

from ._raw import RawPolling
from .conftest import Arena

EVIL = {"Origin": "http://evil.example"}


def test_a_cross_origin_polling_handshake_is_refused_by_default(arena: Any) -> None:
    game: Arena = arena()

    refused = RawPolling(game.url, headers=EVIL).opened

    assert refused.status_code == 400
    assert "Not an accepted origin" in refused.text
    assert game.connections() == 1  # the probe's
    game.probe()


def test_a_cross_origin_websocket_handshake_is_refused_by_default(arena: Any) -> None:
    """Refused before the upgrade, with the HTTP answer a polling client gets."""
    game: Arena = arena()

    refused = game.raw(headers=EVIL, expect_upgrade=False)

    assert refused.status == 400
    assert refused.read_body() == b"Not an accepted origin."
    assert game.connections() == 1
    game.probe()


def test_a_listed_origin_may_connect_over_both_transports(arena: Any) -> None:
    # the probe polls: without an Origin header it is not a cross-origin client
    game: Arena = arena(
        cors_allowed_origins=["http://evil.example"], probe={"transports": ["polling"]}
    )

    polling = RawPolling(game.url, headers=EVIL)
    polling.connect()
    game.raw(headers=EVIL).connect()

    assert polling.opened.headers["Access-Control-Allow-Origin"] == "http://evil.example"
    assert game.connections() == 3
    game.probe()


def test_every_origin_allowed_is_warned_of_with_a_cors_warning(arena: Any) -> None:
    with pytest.warns(CORSWarning, match="cors_allowed_origins='\\*'"):
        game: Arena = arena(cors_allowed_origins="*")

    game.raw(headers=EVIL).connect()

    game.probe()
