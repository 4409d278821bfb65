"""What waits for acknowledgements, and what it gives back: the pieces of :mod:`.acks`.

- :class:`Request`: one emit waiting for its answers in the process that
  emitted it; it ends when nothing more can come or at its timeout, then
  resolves its ``AsyncResult`` and calls back (in a greenlet of its own);
- :class:`Relay`: another process's emit, waiting for the answers of this
  process's clients, each forwarded on the queue as it comes;
- :class:`BroadcastAcks`: what an emit to a room gives back;
- :func:`encoded` / :func:`decoded`: arguments as the queue's JSON carries them.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent.event import AsyncResult
from socketio import packet as sio_packet

from .exceptions import AckDisconnected, AckError, AckTimeout

__all__ = ["BroadcastAcks", "Relay", "Request", "Waiter", "answer_value", "decoded", "encoded"]

logger = logging.getLogger("flask_sockevents.acks")


class BroadcastAcks(dict[str, Any]):
    """The answers to an emit to a room or to everyone, by sid, and who did not answer.

    Each value is a client's answer: one argument as is, several as a tuple,
    none as ``None``.

    :param answers: the answers by sid.
    :param missing: the sids of the clients that did not answer (timed out
        or disconnected), in the order they were sent the event.
    :param silent_processes: other processes that received the emit but
        never said which of their clients they sent it to (dead, or stuck)
        before the timeout: their clients are in neither ``answers`` nor
        ``missing``. Always 0 with a queue that cannot count its processes
        (Kombu).
    """

    def __init__(
        self,
        answers: dict[str, Any] | None = None,
        missing: Iterable[str] = (),
        silent_processes: int = 0,
    ) -> None:
        super().__init__(answers or {})
        self.missing: tuple[str, ...] = tuple(missing)
        self.silent_processes = silent_processes

    @property
    def complete(self) -> bool:
        """True when every client sent the event answered (and every process reported)."""
        return not self.missing and not self.silent_processes

    def __repr__(self) -> str:
        return (
            f"BroadcastAcks({dict.__repr__(self)}, missing={self.missing!r}, "
            f"silent_processes={self.silent_processes})"
        )


def answer_value(args: Iterable[Any]) -> Any:
    """A client's answer as ``call()`` returns it: one argument, a tuple, or ``None``."""
    args = tuple(args)
    return None if not args else args[0] if len(args) == 1 else args


def encoded(data: list[Any]) -> tuple[list[Any], bool]:
    """Arguments as JSON can carry them: binary attachments base64-encoded (as python-socketio)."""
    if not sio_packet.Packet.data_is_binary(data):
        return data, False
    body, attachments = sio_packet.Packet.deconstruct_binary(data)
    return [body, *[base64.b64encode(a).decode() for a in attachments]], True


def decoded(data: list[Any], binary: bool) -> list[Any]:
    """Arguments as :func:`encoded` made them, binary attachments restored."""
    if not binary:
        return data
    attachments = [base64.b64decode(a) for a in data[1:]]
    return list(sio_packet.Packet.reconstruct_binary(data[0], attachments))


class Waiter:
    """Waits on answers from clients of this process: a :class:`Request` or a :class:`Relay`."""

    def __init__(self) -> None:
        #: Recipients connected to this process that have not answered: sid -> ack id.
        self.pending: dict[str, int] = {}

    def answered(self, sid: str, args: tuple[Any, ...]) -> None:
        """Client ``sid`` answered with ``args``."""
        raise NotImplementedError

    def gone(self, sid: str) -> None:
        """Client ``sid`` disconnected without answering."""
        raise NotImplementedError


