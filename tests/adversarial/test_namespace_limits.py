"""One transport holds at most ``max_namespaces`` namespaces.

A client opening 5,000 dynamic namespaces (``/games/*``) on one transport gets
the first ``max_namespaces`` and a ``too many namespaces`` connect error for
each of the others, published on the bus as a rejected connect; its CONNECTs
queue like events, so the probe is answered all along.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from flask_sockevents import EventKind, Outcome, SockEvents

from ._budget import Memory, abort
from ._raw import RawPolling
from ._wait import wait_for
from .conftest import Arena

GAMES = 5000
TOO_MANY = "too many namespaces"


def _games(sockevents: SockEvents) -> None:
    @sockevents.on("move", namespace="/games/*")
    def move(data: Any) -> Any:
        return data


def _answers(texts: list[str]) -> dict[str, list[str]]:
    """CONNECT answers (``40``) and connect errors (``44``) by kind, as namespaces."""
    answers: dict[str, list[str]] = {"40": [], "44": []}
    for text in texts:
        kind, _, rest = text.partition("/")
        if kind in answers:
            namespace, _, payload = rest.partition(",")
            answers[kind].append("/" + namespace)
            if kind == "44":
                assert json.loads(payload) == {"message": TOO_MANY}
    return answers


def _open_games_over_websocket(game: Arena) -> list[str]:
    ws = game.raw()
    ws.connect()
    ws.send_text(*(f"40/games/{n}," for n in range(GAMES)))
    texts = [ws.recv_text() for _ in range(GAMES)]
    abort(ws.sock)
    return texts


def _open_games_over_polling(game: Arena) -> list[str]:
    polling = RawPolling(game.url)
    polling.connect()
    texts: list[str] = []
    for first in range(0, GAMES, 100):
        body = "\x1e".join(f"40/games/{n}," for n in range(first, first + 100))
        assert polling.post(body).status_code == 200
        for _ in range(100):
            if len(texts) >= first + 100:
                break
            texts.extend(t for t in polling.get().split("\x1e") if t != "2")
    assert polling.post("1").status_code == 200
    return texts


@pytest.mark.parametrize(
    "open_games",
    [_open_games_over_websocket, _open_games_over_polling],
    ids=["websocket", "polling"],
)
def test_5000_namespaces_opened_by_one_transport_give_it_max_namespaces(
    arena: Any, open_games: Any
) -> None:
    game: Arena = arena(_games, max_message_size=1_000_000)
    baseline = game.connections()
    memory = Memory(game)

    texts = memory.probe_while(lambda: open_games(game))

    games = game.server.max_namespaces - 1  # the transport holds "/" too
    answers = _answers(texts)
    assert answers["40"] == [f"/games/{n}" for n in range(games)]
    assert answers["44"] == [f"/games/{n}" for n in range(games, GAMES)]
    connects = [e for e in game.of(EventKind.CONNECT) if e.namespace.startswith("/games/")]
    assert [e.outcome for e in connects[:games]] == [Outcome.UNHANDLED] * games
    assert {(e.outcome, e.reason) for e in connects[games:]} == {(Outcome.REJECTED, TOO_MANY)}

    def games_left() -> int:
        return sum(e.namespace.startswith("/games/") for e in game.of(EventKind.DISCONNECT))

    wait_for(lambda: games_left() == games)
    del connects
    memory.assert_back_once_gone(baseline)
    game.probe()


def test_a_namespace_left_makes_room_for_another(arena: Any) -> None:
    game: Arena = arena(_games, max_namespaces=2)
    ws = game.raw()
    ws.connect()  # "/" is the first

    ws.send_text("40/games/1,", "40/games/2,")
    first, second = ws.recv_text(), ws.recv_text()
    ws.send_text("41/,", "40/games/2,")
    third = ws.recv_text()

    assert first.startswith('40/games/1,{"sid":')
    assert second == '44/games/2,{"message":"too many namespaces"}'
    assert third.startswith('40/games/2,{"sid":')
    game.probe()
