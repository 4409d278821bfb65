"""Payload schemas over the network: a valid payload reaches its handler parsed, an invalid
one is rejected with a bounded list of what was wrong in the acknowledgement."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from pydantic import BaseModel, ConfigDict, Field

from flask_sockevents import Event, Outcome, Reject, SockEvents
from flask_sockevents.schemas import INVALID_PAYLOAD, MAX_ERRORS

from .conftest import TIMEOUT

Connect = Callable[..., socketio.Client]


class Author(BaseModel):
    name: str = Field(min_length=1, max_length=24)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room: str = Field(max_length=24)
    text: str = Field(min_length=1, max_length=500)
    author: Author
    tags: list[str] = Field(default_factory=list, max_length=3)


CHAT_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "room": {"type": "string", "maxLength": 24},
        "text": {"type": "string", "minLength": 1, "maxLength": 500},
        "priority": {"type": "integer", "minimum": 0, "maximum": 3},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["room", "text"],
    "additionalProperties": False,
}

VALID = {"room": "lobby", "text": "hello", "author": {"name": "ada"}}
VALID_JSON = {"room": "lobby", "text": "hello", "priority": 2}


def invalid_errors(answer: Any) -> list[dict[str, str]]:
    """The error list of an ``invalid payload`` acknowledgement, checking its shape."""
    assert isinstance(answer, dict), answer
    assert answer["error"] == "invalid"
    assert answer["reason"] == INVALID_PAYLOAD
    errors = answer["errors"]
    assert all(set(error) == {"path", "type", "message"} for error in errors), errors
    return list(errors)


@pytest.fixture
def received(sockevents: SockEvents) -> list[Any]:
    """What the ``chat`` handlers (pydantic and JSON Schema) were called with."""
    calls: list[Any] = []

    @sockevents.on("chat", schema=ChatMessage)
    def chat(message: ChatMessage) -> dict[str, Any]:
        calls.append(message)
        return {"said": message.text, "by": message.author.name}

    @sockevents.on("chat json", schema=CHAT_MESSAGE_SCHEMA)
    def chat_json(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(message)
        return {"said": message["text"]}

    return calls


def test_a_valid_payload_reaches_the_handler_as_the_parsed_model(
    connect: Connect, received: list[Any]
) -> None:
    client = connect()
    answer = client.call("chat", VALID, timeout=TIMEOUT)
    assert answer == {"said": "hello", "by": "ada"}
    assert len(received) == 1
    assert isinstance(received[0], ChatMessage)
    assert received[0].author == Author(name="ada")


def test_a_valid_payload_reaches_the_handler_of_a_json_schema_route_as_sent(
    connect: Connect, received: list[Any]
) -> None:
    client = connect()
    assert client.call("chat json", VALID_JSON, timeout=TIMEOUT) == {"said": "hello"}
    assert received == [VALID_JSON]


@pytest.mark.parametrize(
    ("payload", "path", "kind"),
    [
        ({"room": "lobby", "author": {"name": "ada"}}, "/text", "missing"),
        ({**VALID, "text": 42}, "/text", "string_type"),
        ({**VALID, "text": ""}, "/text", "string_too_short"),
        ({**VALID, "author": {"name": "x" * 25}}, "/author/name", "string_too_long"),
        ({**VALID, "tags": ["a", "b", "c", "d"]}, "/tags", "too_long"),
        ({**VALID, "colour": "red"}, "/colour", "extra_forbidden"),
        ("just text", "", "model_type"),
        ([1, 2], "", "model_type"),
    ],
    ids=[
        "missing",
        "wrong-type",
        "too-short",
        "nested",
        "too-many-items",
        "extra",
        "not-an-object",
        "a-list",
    ],
)
def test_each_kind_of_pydantic_error_is_reported_by_path_and_type(
    connect: Connect, received: list[Any], payload: Any, path: str, kind: str
) -> None:
    client = connect()
    errors = invalid_errors(client.call("chat", payload, timeout=TIMEOUT))
    assert [(error["path"], error["type"]) for error in errors] == [(path, kind)]
    assert received == []


@pytest.mark.parametrize(
    ("payload", "path", "kind"),
    [
        ({"room": "lobby"}, "", "required"),
        ({**VALID_JSON, "text": 42}, "/text", "type"),
        ({**VALID_JSON, "text": ""}, "/text", "minLength"),
        ({**VALID_JSON, "priority": 7}, "/priority", "maximum"),
        ({**VALID_JSON, "tags": ["a", 1]}, "/tags/1", "type"),
        ({**VALID_JSON, "colour": "red"}, "", "additionalProperties"),
        (["not", "an", "object"], "", "type"),
    ],
    ids=["required", "wrong-type", "too-short", "maximum", "array-item", "extra", "not-an-object"],
)
def test_each_kind_of_json_schema_error_is_reported_by_path_and_keyword(
    connect: Connect, received: list[Any], payload: Any, path: str, kind: str
) -> None:
    client = connect()
    errors = invalid_errors(client.call("chat json", payload, timeout=TIMEOUT))
    assert [(error["path"], error["type"]) for error in errors] == [(path, kind)]
    assert received == []


@pytest.mark.parametrize("event", ["chat", "chat json"])
@pytest.mark.parametrize("args", [(), ({"room": "a"}, {"text": "b"})], ids=["none", "two"])
def test_an_event_with_other_than_one_argument_is_invalid(
    connect: Connect, received: list[Any], event: str, args: tuple[Any, ...]
) -> None:
    client = connect()
    answer = client.call(event, args or None, timeout=TIMEOUT)
    errors = invalid_errors(answer)
    assert errors == [
        {
            "path": "",
            "type": "arguments",
            "message": f"expected exactly one argument, got {len(args)}",
        }
    ]
    assert received == []


@pytest.mark.parametrize("event", ["chat", "chat json"])
def test_an_oversized_field_is_rejected_without_echoing_it(
    connect: Connect, received: list[Any], event: str
) -> None:
    huge = "x" * 200_000
    client = connect()
    answer = client.call(event, {"room": huge, "text": huge}, timeout=TIMEOUT)
    errors = invalid_errors(answer)
    assert errors, answer
    encoded = json.dumps(answer)
    assert len(encoded) < 2_000
    assert "x" * 100 not in encoded
    assert received == []


def test_the_error_list_is_cut_at_its_bound(connect: Connect, sockevents: SockEvents) -> None:
    @sockevents.on("numbers", schema={"type": "array", "items": {"type": "integer"}})
    def numbers(values: list[int]) -> int:
        return len(values)

    client = connect()
    errors = invalid_errors(client.call("numbers", ["no"] * 1000, timeout=TIMEOUT))
    assert len(errors) == MAX_ERRORS
    assert [error["path"] for error in errors] == [f"/{index}" for index in range(MAX_ERRORS)]


def test_a_client_that_asked_for_no_ack_is_rejected_silently_and_the_rejection_is_published(
    connect: Connect, sockevents: SockEvents, received: list[Any]
) -> None:
    seen: list[Event] = []
    sockevents.listen("*")(seen.append)
    client = connect()
    client.emit("chat", {"text": "no room"})
    assert client.call("chat", VALID, timeout=TIMEOUT)["said"] == "hello"
    rejected = [e for e in seen if e.name == "chat" and e.outcome is Outcome.REJECTED]
    assert len(rejected) == 1
    assert rejected[0].reason == INVALID_PAYLOAD
    assert rejected[0].args == ({"text": "no room"},)  # listeners see what was sent
    assert len(received) == 1
    assert sockevents.stats()["rejections"] == {INVALID_PAYLOAD: 1}


def test_guards_decide_before_the_payload_is_validated(
    connect: Connect, sockevents: SockEvents, received: list[Any]
) -> None:
    @sockevents.guard("chat")
    def closed(event: Event) -> None:
        raise Reject("chat is closed")

    client = connect()
    assert client.call("chat", "not even an object", timeout=TIMEOUT) == {
        "error": "rejected",
        "reason": "chat is closed",
    }
    assert received == []


def test_a_pattern_route_with_a_schema_gets_the_event_name_then_the_model(
    connect: Connect, sockevents: SockEvents
) -> None:
    @sockevents.on("say.*", schema=Author)
    def say(name: str, author: Author) -> list[str]:
        return [name, type(author).__name__, author.name]

    client = connect()
    assert client.call("say.hi", {"name": "ada"}, timeout=TIMEOUT) == ["say.hi", "Author", "ada"]
    errors = invalid_errors(client.call("say.hi", {"name": ""}, timeout=TIMEOUT))
    assert [error["path"] for error in errors] == ["/name"]


def test_a_connect_schema_checks_auth_and_refuses_an_invalid_one_with_its_errors(
    connect: Connect, sockevents: SockEvents
) -> None:
    authors: list[Author] = []

    @sockevents.on("connect", schema=Author)
    def on_connect(auth: Author) -> None:
        authors.append(auth)

    connect(auth={"name": "ada"})
    assert authors == [Author(name="ada")]
    refused = socketio.Client(reconnection=False)
    errors: list[Any] = []
    refused.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(refused, auth={"name": ""})
    assert errors == [
        {
            "message": INVALID_PAYLOAD,
            "data": {
                "error": "invalid",
                "errors": [
                    {
                        "path": "/name",
                        "type": "string_too_short",
                        "message": "String should have at least 1 character",
                    }
                ],
            },
        }
    ]
    assert authors == [Author(name="ada")]
