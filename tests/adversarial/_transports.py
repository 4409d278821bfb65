"""One raw attacker on either transport, so that each attack runs on websocket and polling alike."""

from __future__ import annotations

import requests

from ._raw import TIMEOUT, RawPolling, RawWebSocket
from ._wait import wait_for
from .conftest import Arena

__all__ = ["TRANSPORTS", "Attacker"]

TRANSPORTS = ["websocket", "polling"]


class Attacker:
    """One raw transport, websocket or long-polling, sending packets without reading."""

    def __init__(self, arena: Arena, transport: str) -> None:
        self.transport = transport
        self.ws: RawWebSocket | None = None
        self.polling: RawPolling | None = None
        if transport == "websocket":
            self.ws = arena.raw()
            self.eio_sid = str(self.ws.open_packet["sid"])
        else:
            self.polling = RawPolling(arena.url)
            assert self.polling.eio_sid is not None
            self.eio_sid = self.polling.eio_sid

    def send(self, *packets: str) -> None:
        """Send Socket.IO packets: one frame each, or one POST for all of them."""
        if self.ws is not None:
            self.ws.send_text(*packets)
        else:
            assert self.polling is not None
            response = self.polling.post("\x1e".join(packets))
            assert response.status_code == 200, response.text

    def closed_by_server(self) -> list[str]:
        """Wait until the server ends the transport; return the messages it sent before."""
        if self.ws is not None:
            return self.ws.wait_closed()[1]
        assert self.polling is not None
        endpoint = self.polling.endpoint
        texts: list[str] = []

        def ended() -> bool:
            response = requests.get(endpoint, timeout=TIMEOUT)
            if response.status_code != 200:
                return True
            texts.extend(response.text.split("\x1e"))
            return "1" in texts

        wait_for(ended, message="the server did not close the polling transport")
        return texts

    def leave(self) -> None:
        """Go away: close the socket, or end the polling session with an Engine.IO CLOSE."""
        if self.ws is not None:
            self.ws.close()
        else:
            assert self.polling is not None
            self.polling.post("1")

    def refused_after_close(self) -> bool:
        """Whether a CONNECT sent on the closed transport is refused outright."""
        if self.ws is not None:
            try:
                self.ws.send_text("40/chat,")
                self.ws.sock.settimeout(TIMEOUT)
                return self.ws.sock.recv(1) == b""
            except OSError:
                return True
        assert self.polling is not None
        return self.polling.post("40/chat,").status_code == 400
