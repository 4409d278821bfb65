"""The Engine.IO server: python-engineio's, answering on the wire as node's reference server does.

The Socket.IO server (:mod:`flask_sockevents.server`) runs on
:class:`EngineIOServer`, which keeps python-engineio's transports and changes
what a client can observe where it differs from node's ``engine.io`` server
(the reference implementation the ``engine.io-protocol`` test suite checks):

1. the handshake advertises ``pingInterval`` and ``pingTimeout`` in exact
   milliseconds: python-engineio truncates the interval to whole seconds
   first, so ``ping_interval=0.3`` advertised 0, and a JavaScript client,
   expecting a ping every 0 ms, timed out between two of them;
2. a request without a ``transport`` or with one the server does not offer
   gets HTTP 400 (python-engineio took it for ``polling``), and so does a
   handshake by another method than GET (PUT got 405), and a request for a
   session already closed (a POST got 500);
3. a client that misses a pong is closed ``pingTimeout`` after the ping, so
   ``pingInterval + pingTimeout`` after its last sign of life (python-engineio's
   monitor only looks every ``pingTimeout``, so up to twice as late);
4. a CLOSE packet posted while a GET is pending answers that GET with a NOOP
   (python-engineio answered it with an empty body);
5. an upgrade to websocket writes one NOOP, to end a poll still pending
   (checked every 100 ms, as node does, so that the client has the probe's
   answer and stops polling first), and none on the websocket
   (python-engineio sent a NOOP at once, which could end the poll before the
   client stopped polling, another on the websocket when no poll was pending,
   and one more for an UPGRADE packet);
6. the server's :meth:`~EngineIOServer.disconnect` of one client never waits
   for that client;
7. a long-polling GET is answered with at most ``MAX_PACKETS_PER_POLL``
   (16) packets, the others on the next GETs, in order: python-engineio's
   client refuses a payload of more (``Too many packets in payload``) and
   drops the connection, the server never told, and python-engineio's server
   answered with every packet queued (more than 16 whenever a burst is
   queued between two polls).

Its handshake (``_handle_connect``) is python-engineio's with the socket class
and the advertised timings replaced: python-engineio creates its socket there
by module name, so there is no smaller hook. The socket's websocket transport
(``_websocket_handler``) is python-engineio 4.15's with the probe's NOOP
replaced by node's check (the NOOP is queued in the middle of that method) and
its writer greenlet by direct writes (:mod:`flask_sockevents.outbox`): a
packet is written from the greenlet that sends it when nothing waits before
it, and a writer greenlet runs only while the client leaves bytes unread.
The heartbeat runs on loop timers, not on a greenlet per session. Its reader
receives every whole message of what one read brought, in turn
(:meth:`EngineIOSocket._read_websocket`), and hands a text MESSAGE to the
server's message handler without python-engineio's packet object
(:meth:`EngineIOSocket.receive_message`).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections import deque
from typing import Any

import engineio
import gevent
import gevent.queue
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.socket import Socket as _Socket

from .outbox import Outbox, direct_socket, packet_frame, websocket_frame, write_now

__all__ = ["EngineIOServer", "EngineIOSocket"]

_NOOP = eio_packet.NOOP

#: Seconds between two checks for a poll to end during an upgrade (node's value).
UPGRADE_CHECK_INTERVAL = 0.1

#: Packets in one answer to a long-polling GET, at most: python-engineio's
#: client (``engineio.payload.Payload.max_decode_packets``, 16) refuses a
#: payload of more and drops the connection.
MAX_PACKETS_PER_POLL = 16


def _nothing() -> None:
    pass


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def query_fields(query: str) -> dict[str, str]:
    """The first value of each field of a URL query string, as ``urllib.parse.parse_qs`` reads it.

    A query with nothing to unquote (every Engine.IO client's: ``EIO=4&transport=websocket``)
    is split directly, without ``parse_qs``'s unquoting of every name and value; as
    there, a field without ``=`` or with an empty value is left out.
    """
    if "%" in query or "+" in query:
        return {name: values[0] for name, values in urllib.parse.parse_qs(query).items()}
    fields: dict[str, str] = {}
    for field in query.split("&"):
        name, equals, value = field.partition("=")
        if equals and value and name not in fields:
            fields[name] = value
    return fields


def _message_reader(ws: Any) -> Any:
    """A function returning the next messages read from ``ws`` (python-engineio's wrapper).

    gevent-websocket's socket under it, when it is a
    :class:`~flask_sockevents.websocket.LimitedWebSocket`, gives every whole
    message one read brought; any other gives one message a call (``ws.wait``,
    also when something wrapped it).
    """
    receive_messages = getattr(getattr(ws, "_sock", None), "receive_messages", None)
    if receive_messages is None or "wait" in getattr(ws, "__dict__", {}):
        return lambda: [ws.wait()]
    return receive_messages


def _send_all(direct: Any, data: bytes) -> None:
    """Write all of ``data`` on the gevent socket ``direct``, waiting as needed.

    What the socket takes now is written directly (:func:`write_now`);
    gevent's ``sendall`` is called only for what is left. It costs a
    ``getsockopt`` system call and its chunking on every call, for the
    handshake's one write too.
    """
    sent = write_now(direct, data)
    if sent < len(data):
        direct.sendall(data[sent:] if sent else data)


def _held_upgrade_answer(ws: Any) -> bytes:
    """The 101 answer the WSGI handler under ``ws`` holds for the first frame, or ``b""``.

    (:meth:`flask_sockevents.websocket.WebSocketHandler.write`; gevent-websocket's
    ``WebSocket`` keeps its handler, python-engineio's wrapper that ``WebSocket``.)
    """
    handler = getattr(getattr(ws, "_sock", None), "handler", None)
    take = getattr(handler, "take_upgrade_answer", None)
    answer: bytes = take() if take is not None else b""
    return answer


class EngineIOSocket(_Socket):
    """One Engine.IO session: python-engineio's socket with node's heartbeat, close and upgrade.

    :attr:`polls_waiting` counts the long-polling GET requests waiting for
    packets: a NOOP is written only to end one of them.

    Once on a websocket, packets are written as :mod:`flask_sockevents.outbox`
    says: directly when nothing waits before them, else through a writer
    greenlet that lives only while the queue has something.
    """

    connected: bool  # python-engineio's: the handshake is complete
    queue: Outbox  # python-engineio's: what waits to be written
    last_ping: float | None  # python-engineio's: when the unanswered ping went out

    def __init__(self, server: EngineIOServer, sid: str) -> None:
        super().__init__(server, sid)
        self.polls_waiting = 0
        self._pinger: Any = None  # the timer of the current heartbeat step
        queue: Any = self.queue  # made by EngineIOServer.create_queue
        if not isinstance(queue, Outbox):  # a session of another server class
            queue = self.queue = Outbox(_nothing)
        queue.on_put = self._start_writer
        self._ws: Any = None  # python-engineio's websocket wrapper, while it can be written
        self._direct: Any = None  # the gevent socket under it, written to directly
        self._writer: Any = None  # the greenlet writing the queue out, while it has something
        self._flush_due = False  # a _flush is scheduled for the end of the turn
        #: Messages read from the websocket and not received yet (see :meth:`_read_websocket`).
        self._unread: deque[Any] = deque()

    def send(self, pkt: Any) -> None:
        """Send a packet: on a websocket, written without a writer greenlet when it can be.

        Its frame is queued and written at the end of the sending greenlet's
        turn (:meth:`_flush`), together with every other frame sent to this
        client meanwhile. Otherwise queued, as python-engineio does (for a
        long-polling GET, or for the writer greenlet started when the socket
        could not take it all).
        """
        if not self._writes_directly():
            super().send(pkt)
            return
        if not self.check_ping_timeout():
            return
        if pkt.packet_type == _NOOP:
            return  # a NOOP only ends a poll; there is none on a websocket
        if self.server.logger.isEnabledFor(logging.INFO):
            self.server.logger.info("%s: Sending packet %s", self.sid, pkt.packet_type)
        self._write_at_turn_end(packet_frame(pkt))

    def send_message(self, data: str) -> None:
        """Send a text MESSAGE packet carrying ``data``, as :meth:`send` would send its packet.

        On a websocket written directly, its frame is built from the text
        without a packet object.
        """
        if not self._writes_directly():
            self.send(eio_packet.Packet(eio_packet.MESSAGE, data=data))
            return
        if not self.check_ping_timeout():
            return
        if self.server.logger.isEnabledFor(logging.INFO):
            self.server.logger.info("%s: Sending packet MESSAGE data %s", self.sid, data)
        self._write_at_turn_end(websocket_frame("4" + data))

    def _writes_directly(self) -> bool:
        """Whether a packet sent now is written without the writer greenlet (see :meth:`send`)."""
        return (
            self._direct is not None
            and self._writer is None
            and (self._flush_due or not self.queue.qsize())
        )

    def _write_at_turn_end(self, frame: bytes) -> None:
        """Queue ``frame`` to be written at the end of this greenlet's turn (:meth:`_flush`).

        Together with whatever else is sent to this client before then: a
        client pipelining events gets its answers in one write, not one each.
        """
        if not self._flush_due:
            self._flush_due = True
            gevent.get_hub().loop.run_callback(self._flush)
        self.queue.put(frame)

    def _start_writer(self) -> None:
        """Start the writer greenlet, if the websocket is served and none is running.

        Not while a flush is due: :meth:`_flush` writes what the socket takes
        and starts the writer only for what it cannot.
        """
        if self._writer is None and self._ws is not None and not self._flush_due:
            self._writer = gevent.spawn(self._write_queued)

    def _flush(self) -> None:
        """Write the queue's frames together, in one send, as far as the socket takes them now.

        Runs in the hub once the greenlets that sent them have yielded. What
        the socket does not take, the end of the transport (``None``) or a
        greenlet already blocked writing are left to the writer greenlet, in order.
        """
        self._flush_due = False
        ws, direct, queue = self._ws, self._direct, self.queue
        if ws is None or direct is None or self._writer is not None:
            return
        frames: list[bytes] = []
        if not ws._sock.closed and not direct._write_event.active:
            while True:
                try:
                    item = queue.get(block=False)
                except gevent.queue.Empty:
                    break
                if item is None:
                    queue.put_front(None)
                    break
                queue.task_done()
                if type(item) is bytes:
                    frames.append(item)
                elif item.packet_type != _NOOP:
                    frames.append(packet_frame(item))
        if frames:
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            try:
                sent = write_now(direct, data)
            except OSError:
                sent = 0  # the writer meets the error again and ends the transport
            if sent < len(data):  # back on the queue, a frame an item, as they were
                left: list[bytes] = []
                for frame in frames:
                    if sent >= len(frame):
                        sent -= len(frame)
                    else:
                        left.append(frame[sent:] if sent else frame)
                        sent = 0
                for frame in reversed(left):
                    queue.put_front(frame)
        if queue.qsize():
            self._start_writer()

    def _stop_writing(self) -> None:
        """No more writes on this websocket (closed, or a write failed)."""
        self._ws = self._direct = None

    def _write_queued(self, first: bytes = b"") -> None:
        """Write out the queue in order, waiting for the client as needed; end once empty.

        ``first`` (the held 101 answer of the websocket upgrade) goes out
        before the queue, in the same write as its first packet.
        ``None`` on the queue ends the transport (python-engineio's signal).
        """
        ws, direct, queue = self._ws, self._direct, self.queue
        try:
            while True:
                try:
                    item = queue.get(block=False)
                except gevent.queue.Empty:
                    if first:
                        try:
                            _send_all(direct, first)
                        except Exception:
                            self._stop_writing()
                            ws.close()
                    return
                try:
                    if item is None or ws._sock.closed:
                        if first:
                            _send_all(direct, first)
                        self._stop_writing()
                        ws.close()
                        return
                    if type(item) is bytes:
                        frame = item
                    elif item.packet_type != _NOOP:
                        frame = packet_frame(item)
                    else:
                        continue  # a NOOP only ends a poll; there is none on a websocket
                    _send_all(direct, first + frame if first else frame)
                    first = b""
                except Exception:
                    self._stop_writing()
                    ws.close()
                    return
                finally:
                    queue.task_done()
        finally:
            self._writer = None

    def schedule_ping(self) -> None:
        """Start the next heartbeat cycle (at the handshake, then at each pong).

        A cycle is a timer of the gevent loop, not a greenlet sleeping for
        the whole session: the ping ``ping_interval`` after the pong, then
        the pong deadline ``ping_timeout`` after the ping, each step run in a
        greenlet that ends at once. The cycle it replaces, still waiting out
        its pong deadline, is stopped: one heartbeat per session, never more.
        """
        if self.last_ping:
            self.last_ping = None
            self._stop_pinger()
            self._pinger = self._after(self.server.ping_interval, self._send_ping)

    def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Close the session, and with it its heartbeat (no timer outlives the session)."""
        super().close(wait=wait, abort=abort, reason=reason)
        self._stop_pinger()

    def _stop_pinger(self) -> None:
        timer = self._pinger
        self._pinger = None
        if timer is not None:
            timer.close()

    def _after(self, seconds: float, step: Any, *args: Any) -> Any:
        """A timer running ``step(*args)`` in a greenlet in ``seconds``, unless stopped first."""
        timer = gevent.get_hub().loop.timer(seconds)

        def run() -> None:
            if self._pinger is timer:  # not stopped since the timer fired
                step(*args)

        timer.start(gevent.spawn, run)
        return timer

    def poll(self) -> list[Any]:
        """The packets to write: to a long-polling GET, or to the websocket once upgraded.

        A NOOP only ends a pending poll; on the websocket it would be one more
        packet for the client to read, so none is written there.
        """
        if self.upgraded:
            while True:
                packets: list[Any] = super().poll()
                kept = [pkt for pkt in packets if pkt.packet_type != _NOOP]
                if kept or not packets:
                    return kept
        self.polls_waiting += 1
        try:
            return self._poll_payload()
        finally:
            self.polls_waiting -= 1

    def _poll_payload(self) -> list[Any]:
        """python-engineio's poll, taking at most ``MAX_PACKETS_PER_POLL`` packets.

        The first packet is waited for (up to ``ping_interval + ping_timeout``);
        those queued behind it are taken without waiting, up to the bound:
        the rest stay queued, in order, for the client's next GET, which it
        sends as soon as it has this answer. ``None`` (the end of the session)
        ends the answer and stays queued, as python-engineio leaves it.

        :raises engineio.exceptions.QueueEmpty: nothing came in time.
        """
        queue = self.queue
        try:
            first = queue.get(timeout=self.server.ping_interval + self.server.ping_timeout)
        except gevent.queue.Empty:
            raise eio_exceptions.QueueEmpty() from None
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while len(packets) < MAX_PACKETS_PER_POLL:
            try:
                pkt = queue.get(block=False)
            except gevent.queue.Empty:
                break
            if pkt is None:
                queue.put_front(None)  # put back before it is done: a join sees no gap
                queue.task_done()
                break
            queue.task_done()
            packets.append(pkt)
        return packets

    def _end_polls_while_upgrading(self) -> None:
        """End a poll pending during the upgrade with a NOOP, checking every 100 ms as node.

        The client stops polling once it has the probe's answer; a NOOP sent
        at once could end its poll before that answer arrives, and the client
        would poll again (a second NOOP). Node's server checks every 100 ms.
        """
        while self.upgrading and not (self.closing or self.closed):
            self.server.sleep(UPGRADE_CHECK_INTERVAL)
            if self.upgrading and self.polls_waiting:
                self.queue.put(eio_packet.Packet(_NOOP))

    def _websocket_handler(self, ws: Any) -> Any:
        """python-engineio's websocket transport, ending a pending poll as node does."""

        def websocket_wait() -> Any:
            return self._wait_websocket(ws)

        for attr in ("_sock", "socket"):  # the read timeout, as python-engineio sets it
            if hasattr(ws, attr) and hasattr(getattr(ws, attr), "settimeout"):
                getattr(ws, attr).settimeout(self.server.ping_interval + self.server.ping_timeout)

        if self.connected:  # an upgrade of a long-polling session
            self.upgrading = True  # a GET arriving now gets a NOOP at once (python-engineio)
            pkt = eio_packet.Packet(encoded_packet=websocket_wait())
            if pkt.packet_type != eio_packet.PING or pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self.upgrading = False
                return []
            ws.send(eio_packet.Packet(eio_packet.PONG, data="probe").encode())
            self.server.start_background_task(self._end_polls_while_upgrading)
            data = websocket_wait()
            if eio_packet.Packet(encoded_packet=data).packet_type != eio_packet.UPGRADE:
                self.server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                    self.sid,
                    data,
                )
                self.upgrading = False
                return []
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        writer_task = None
        direct = direct_socket(ws)
        if direct is not None:
            answer = _held_upgrade_answer(ws)  # the 101, sent with the OPEN in one write
            self._ws, self._direct = ws, direct  # written directly from now on
            if self.queue.qsize() or answer:  # the OPEN, what was queued during an upgrade
                self._writer = gevent.getcurrent()  # this greenlet writes it, others queue
                self._write_queued(answer)
        else:  # not gevent's pywsgi: python-engineio's writer greenlet

            def writer() -> None:
                while True:
                    try:
                        packets = self.poll()
                    except eio_exceptions.QueueEmpty:
                        break
                    if not packets:  # the session is closed
                        break
                    try:
                        for pkt in packets:
                            ws.send(pkt.encode())
                    except Exception:
                        break
                ws.close()

            writer_task = self.server.start_background_task(writer)
        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
        self._read_websocket(ws)
        self.queue.put(None)  # let the writer end (and close the websocket)
        if writer_task is None:
            if self._flush_due:  # what this turn sent goes before the end
                self._flush()
            writer_task = self._writer
            if writer_task is None and self._ws is not None:
                self._stop_writing()
                ws.close()
        if writer_task is not None:
            writer_task.join()
        self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        return []

    def _wait_websocket(self, ws: Any) -> Any:
        """The next message on ``ws`` (during an upgrade); ``None`` once the client closed it.

        :raises ValueError: the message is over ``max_http_buffer_size``.
        """
        data = ws.wait()
        if data and len(data) > self.server.max_http_buffer_size:
            raise ValueError("packet is too large")
        return data

    def _read_websocket(self, ws: Any) -> None:
        """Receive the client's messages on ``ws`` until it closes or breaks (python-engineio's).

        Every message of what one read brought is received in turn
        (:meth:`~flask_sockevents.websocket.LimitedWebSocket.receive_messages`).
        The messages read and not yet received wait in ``_unread``, where a
        greenlet that takes the reading over from this one (see
        :mod:`flask_sockevents.budget`) finds them first.
        """
        unread = self._unread
        read = _message_reader(ws)
        try:
            while True:
                if not unread:
                    try:
                        unread.extend(read())
                    except Exception as exc:
                        self._log_read_error(exc)
                        break
                data = unread.popleft()
                if data is None:  # closed by the client
                    break
                if len(data) > self.server.max_http_buffer_size:
                    self._log_read_error(ValueError("packet is too large"))
                    break
                try:
                    self.receive_encoded(data)
                except eio_exceptions.UnknownPacketError:
                    pass
                except eio_exceptions.SocketIsClosedError:
                    self.server.logger.info("Receive error -- socket is closed")
                    break
                except Exception:
                    self.server.logger.exception("Unknown receive error")
                    break
        finally:
            unread.clear()  # the reading is over: nothing read after an end is received

    def _log_read_error(self, exc: Exception) -> None:
        if not self.closed:
            self.server.logger.info(
                '%s: Unexpected error "%s", closing connection', self.sid, str(exc)
            )

    def receive_encoded(self, data: Any) -> None:
        """Decode one message from the client as python-engineio does, and receive the packet.

        A text MESSAGE carrying a Socket.IO packet (``4`` then a digit: what
        python-engineio keeps as the text after the ``4``) goes to
        :meth:`receive_message` without a packet object.
        """
        if (
            type(data) is str
            and data.startswith("4")
            and len(data) > 1
            and data[1].isnumeric()
            and not self.server.async_handlers
        ):
            self.receive_message(data[1:])
        else:
            self.receive(eio_packet.Packet(encoded_packet=data))

    def receive_message(self, data: str) -> None:
        """Receive a text MESSAGE: python-engineio's ``receive`` of one, its handler called at once.

        (python-engineio's ``Socket.receive`` and ``Server._trigger_event``
        without the packet object and the closure made for each message;
        the same log line, and a handler's exception is logged, not raised.)
        """
        server = self.server
        if server.logger.isEnabledFor(logging.INFO):
            server.logger.info("%s: Received packet MESSAGE data %s", self.sid, data)
        handler = server.handlers.get("message")
        if handler is None:
            return
        try:
            handler(self.sid, data)
        except BaseException:  # python-engineio's run_handler catches everything too
            server.logger.exception("message handler error")

    def receive(self, pkt: Any) -> None:
        """Act on a packet from the client, as node's server does.

        An UPGRADE packet outside an upgrade is ignored (python-engineio
        answered it with a NOOP); a CLOSE answers a pending GET with a NOOP.
        """
        if pkt.packet_type == eio_packet.UPGRADE:
            return
        if pkt.packet_type == eio_packet.CLOSE and self.polls_waiting and not self.upgraded:
            self.queue.put(eio_packet.Packet(_NOOP))
        super().receive(pkt)

    def _send_ping(self) -> None:
        """Ping (``ping_interval`` after the last pong), then wait ``ping_timeout`` for a pong."""
        self._pinger = None
        if self.closing or self.closed:
            return
        sent = self.last_ping = time.time()
        self.send(eio_packet.Packet(eio_packet.PING))
        if self._pinger is None and not (self.closing or self.closed):
            self._pinger = self._after(self.server.ping_timeout, self._close_unless_pong, sent)

    def _close_unless_pong(self, sent: float) -> None:
        """Close the session if the ping ``sent`` then is still unanswered."""
        self._pinger = None
        server = self.server
        if self.last_ping == sent and not (self.closing or self.closed):
            server.logger.info("%s: no pong within ping_timeout, closing socket", self.sid)
            self.queue.put(eio_packet.Packet(eio_packet.CLOSE))  # for a pending GET, as node
            self.close(wait=False, abort=True, reason=server.reason.PING_TIMEOUT)


class EngineIOServer(engineio.Server):
    """python-engineio's server, answering as node's server does (see the module's list)."""

    start_service_task: bool  # python-engineio's: whether the ping monitor is yet to start
    #: The class of each session's socket.
    socket_class: type[EngineIOSocket] = EngineIOSocket
    #: The gevent hub that serves this server's requests, once one was served.
    serving_hub: Any = None

    def create_queue(self, *args: Any, **kwargs: Any) -> Outbox:
        """A session's queue (python-engineio makes one per session, and only there)."""
        return Outbox(_nothing)

    def disconnect(self, sid: str | None = None) -> None:
        """Close the session ``sid`` at once (every session if ``None``).

        python-engineio closes a long-polling session after a bad request (a
        body over ``max_message_size``...) by waiting, inside that request,
        for the client's next GET to take the CLOSE packet: a client that
        never polls again held the request, its greenlet and its socket forever.
        """
        if sid is None:
            super().disconnect()
            return
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)

    def request_refusal(self, environ: dict[str, Any]) -> str | None:
        """Why node's server would answer this request with HTTP 400, or ``None``.

        No ``transport`` or one not offered; a handshake (no ``sid``) by
        another method than GET (or an OPTIONS preflight); a GET or POST for
        a session that is closed.
        """
        return self._refusal(environ, query_fields(environ.get("QUERY_STRING", "")))

    def _refusal(self, environ: dict[str, Any], query: dict[str, str]) -> str | None:
        """:meth:`request_refusal`, with the request's query fields already read."""
        if query.get("transport") not in self.transports:
            return "Invalid transport"
        method = environ.get("REQUEST_METHOD")
        sid = query.get("sid")
        if sid is None:
            if method not in ("GET", "OPTIONS"):
                return "Bad handshake method"
        elif method in ("GET", "POST"):
            socket = self.sockets.get(sid)
            if socket is None or socket.closed:
                return "Invalid session"
        return None

    def handle_request(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Answer an Engine.IO request, refusing with 400 what node's server refuses.

        A websocket handshake in its plain form (:meth:`_plain_websocket_handshake`)
        goes straight to the handshake: python-engineio would parse its query
        again with ``parse_qs`` to find what is already known.
        """
        if self.serving_hub is None:
            self.serving_hub = gevent.get_hub()
        query = environ.get("QUERY_STRING", "")
        fields = query_fields(query)
        refusal = self._refusal(environ, fields)
        if refusal is None:
            if self._plain_websocket_handshake(environ, query, fields):
                answer = self._handle_connect(environ, start_response, "websocket")
                if isinstance(answer, dict):  # refused by the connect handler
                    return self._http_answer(environ, start_response, answer)
                return answer
            return super().handle_request(environ, start_response)
        self._log_error_once(refusal, "refused-request")
        answer = self._bad_request(refusal)
        start_response(answer["status"], answer["headers"] + self._cors_headers(environ))
        return [answer["response"]]

    def _http_answer(self, environ: dict[str, Any], start_response: Any, answer: Any) -> Any:
        """Start an HTTP answer as python-engineio's ``handle_request`` ends (compressed, CORS)."""
        if self.http_compression and len(answer["response"]) >= self.compression_threshold:
            encodings = [
                e.split(";")[0].strip() for e in environ.get("HTTP_ACCEPT_ENCODING", "").split(",")
            ]
            for encoding in encodings:
                if encoding in self.compression_methods:
                    answer["response"] = getattr(self, "_" + encoding)(answer["response"])
                    answer["headers"] += [("Content-Encoding", encoding)]
                    break
        start_response(answer["status"], answer["headers"] + self._cors_headers(environ))
        return [answer["response"]]

    def _plain_websocket_handshake(
        self, environ: dict[str, Any], query: str, fields: dict[str, str]
    ) -> bool:
        """Whether python-engineio would take this request straight to a websocket handshake.

        A GET upgrading to ``websocket`` with ``transport=websocket``, ``EIO=4``,
        no ``sid`` and no ``j`` (JSONP), each field once (python-engineio
        compares lists of values), and an origin it accepts. Anything else is
        left to python-engineio, which answers it as it always did.
        """
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or fields.get("transport") != "websocket"
            or fields.get("EIO") != "4"
            or "sid" in fields
            or "j" in fields
            or query.count("&") + 1 != len(fields)
            or environ.get("HTTP_UPGRADE", "").lower() != "websocket"
        ):
            return False
        origin = environ.get("HTTP_ORIGIN")
        if origin and self.cors_allowed_origins != []:
            allowed = self._cors_allowed_origins(environ)
            if allowed is not None and origin not in allowed:
                return False
        return True

    def handshake_data(self, sid: str, transport: str) -> dict[str, Any]:
        """The OPEN packet's content: the timings in exact milliseconds."""
        return {
            "sid": sid,
            "upgrades": self._upgrades(sid, transport),
            "pingTimeout": _milliseconds(self.ping_timeout),
            "pingInterval": _milliseconds(self.ping_interval + self.ping_interval_grace_period),
            "maxPayload": self.max_http_buffer_size,
        }

    def _handle_connect(
        self,
        environ: dict[str, Any],
        start_response: Any,
        transport: str,
        jsonp_index: int | None = None,
    ) -> Any:
        """python-engineio's handshake, with :attr:`socket_class` and :meth:`handshake_data`."""
        if self.start_service_task:
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)
        sid = self.generate_id()
        socket = self.socket_class(self, sid)
        self.sockets[sid] = socket
        socket.send(eio_packet.Packet(eio_packet.OPEN, self.handshake_data(sid, transport)))
        refusal = self._trigger_event("connect", sid, environ, run_async=False)
        if refusal is not None and refusal is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(refusal or None)
        socket.schedule_ping()
        if transport == "websocket":
            answer = socket.handle_get_request(environ, start_response)
            if socket.closed and sid in self.sockets:
                del self.sockets[sid]  # the websocket session ended
            return answer
        socket.connected = True
        headers = None
        if self.cookie:
            attributes = (
                self.cookie
                if isinstance(self.cookie, dict)
                else {"name": self.cookie, "path": "/", "SameSite": "Lax"}
            )
            headers = [("Set-Cookie", self._generate_sid_cookie(sid, attributes))]
        try:
            return self._ok(socket.poll(), headers=headers, jsonp_index=jsonp_index)
        except eio_exceptions.QueueEmpty:
            return self._bad_request()
