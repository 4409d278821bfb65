"""Payload schemas: the contract of an event's payload, checked at the door.

A handler route may declare what its payload looks like::

    from pydantic import BaseModel, Field

    class ChatMessage(BaseModel):
        room: str = Field(max_length=24)
        text: str = Field(min_length=1, max_length=500)

    @sockevents.on("chat", schema=ChatMessage)
    def chat(message: ChatMessage):      # the parsed model, never the raw dict
        ...

The schema is a pydantic model (or any type pydantic validates: a dataclass,
a ``TypedDict``, ``list[ChatMessage]``...), needing ``pydantic``, or a JSON
Schema ``dict``, needing ``jsonschema`` (``pip install flask-sockevents[schemas]``
installs both). It describes the event's one argument (a connect's ``auth``).

On the bus, validation runs after the guards and before the handler (step 4
of :mod:`flask_sockevents.bus`): an invalid payload is rejected with reason
``"invalid payload"`` (so listeners see it and Metrics count it), and a client
that asked for an acknowledgement gets::

    {"error": "invalid", "reason": "invalid payload",
     "errors": [{"path": "/text", "type": "string_too_short", "message": "..."}]}

The list is bounded (:data:`MAX_ERRORS` entries, each path and message cut
short), and a message that would quote a long part of the input is replaced
by one naming the failed constraint: what the client sent is never echoed
back at length.
"""

from __future__ import annotations

import itertools
import logging
import types
import warnings
from collections.abc import Mapping
from typing import Any

from .exceptions import Reject

__all__ = [
    "INVALID_PAYLOAD",
    "MAX_ERRORS",
    "EmitChecker",
    "EmitContractWarning",
    "InvalidPayload",
    "PayloadSchema",
    "payload_schema",
]

INVALID_PAYLOAD = "invalid payload"
"""The rejection reason of an event whose payload does not match its schema."""

MAX_ERRORS = 10
"""At most this many errors are reported for one payload."""

_MAX_MESSAGE = 160
_MAX_PATH = 200
_MAX_PATH_PART = 64
_MAX_TYPE = 64

_Error = dict[str, str]
_log = logging.getLogger("flask_sockevents.schemas")


class InvalidPayload(Reject):
    """A payload does not match its schema: the rejection the bus publishes.

    :param errors: what was wrong, at most :data:`MAX_ERRORS` entries of
        ``{"path", "type", "message"}``.
    """

    def __init__(self, errors: list[_Error]) -> None:
        super().__init__(INVALID_PAYLOAD, {"error": "invalid", "errors": errors})
        self.errors = errors


class PayloadSchema:
    """A compiled payload contract: validates and parses one payload.

    Built by :func:`payload_schema`; not meant to be subclassed outside this module.

    :param source: what the schema was declared with (a type or a ``dict``).
    :param name: a name for documents (the type's or the schema's ``title``).
    """

    def __init__(self, source: Any, name: str | None) -> None:
        self.source = source
        self.name = name

    def parse(self, value: Any) -> Any:
        """Return ``value`` parsed (a model instance, or ``value`` for JSON Schema).

        :raises InvalidPayload: when ``value`` does not match.
        """
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The schema as JSON Schema; its internal ``$ref`` are relative to itself."""
        raise NotImplementedError

    def parse_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return an event's ``args`` with its one payload parsed.

        :raises InvalidPayload: when there is not exactly one argument, or it
            does not match.
        """
        if len(args) != 1:
            raise InvalidPayload(
                [
                    {
                        "path": "",
                        "type": "arguments",
                        "message": f"expected exactly one argument, got {len(args)}",
                    }
                ]
            )
        return (self.parse(args[0]),)

    def errors_of(self, value: Any) -> list[_Error]:
        """What is wrong with ``value`` (an empty list if it matches)."""
        try:
            self.parse(value)
        except InvalidPayload as exc:
            return exc.errors
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or self.source!r}>"


class _PydanticSchema(PayloadSchema):
    def __init__(self, source: Any) -> None:
        try:
            import pydantic
        except ImportError as exc:
            raise ImportError(
                f"a schema given as a type ({source!r}) needs pydantic: "
                "pip install flask-sockevents[schemas]"
            ) from exc
        super().__init__(source, getattr(source, "__name__", None))
        self._validation_error = pydantic.ValidationError
        self._adapter = pydantic.TypeAdapter(source)

    def parse(self, value: Any) -> Any:
        try:
            return self._adapter.validate_python(value)
        except self._validation_error as exc:
            errors = exc.errors(include_url=False, include_input=False, include_context=False)
            raise InvalidPayload(
                [
                    _error(error["loc"], error["type"], error["msg"], error["type"])
                    for error in errors[:MAX_ERRORS]
                ]
            ) from None

    def json_schema(self) -> dict[str, Any]:
        return dict(self._adapter.json_schema())


