"""Run the official AsyncAPI parser (npm ``@asyncapi/parser``) on a document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
VALIDATE = HERE / "validate.js"
PARSER = HERE / "node_modules" / "@asyncapi" / "parser"

#: Spectral's severities: what the parser reports at these levels is a defect.
ERROR, WARNING = 0, 1


def require_parser() -> str:
    """The path of ``node``; skips the test without node or the parser (fails under CI)."""
    node = shutil.which("node")
    if node is None or not PARSER.is_dir():
        message = "the AsyncAPI parser is not installed: `make node-deps` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must validate the documents")
        pytest.skip(message)
    return node


def diagnostics(document: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """What the parser says about ``document``: every diagnostic, any severity."""
    node = require_parser()
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [node, str(VALIDATE), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["diagnostics"])


def defects(document: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """The errors and warnings the parser reports about ``document``."""
    return [d for d in diagnostics(document, tmp_path) if d["severity"] in (ERROR, WARNING)]
