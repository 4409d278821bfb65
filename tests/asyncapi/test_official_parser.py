"""The generated documents pass the official AsyncAPI parser with no error and no warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pydantic import BaseModel, Field

from flask_sockevents import SockEvents
from flask_sockevents.asyncapi import AsyncAPI

from ._parser import defects, require_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROOT = EXAMPLES.parent


def generated_by_the_command(app_path: Path, tmp_path: Path) -> dict[str, Any]:
    """``flask --app APP sockevents asyncapi``, run as a user would, parsed."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "AUDIT_LOG": str(tmp_path / "a.jsonl")}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(app_path), "sockevents", "asyncapi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.mark.parametrize("example", ["chat", "audit_metrics"])
def test_the_document_of_an_example_has_no_errors_or_warnings(example: str, tmp_path: Path) -> None:
    require_parser()
    document = generated_by_the_command(EXAMPLES / example / "app.py", tmp_path)
    assert document["asyncapi"] == "3.0.0"
    assert document["operations"], "the example's routes are in the document"
    assert defects(document, tmp_path) == []


class Author(BaseModel):
    name: str = Field(min_length=1)


class Post(BaseModel):
    text: str = Field(max_length=500)
    author: Author
    replies: list[Post] = []


def test_patterns_nested_models_emits_and_replies_have_no_errors_or_warnings(
    tmp_path: Path,
) -> None:
    app = Flask("forum")
    sockevents = SockEvents(app)
    asyncapi = AsyncAPI(sockevents, version="2.0.0", description="A forum.")

    @sockevents.on("connect", namespace="/rooms/*/threads/*", schema=Author)
    def enter(auth: Author) -> None:
        """Enter a thread under a name."""

    @sockevents.on("post", namespace="/rooms/*/threads/*", schema=Post, ack=Post)
    def post(message: Post) -> Post:
        """Post a message; the ack is the stored post."""
        return message

    @sockevents.on("*", namespace="/rooms/*/threads/*")
    def anything(name: str, *args: Any) -> None:
        """Anything else."""

    @sockevents.on("admin.*", schema={"type": "object", "required": ["token"]})
    def admin(name: str, command: dict[str, Any]) -> None:
        """Administration."""

    sockevents.emits("post", Post, namespace="/rooms/*/threads/*", description="A new post.")
    sockevents.emits("ping", {"type": "integer"}, ack={"type": "string"})
    with app.test_request_context(base_url="http://chat.example:8000/"):
        document = asyncapi.document(asyncapi.request_server())
    assert document["servers"]["default"]["host"] == "chat.example:8000"
    assert defects(document, tmp_path) == []