class Request(Waiter):
    """One emit waiting for its answers, in the process that emitted it."""

    def __init__(
        self,
        on_finished: Callable[[Request], None],
        event: str,
        to: Any,
        timeout: float,
        callback: Callable[..., Any] | None,
        single: bool | None,
    ) -> None:
        super().__init__()
        self.on_finished = on_finished
        self.id = uuid.uuid4().hex
        self.event = event
        self.to = to
        self.timeout = timeout
        self.callback = callback
        #: True: one client's answer; False: a room's; None: not known yet.
        self.single = single
        #: Every recipient reported, in any process, in the order reported.
        self.recipients: dict[str, None] = {}
        self.answers: dict[str, tuple[Any, ...]] = {}
        self.disconnected: set[str] = set()
        #: Recipients that have neither answered nor disconnected.
        self.outstanding: set[str] = set()
        #: Other processes that must report (``None``: unknown), and those that did.
        self.processes: int | None = 0
        self.reports = 0
        self.result: AsyncResult = AsyncResult()
        self.timer: Any = None
        self.sent = False
        self.done = False

    def add(self, sids: Iterable[str]) -> None:
        """Count ``sids`` among the recipients; those that have not answered are outstanding."""
        for sid in sids:
            if sid not in self.recipients:
                self.recipients[sid] = None
                if sid not in self.answers and sid not in self.disconnected:
                    self.outstanding.add(sid)

    def report(self, sids: Iterable[str], sid_room: bool, remote: bool) -> None:
        """A process (this one, or another through the queue) names its recipients."""
        if sid_room and self.single is None:
            self.single = True
        self.add(sids)
        self.reports += remote
        self.check()

    def answered(self, sid: str, args: tuple[Any, ...]) -> None:
        self.recipients.setdefault(sid)
        self.answers.setdefault(sid, args)
        self.outstanding.discard(sid)
        self.check()

    def gone(self, sid: str) -> None:
        self.recipients.setdefault(sid)
        self.disconnected.add(sid)
        self.outstanding.discard(sid)
        self.check()

    def check(self) -> None:
        """End the request if nothing more can come."""
        if self.done or not self.sent:
            return
        if self.single and (
            self.answers or (isinstance(self.to, str) and self.to in self.disconnected)
        ):
            self.finish(timed_out=False)  # a sid is one client: no other can answer
            return
        everyone_reported = self.processes is not None and self.reports >= self.processes
        if everyone_reported and not self.outstanding:
            self.finish(timed_out=False)

    def expire(self) -> None:
        self.timer = None
        self.finish(timed_out=True)

    def finish(self, timed_out: bool) -> None:
        """Release what is still pending, resolve the result and call back."""
        self.done = True
        if self.timer is not None:
            self.timer.close()
            self.timer = None
        self.on_finished(self)
        missing = [sid for sid in self.recipients if sid not in self.answers]
        error_class = AckTimeout if timed_out else AckDisconnected
        whom = "everyone" if self.to is None else repr(self.to)
        if self.single:
            if self.answers:
                args = next(iter(self.answers.values()))
                self._resolve(answer_value(args), (None, *args))
                return
            why = f"within {self.timeout:g} s" if timed_out else "before it disconnected"
            error = error_class(f"no answer to {self.event!r} from {self.to} {why}",
                                event=self.event, to=self.to)  # fmt: skip
            self._reject(error, (error,))
            return
        silent = max(0, (self.processes or 0) - self.reports)
        acks = BroadcastAcks({sid: answer_value(self.answers[sid]) for sid in self.answers},
                             missing, silent)  # fmt: skip
        if self.single is None and not self.recipients:
            why = f"within {self.timeout:g} s" if timed_out else "(no such client or room)"
            error = error_class(f"no client answered {self.event!r} sent to {whom} {why}",
                                event=self.event, to=self.to, acks=acks)  # fmt: skip
            self._reject(error, (error, acks))
            return
        incomplete: AckError | None = None
        if not acks.complete:
            why = f"within {self.timeout:g} s" if timed_out else "(they disconnected)"
            processes = "process" if silent == 1 else "processes"
            silence = f" and {silent} {processes} did not report" if silent else ""
            incomplete = error_class(f"{len(missing)} of {len(self.recipients)} clients sent "
                                     f"{self.event!r} ({whom}) did not answer{silence} {why}",
                                     event=self.event, to=self.to, acks=acks)  # fmt: skip
        self._resolve(acks, (incomplete, acks))

    def _resolve(self, value: Any, callback_args: tuple[Any, ...]) -> None:
        self.result.set(value)
        self._call_back(callback_args)

    def _reject(self, error: AckError, callback_args: tuple[Any, ...]) -> None:
        self.result.set_exception(error)
        self._call_back(callback_args)

    def _call_back(self, args: tuple[Any, ...]) -> None:
        if self.callback is not None:
            gevent.spawn(_run_callback, self.callback, args)


def _run_callback(callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        callback(*args)
    except Exception:
        logger.exception("an acknowledgement callback (%r) failed", callback)


class Relay(Waiter):
    """An emit of another process, waiting for the answers of this process's clients."""

    def __init__(
        self,
        publish: Callable[[dict[str, Any]], Any],
        release: Callable[[Relay], None],
        requester: str,
        request_id: str,
    ) -> None:
        super().__init__()
        self.publish = publish
        self.release = release
        self.requester = requester
        self.request_id = request_id
        self.timer: Any = None

    def _send(self, sid: str, **fields: Any) -> None:
        message = {"method": "ack_answer", "host_id": self.requester,
                   "request": self.request_id, "sid": sid, **fields}  # fmt: skip
        self.publish(message)
        self._settled()

    def answered(self, sid: str, args: tuple[Any, ...]) -> None:
        data, binary = encoded(list(args))
        self._send(sid, args=data, binary=binary)

    def gone(self, sid: str) -> None:
        self._send(sid, gone=True)

    def _settled(self) -> None:
        if not self.pending:
            self.expire()

    def expire(self) -> None:
        if self.timer is not None:
            self.timer.close()
            self.timer = None
        self.release(self)
