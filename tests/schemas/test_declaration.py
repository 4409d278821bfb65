"""Declaring contracts: what a route or an emit accepts as a schema, and what it refuses at once."""

from __future__ import annotations

import warnings
from typing import Any

import jsonschema
import pytest
from flask import Flask
from pydantic import BaseModel

from flask_sockevents import SockEvents
from flask_sockevents.listeners import Metrics
from flask_sockevents.schemas import EmitContractWarning, payload_schema


class News(BaseModel):
    headline: str


def make(debug: bool = False) -> tuple[Flask, SockEvents]:
    app = Flask(__name__)
    app.debug = debug
    return app, SockEvents(app)


def test_a_disconnect_handler_cannot_declare_a_payload_schema() -> None:
    _, sockevents = make()
    with pytest.raises(TypeError, match="disconnect"):
        sockevents.on("disconnect", schema=News)(lambda reason: None)


def test_an_invalid_json_schema_is_refused_when_declared() -> None:
    _, sockevents = make()
    with pytest.raises(jsonschema.SchemaError):
        sockevents.on("chat", schema={"type": "no such type"})(lambda message: None)


def test_a_schema_that_is_neither_a_type_nor_a_dict_is_refused() -> None:
    with pytest.raises(TypeError, match="pydantic model"):
        payload_schema(42)


def test_an_invalid_payload_is_counted_by_metrics_under_its_reason() -> None:
    app, sockevents = make()
    metrics = Metrics(sockevents, path=None)
    sockevents.on("news", schema=News)(lambda news: news.headline)
    client = sockevents.test_client(app)
    client.emit("news", {"headline": 1})
    client.emit("news", {"headline": "ok"})
    value = metrics.registry.get_sample_value(
        "sockevents_rejections_total", {"namespace": "/", "reason": "invalid payload"}
    )
    assert value == 1.0


def test_emits_declares_the_event_with_its_schema_for_its_namespace() -> None:
    _, sockevents = make()
    sockevents.emits("news", News, namespace="/feed", description="What happened.")
    declared = sockevents.bus.router.declared_emit("/feed", "news")
    assert declared is not None
    assert declared.schema is not None and declared.schema.source is News
    assert declared.description == "What happened."
    assert sockevents.bus.router.declared_emit("/", "news") is None


def test_in_debug_an_emit_that_breaks_its_declared_schema_is_warned_about() -> None:
    _, sockevents = make(debug=True)
    sockevents.emits("news", News)
    with pytest.warns(EmitContractWarning, match="'news'"):
        sockevents.emit("news", {"headline": 404})


def test_in_debug_an_emit_that_keeps_its_declared_schema_is_not_warned_about() -> None:
    _, sockevents = make(debug=True)
    sockevents.emits("news", {"type": "object", "required": ["headline"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sockevents.emit("news", {"headline": "fine"})
        sockevents.emit("other", "undeclared events are not checked")


def test_out_of_debug_emits_are_not_checked() -> None:
    _, sockevents = make(debug=False)
    sockevents.emits("news", News)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sockevents.emit("news", {"headline": 404})


def test_a_compiled_schema_is_accepted_as_is_and_lists_what_is_wrong_with_a_value() -> None:
    schema: dict[str, Any] = {"type": "string"}
    compiled = payload_schema(schema)
    assert payload_schema(compiled) is compiled
    assert compiled.errors_of("text") == []
    assert compiled.errors_of(3)[0]["type"] == "type"