class _JSONSchema(PayloadSchema):
    def __init__(self, source: Mapping[str, Any]) -> None:
        try:
            import jsonschema
        except ImportError as exc:
            raise ImportError(
                "a schema given as a dict (JSON Schema) needs jsonschema: "
                "pip install flask-sockevents[schemas]"
            ) from exc
        schema = dict(source)
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)  # a broken schema fails at declaration
        title = schema.get("title")
        super().__init__(source, title if isinstance(title, str) else None)
        self._schema = schema
        self._validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    def parse(self, value: Any) -> Any:
        # iter_errors is lazy: only the errors reported are ever computed.
        found = list(itertools.islice(self._validator.iter_errors(value), MAX_ERRORS))
        if found:
            raise InvalidPayload(
                [
                    _error(
                        error.absolute_path,
                        str(error.validator),
                        error.message,
                        f"does not satisfy {error.validator}: {_short(error.validator_value)}",
                    )
                    for error in found
                ]
            )
        return value

    def json_schema(self) -> dict[str, Any]:
        return dict(self._schema)


def payload_schema(spec: Any) -> PayloadSchema:
    """Compile a payload contract: a pydantic-validated type or a JSON Schema ``dict``.

    :param spec: a :class:`PayloadSchema` (returned as is), a ``dict`` (JSON
        Schema, any draft ``jsonschema`` knows, checked now), or a type
        pydantic can validate (a ``BaseModel`` subclass, a dataclass, a
        ``TypedDict``, ``list[Model]``...).
    :raises ImportError: when the library the schema needs is missing.
    :raises TypeError: when ``spec`` is none of these.
    :raises jsonschema.SchemaError: when a JSON Schema is itself invalid.
    """
    if isinstance(spec, PayloadSchema):
        return spec
    if isinstance(spec, Mapping):
        return _JSONSchema(spec)
    if isinstance(spec, (type, types.UnionType)) or hasattr(spec, "__origin__"):
        return _PydanticSchema(spec)
    raise TypeError(
        f"a payload schema is a pydantic model (or another type pydantic validates) "
        f"or a JSON Schema dict, not {type(spec).__name__}"
    )


def _error(path: Any, kind: str, message: str, fallback: str) -> _Error:
    """One reported error, every part bounded; ``fallback`` replaces a long ``message``."""
    parts = [str(part)[:_MAX_PATH_PART].replace("~", "~0").replace("/", "~1") for part in path]
    text = message if len(message) <= _MAX_MESSAGE else fallback
    return {
        "path": "".join(f"/{part}" for part in parts)[:_MAX_PATH],
        "type": kind[:_MAX_TYPE],
        "message": text[:_MAX_MESSAGE],
    }


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class EmitContractWarning(UserWarning):
    """In debug mode, the server emitted a payload that does not match its declared schema."""


class EmitChecker:
    """Checks each server emit against its declared schema, in debug mode.

    Connected to :data:`flask_sockevents.signals.event_emitted` by
    ``SockEvents.emits`` when the app is in debug mode; a mismatch is logged
    and warned about (:class:`EmitContractWarning`), the emit itself has
    already gone out.

    :param sockevents: the extension whose declarations (``bus.router.emits``)
        and app are used.
    """

    def __init__(self, sockevents: Any) -> None:
        self.sockevents = sockevents

    def __call__(self, sender: Any, event: Any, **_: Any) -> None:
        """Check one emit (a blinker receiver)."""
        app = self.sockevents.app
        if sender is not app or app is None or not app.debug:
            return
        declared = self.sockevents.bus.router.declared_emit(event.namespace, event.name)
        if declared is None or declared.schema is None:
            return
        try:
            declared.schema.parse_args(event.args)
        except InvalidPayload as exc:
            message = (
                f"emit {event.name!r} in {event.namespace!r} does not match its declared "
                f"schema {declared.schema!r}: {exc.errors}"
            )
            _log.warning("%s", message)
            warnings.warn(message, EmitContractWarning, stacklevel=2)
