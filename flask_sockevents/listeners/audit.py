"""An append-only audit trail: one JSON line per connect, event, disconnect and emit.

Plug it in with one line::

    from flask_sockevents.listeners import AuditLog

    audit = AuditLog("/var/log/myapp/socket-audit.jsonl", sockevents,
                     user_id=lambda: session.get("user_id"))

Every record is written and flushed while the listener is called, which is
before the acknowledgement leaves the server, so a client never holds an ack
for an event the trail does not show.

Whatever a client sends, a record costs bounded work and space: the strings it
chose (event name, namespace, reason, address) are cut to ``max_field_length``
characters, a body is examined in one pass that stops at ``max_digest_bytes``
(a larger body is neither cleaned nor hashed), and every record is exactly one
line for any reader, ``str.splitlines()`` included.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import json
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import IO, Any

from flask_sockevents.event import Event
from flask_sockevents.listeners._attach import connect_emitted
from flask_sockevents.listeners._text import DEFAULT_MAX_FIELD_LENGTH, cut, one_line

__all__ = ["DEFAULT_MAX_FIELD_LENGTH", "DEFAULT_REDACT", "AuditLog", "redacted"]

DEFAULT_REDACT: tuple[str, ...] = ("password", "token", "secret", "authorization")
"""Key fragments whose values :class:`AuditLog` replaces by ``"[redacted]"``."""

REDACTED = "[redacted]"
_MAX_DEPTH = 32
_log = logging.getLogger(__name__)


class _TooLarge(Exception):
    """A body is larger than the bound of what is examined."""


class AuditLog:
    """A listener that writes one JSON-lines audit record per event.

    Each record holds:

    ``time``
        when the packet was received, UTC, ISO 8601 with milliseconds
        (``"2024-05-01T12:00:00.123Z"``);
    ``kind``, ``outcome``
        ``connect``/``event``/``disconnect``/``emit`` and
        ``handled``/``unhandled``/``rejected``/``failed``;
    ``namespace``, ``event``, ``sid``, ``remote_addr``, ``user_id``
        where it came from and who sent it (``transport`` is its Engine.IO
        session, shared by all the namespaces it opened);
    ``reason``, ``error``
        why it was rejected or failed (``error`` is the exception's class
        name; a failure's text is in ``reason`` only with the extension's
        ``error_text`` option);
    ``duration_ms``
        time spent in guards, handler and error handlers;
    ``ack_requested``, ``replied``
        whether the client asked for an ack and whether one was sent;
    ``size``, ``sha256``
        the packet size in bytes and the SHA-256 of the canonical JSON encoding
        of the (redacted) arguments, ``null`` for a body over ``max_digest_bytes``;
    ``to``
        the target of a server emit;
    ``args``, ``ack``
        the payload and the acknowledgement, only with ``payloads=True``.

    :param path_or_handler: where records go: a file path (opened for
        appending; every record is flushed), a :class:`logging.Handler`, a
        :class:`logging.Logger` (records are logged at ``INFO``), or an open
        text stream such as ``sys.stdout`` (flushed, never closed).
    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param user_id: a callable returning the current user's id, called inside
        the subscriber's Flask context (so ``session``, ``g`` and
        ``flask_login.current_user`` work). If it raises, ``user_id`` is
        ``null`` and the record is written anyway.
    :param payloads: include the arguments (and the ack) in the record.
    :param max_payload_bytes: a body whose JSON encoding is longer is replaced
        by ``{"$truncated": <its length>}`` (the digest still covers it all),
        so one large message cannot bloat the log; ``None`` for no limit.
    :param max_digest_bytes: the most of a body examined (cleaned, redacted
        and hashed), in bytes of its packet or of its JSON encoding; a larger
        body gets ``"sha256": null`` and, with ``payloads``, ``{"$truncated":
        <the packet size>}``, at a cost that does not grow with it. 64 KiB by
        default; ``None`` examines every body in full.
    :param max_field_length: characters kept of the event name, namespace,
        reason and address (:func:`cut` marks what was left out); 256 by default.
    :param redact: key fragments, matched case-insensitively against every key
        at any depth of the arguments, whose values are replaced by
        ``"[redacted]"`` (``"token"`` also covers ``"access_token"``). The
        digest is computed after redaction, so a secret cannot be recovered
        from it by guessing.
    :param emits: also record server emits (``kind`` ``"emit"``), from
        :data:`flask_sockevents.signals.event_emitted`.
    :param fsync: call :func:`os.fsync` after every record written to a file
        (durable across a power loss, at the cost of a disk round trip per
        event that blocks the process).

    Arguments that are not JSON are recorded, never refused: bytes become
    ``{"$bytes": length, "sha256": digest}``, other objects their ``repr``.

    Writing never raises into dispatch: a failing sink (disk full, closed
    file) is reported once through :mod:`logging` and counted in
    :attr:`errors`; the next record that goes through is reported as a
    recovery. Safe to call from several threads or greenlets at once.
    """

    def __init__(
        self,
        path_or_handler: str | os.PathLike[str] | logging.Handler | logging.Logger | IO[str],
        sockevents: Any = None,
        *,
        user_id: Callable[[], Any] | None = None,
        payloads: bool = False,
        max_payload_bytes: int | None = 65_536,
        max_digest_bytes: int | None = 65_536,
        max_field_length: int = DEFAULT_MAX_FIELD_LENGTH,
        redact: Iterable[str] = DEFAULT_REDACT,
        emits: bool = False,
        fsync: bool = False,
    ) -> None:
        self.user_id = user_id
        self.payloads = payloads
        self.max_payload_bytes = max_payload_bytes
        self.max_digest_bytes = max_digest_bytes
        self.max_field_length = max_field_length
        self.redact = tuple(word.lower() for word in redact)
        self.emits = emits
        self.fsync = fsync
        #: How many records could not be written (or built).
        self.errors = 0
        self._failing = False
        self._lock = threading.Lock()
        self._stream: IO[str] | None = None
        self._owns_stream = False
        self._handler: logging.Handler | None = None
        self._logger: logging.Logger | None = None
        self._detach: list[Callable[[], None]] = []

        if isinstance(path_or_handler, logging.Handler):
            self._handler = path_or_handler
        elif isinstance(path_or_handler, logging.Logger):
            self._logger = path_or_handler
        elif isinstance(path_or_handler, (str, os.PathLike)):
            self._stream = open(path_or_handler, "a", encoding="utf-8")  # noqa: SIM115
            self._owns_stream = True
        elif callable(getattr(path_or_handler, "write", None)):
            self._stream = path_or_handler
        else:
            raise TypeError(
                "AuditLog needs a file path, a logging.Handler, a logging.Logger or a text "
                f"stream, not {type(path_or_handler).__name__}"
            )

        self_ref = weakref.ref(self)

        def close_at_exit() -> None:
            audit = self_ref()
            if audit is not None:
                audit.close()

        self._close_at_exit = close_at_exit
        atexit.register(close_at_exit)
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, event: str = "*", namespace: str = "*") -> None:
        """Listen to ``event`` in ``namespace`` (patterns) on ``sockevents``.

        With ``emits=True``, also subscribe to the extension's server emits.
        """
        sockevents.listen(event, namespace)(self)
        if self.emits:
            self._detach.append(connect_emitted(sockevents, self))

    def __call__(self, event: Event) -> None:
        """Write the record for ``event``. Never raises."""
        try:
            line = json.dumps(self.record(event), ensure_ascii=False, separators=(",", ":"))
        except Exception:
            self._failed("could not build the audit record for %r", event)
            return
        self.write(one_line(line))

    def record(self, event: Event) -> dict[str, Any]:
        """Build the audit record for ``event`` as a JSON-ready dict."""
        limit = self.max_field_length
        args, canonical = self._examine(event.args, event.size)
        record: dict[str, Any] = {
            "time": _wall_time(event.received_at),
            "kind": event.kind.value,
            "outcome": event.outcome.value if event.outcome is not None else None,
            "namespace": cut(event.namespace, limit),
            "event": cut(event.name, limit),
            "sid": event.sid,
            "transport": event.transport,
            "remote_addr": cut(event.remote_addr, limit),
            "user_id": self._current_user_id(),
            "reason": cut(event.reason, limit),
            "error": type(event.error).__name__ if event.error is not None else None,
            "duration_ms": (
                round(event.duration * 1000, 3) if event.duration is not None else None
            ),
            "ack_requested": event.ack_requested,
            "replied": event.replied,
            "size": event.size,
            "sha256": (
                hashlib.sha256(canonical.encode("utf-8")).hexdigest()
                if canonical is not None
                else None
            ),
        }
        if event.to is not None:
            record["to"] = self._examine(event.to, 0)[0]
        if self.payloads:
            record["args"] = args
            if event.replied:
                record["ack"] = self._examine(event.ack, 0)[0]
        return record

    def _examine(self, body: Any, size: int) -> tuple[Any, str | None]:
        """Clean ``body`` once: return it as recorded, and its canonical JSON (``None``: too large).

        :param size: the body's packet size when known (0 if not): a body
            whose packet is over ``max_digest_bytes`` is not looked at.
        """
        bound = self.max_digest_bytes
        if bound is not None and size > bound:
            return {"$truncated": size}, None
        try:
            cleaned = _clean(body, self.redact, _Budget(bound))
        except _TooLarge:
            return {"$truncated": size or bound}, None
        canonical = json.dumps(cleaned, sort_keys=True, separators=(",", ":"))
        if self.max_payload_bytes is not None:
            encoded = len(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode())
            if encoded > self.max_payload_bytes:
                return {"$truncated": encoded}, canonical
        return cleaned, canonical

    def write(self, line: str) -> None:
        """Append one line to the sink, flushed (and fsynced if asked). Never raises."""
        try:
            with self._lock:
                if self._handler is not None:
                    self._handler.handle(_log_record(line))
                elif self._logger is not None:
                    self._logger.info(line)
                else:
                    assert self._stream is not None
                    self._stream.write(line + "\n")
                    self._stream.flush()
                    if self.fsync and self._owns_stream:
                        os.fsync(self._stream.fileno())
        except Exception:
            self._failed("could not write to the audit log %s", self._sink_name())
            return
        if self._failing:
            self._failing = False
            _log.warning("audit log %s is writable again", self._sink_name())

    def close(self) -> None:
        """Flush the sink, close it if this log opened it, and stop listening to emits.

        Also called at interpreter exit. Records arriving after ``close()``
        count as :attr:`errors`.
        """
        for detach in self._detach:
            detach()
        self._detach.clear()
        atexit.unregister(self._close_at_exit)
        try:
            with self._lock:
                if self._handler is not None:
                    self._handler.flush()
                elif self._stream is not None and not getattr(self._stream, "closed", False):
                    self._stream.flush()
                    if self._owns_stream:
                        if self.fsync:
                            os.fsync(self._stream.fileno())
                        self._stream.close()
        except Exception:
            self._failed("could not close the audit log %s", self._sink_name())

    def _current_user_id(self) -> Any:
        if self.user_id is None:
            return None
        try:
            user = self.user_id()
            if isinstance(user, str):
                return cut(user, self.max_field_length)
            return _clean(user, (), _Budget(4 * self.max_field_length))
        except Exception:
            _log.debug("AuditLog user_id callable raised", exc_info=True)
            return None

    def _failed(self, message: str, arg: Any) -> None:
        with self._lock:
            self.errors += 1
            first = not self._failing
            self._failing = True
        if first:
            _log.error(message + " (reported once until it recovers)", arg, exc_info=True)

    def _sink_name(self) -> str:
        if self._handler is not None:
            return repr(self._handler)
        if self._logger is not None:
            return f"logger {self._logger.name!r}"
        return str(getattr(self._stream, "name", self._stream))


def _wall_time(received_at: float) -> str:
    """Turn a :func:`time.monotonic` timestamp into UTC ISO 8601 with milliseconds."""
    wall = time.time() - (time.monotonic() - received_at)
    moment = datetime.datetime.fromtimestamp(wall, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def redacted(
    value: Any, redact: Iterable[str] = DEFAULT_REDACT, max_bytes: int | None = None
) -> Any:
    """``value`` as plain JSON data with the values under ``redact`` keys hidden, as AuditLog does.

    :param max_bytes: examine at most about this many bytes of ``value``'s
        JSON encoding; ``None`` when it is larger (``None``: no bound).
    """
    try:
        return _clean(value, tuple(word.lower() for word in redact), _Budget(max_bytes))
    except _TooLarge:
        return None


class _Budget:
    """How much more of a body may be examined, in (approximate) bytes of its JSON encoding."""

    __slots__ = ("left",)

    def __init__(self, bound: int | None) -> None:
        self.left = bound

    def spend(self, amount: int) -> None:
        if self.left is not None:
            self.left -= amount
            if self.left < 0:
                raise _TooLarge


def _clean(value: Any, redact: tuple[str, ...], budget: _Budget, depth: int = 0) -> Any:
    """Return ``value`` as plain JSON data, with values under ``redact`` keys hidden.

    One pass, which stops with :class:`_TooLarge` once ``budget`` is spent:
    bytes become ``{"$bytes": length, "sha256": digest}``, non-finite floats
    and unknown objects their ``repr``, and dict keys strings. Nesting deeper
    than 32 levels (or a cycle) is cut at ``"[too deep]"``.
    """
    if value is None or isinstance(value, (bool, int)):
        budget.spend(8)
        return value
    if isinstance(value, str):
        budget.spend(len(value) + 2)
        return value
    if isinstance(value, float):
        budget.spend(8)
        return value if math.isfinite(value) else _safe_repr(value)
    if depth >= _MAX_DEPTH:
        return "[too deep]"
    budget.spend(2)
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else _safe_repr(key)
            budget.spend(len(name) + 3)
            lowered = name.lower()
            if any(word in lowered for word in redact):
                cleaned[name] = REDACTED
            else:
                cleaned[name] = _clean(item, redact, budget, depth + 1)
        return cleaned
    if isinstance(value, (list, tuple)):
        return [_clean(item, redact, budget, depth + 1) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        budget.spend(value.nbytes if isinstance(value, memoryview) else len(value))
        data = bytes(value)
        return {"$bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    text = _safe_repr(value)
    budget.spend(len(text))
    return text


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def _log_record(line: str) -> logging.LogRecord:
    return logging.LogRecord(
        name="flask_sockevents.audit",
        level=logging.INFO,
        pathname=__file__,
        lineno=0,
        msg=line,
        args=None,
        exc_info=None,
    )
