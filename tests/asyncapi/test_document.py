"""The AsyncAPI document reads the routing table: channels, operations, messages, replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from pydantic import BaseModel

from flask_sockevents import SockEvents
from flask_sockevents.asyncapi import AsyncAPI, asyncapi_document
from flask_sockevents.cli import sockevents_cli
from flask_sockevents.monitor import Monitor


class Author(BaseModel):
    name: str


class ChatMessage(BaseModel):
    text: str
    author: Author


def make() -> tuple[Flask, SockEvents]:
    app = Flask("chat")
    return app, SockEvents(app)


def resolve(document: dict[str, Any], ref: dict[str, str]) -> Any:
    """Follow a local ``$ref`` in ``document``."""
    found: Any = document
    for part in ref["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    return found


def operations(document: dict[str, Any], action: str) -> dict[str, dict[str, Any]]:
    """The operations of ``action``, by the name of their message."""
    found = {}
    for operation in document["operations"].values():
        if operation["action"] == action:
            (message,) = operation["messages"]
            found[resolve(document, message)["name"]] = operation
    return found


def test_every_namespace_of_a_route_or_an_emit_is_a_channel() -> None:
    _, sockevents = make()
    sockevents.on("chat")(lambda text: None)
    sockevents.on("history", namespace="/bus")(lambda: [])
    sockevents.emits("news", namespace="/feed")
    document = asyncapi_document(sockevents)
    addresses = sorted(channel["address"] for channel in document["channels"].values())
    assert addresses == ["/", "/bus", "/feed"]


def test_a_namespace_pattern_is_an_address_with_parameters() -> None:
    _, sockevents = make()
    sockevents.on("post", namespace="/rooms/*/threads/*")(lambda text: None)
    (channel,) = asyncapi_document(sockevents)["channels"].values()
    assert channel["address"] == "/rooms/{wildcard}/threads/{wildcard2}"
    assert set(channel["parameters"]) == {"wildcard", "wildcard2"}
    assert "'/rooms/*/threads/*'" in channel["description"]


def test_each_handler_route_is_a_receive_operation_with_its_docstring() -> None:
    _, sockevents = make()

    @sockevents.on("chat")
    def chat(text: str) -> None:
        """Say something to the room.

        More details that stay out of the summary.
        """

    sockevents.on("join")(lambda room: None)
    sockevents.on("disconnect")(lambda: None)
    document = asyncapi_document(sockevents)
    received = operations(document, "receive")
    assert set(received) == {"chat", "join"}  # a disconnect carries no message
    assert received["chat"]["summary"] == "Say something to the room."
    assert resolve(document, received["chat"]["channel"])["address"] == "/"


def test_a_payload_schema_is_a_component_with_its_nested_references_kept_valid() -> None:
    _, sockevents = make()
    sockevents.on("chat", schema=ChatMessage)(lambda message: None)
    document = asyncapi_document(sockevents)
    message = resolve(document, operations(document, "receive")["chat"]["messages"][0])
    assert message["payload"] == {"$ref": "#/components/schemas/ChatMessage"}
    schema = resolve(document, message["payload"])
    author = resolve(document, schema["properties"]["author"])
    assert author["properties"]["name"]["type"] == "string"


def test_a_json_schema_payload_is_a_component_too() -> None:
    _, sockevents = make()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "integer"}
    sockevents.on("count", schema=schema)(lambda number: None)
    document = asyncapi_document(sockevents)
    assert document["components"]["schemas"]["Count"] == {"type": "integer"}


def test_a_route_with_a_schema_replies_with_the_invalid_payload_error() -> None:
    _, sockevents = make()
    sockevents.on("chat", schema=ChatMessage)(lambda message: None)
    sockevents.on("plain")(lambda: None)
    document = asyncapi_document(sockevents)
    received = operations(document, "receive")
    assert "reply" not in received["plain"]
    (reply,) = received["chat"]["reply"]["messages"]
    error = resolve(document, resolve(document, reply))
    assert error["name"] == "invalid payload"
    payload = resolve(document, error["payload"])
    assert payload["properties"]["error"]["const"] == "invalid"


def test_an_ack_schema_is_the_reply_of_its_route_and_of_its_emit() -> None:
    _, sockevents = make()
    sockevents.on("join", ack=Author)(lambda room: None)
    sockevents.emits("ask", {"type": "string"}, ack={"type": "boolean"})
    document = asyncapi_document(sockevents)
    (join_reply,) = operations(document, "receive")["join"]["reply"]["messages"]
    assert resolve(document, resolve(document, join_reply)["payload"])["title"] == "Author"
    (ask_reply,) = operations(document, "send")["ask"]["reply"]["messages"]
    assert resolve(document, resolve(document, ask_reply)["payload"]) == {"type": "boolean"}


def test_each_declared_emit_is_a_send_operation_with_its_description() -> None:
    _, sockevents = make()
    sockevents.emits("news", ChatMessage, description="What happened.")
    document = asyncapi_document(sockevents)
    sent = operations(document, "send")
    assert set(sent) == {"news"}
    assert sent["news"]["summary"] == "What happened."


def test_a_pattern_route_is_described_as_a_pattern() -> None:
    _, sockevents = make()
    sockevents.on("room.*")(lambda name, *args: None)
    document = asyncapi_document(sockevents)
    message = resolve(document, operations(document, "receive")["room.*"]["messages"][0])
    assert "pattern route" in message["description"]
    assert "concrete name first" in message["description"]


def test_the_monitors_own_namespace_is_left_out() -> None:
    _, sockevents = make()
    Monitor(sockevents)
    sockevents.on("chat")(lambda text: None)
    document = asyncapi_document(sockevents)
    assert [channel["address"] for channel in document["channels"].values()] == ["/"]


def test_the_document_is_served_as_json_and_as_a_page_to_local_requests() -> None:
    app, sockevents = make()
    AsyncAPI(sockevents, title="Chat")
    sockevents.on("chat", schema=ChatMessage)(lambda message: None)
    http = app.test_client()
    served = http.get("/sockevents/asyncapi.json")
    assert served.status_code == 200
    assert served.get_json()["info"]["title"] == "Chat"
    assert served.get_json()["servers"]["default"]["host"] == "localhost"
    page = http.get("/sockevents/asyncapi")
    assert page.status_code == 200
    assert b"<code>chat</code>" in page.data
    assert b"ChatMessage" in page.data


@pytest.mark.parametrize("path", ["/sockevents/asyncapi.json", "/sockevents/asyncapi"])
def test_a_remote_request_is_refused_by_default(path: str) -> None:
    app, sockevents = make()
    AsyncAPI(sockevents)
    http = app.test_client()
    assert http.get(path, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


def test_the_page_links_to_the_json_document_and_to_the_monitor() -> None:
    app, sockevents = make()
    Monitor(sockevents)
    AsyncAPI(sockevents)
    page = app.test_client().get("/sockevents/asyncapi")
    assert b'href="/sockevents/asyncapi.json"' in page.data
    assert b'href="/sockevents/"' in page.data


def test_the_monitors_access_check_guards_the_document() -> None:
    app, sockevents = make()
    Monitor(sockevents, check=lambda: False)
    AsyncAPI(sockevents, path="/contract.json")
    assert app.test_client().get("/contract.json").status_code == 403


def test_the_command_prints_the_document_of_the_app() -> None:
    app, sockevents = make()
    AsyncAPI(sockevents, title="Chat", version="3.1.4")
    sockevents.on("chat", schema=ChatMessage)(lambda message: None)
    result = app.test_cli_runner().invoke(sockevents_cli, ["asyncapi", "--api-version", "9"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed == asyncapi_document(sockevents, title="Chat", version="9")


def test_the_command_refuses_an_app_without_sockevents() -> None:
    result = Flask("bare").test_cli_runner().invoke(sockevents_cli, ["asyncapi"])
    assert result.exit_code != 0
    assert "has no SockEvents" in result.output
