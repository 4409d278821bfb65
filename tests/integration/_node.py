"""Run a script with the official JavaScript client, npm's ``socket.io-client``, under Node.js.

The client is the one the chat example installs (``make node-deps`` puts it in
``examples/chat/node_modules``). Without Node.js or the package a test is
skipped, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

__all__ = ["run_node_client"]

NODE_MODULES = Path(__file__).resolve().parents[2] / "examples" / "chat" / "node_modules"


def _require_node() -> str:
    node = shutil.which("node")
    missing = (
        "Node.js is not installed"
        if node is None
        else f"{NODE_MODULES / 'socket.io-client'} is missing"
        if not (NODE_MODULES / "socket.io-client").is_dir()
        else None
    )
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run the Node.js client tests")
        pytest.skip(f"{missing}: `make node-deps` installs socket.io-client")
    assert node is not None
    return node


def run_node_client(script: str, url: str, tmp_path: Path, timeout: float = 20.0) -> Any:
    """Run ``script`` (JavaScript) with the server's ``url`` as ``process.argv[2]``.

    The script reports by printing one line of JSON, its last line of output,
    which is returned decoded. ``require("socket.io-client")`` finds the npm client.

    :raises AssertionError: when the script fails or prints no JSON.
    """
    node = _require_node()
    path = tmp_path / "client.js"
    path.write_text(script)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    done = subprocess.run(
        [node, str(path), url], env=env, capture_output=True, text=True, timeout=timeout
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"node failed ({done.returncode}): {done.stderr}"
    return json.loads(lines[-1])
