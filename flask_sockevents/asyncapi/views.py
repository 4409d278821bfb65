"""The AsyncAPI document over HTTP: as JSON and as a page, behind the Monitor's access check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, render_template_string, request

from .document import asyncapi_document, resolve

__all__ = ["AsyncAPI"]


class AsyncAPI:
    """Serves the AsyncAPI document of the app's routes, as JSON and as a page.

    ::

        from flask_sockevents.asyncapi import AsyncAPI

        AsyncAPI(sockevents, title="Chat", version="2.1.0")
        # GET /sockevents/asyncapi.json and /sockevents/asyncapi (the page)

    :param sockevents: the extension; when given, :meth:`init_app` is called.
    :param path: the URL of the JSON document, or ``None`` for none.
    :param html_path: the URL of the HTML view, or ``None`` for none.
    :param check: called with no arguments in the request context; false
        answers 403. Default: the Monitor's check when the app has a
        :class:`~flask_sockevents.monitor.Monitor`, else the Monitor's default
        (:func:`~flask_sockevents.monitor.local_or_debug`).
    :param options: passed to :func:`asyncapi_document` (``title``,
        ``version``, ``description``, ``servers``, ``exclude_namespaces``).
        Without ``servers``, the served document names the server it was
        fetched from.
    """

    def __init__(
        self,
        sockevents: Any = None,
        *,
        path: str | None = "/sockevents/asyncapi.json",
        html_path: str | None = "/sockevents/asyncapi",
        check: Callable[[], bool] | None = None,
        **options: Any,
    ) -> None:
        self.path = path
        self.html_path = html_path
        self.check = check
        self.options = options
        self.sockevents: Any = None
        if sockevents is not None:
            self.init_app(sockevents)

    def init_app(self, sockevents: Any, app: Flask | None = None) -> None:
        """Serve the document of ``sockevents`` on its app (or on ``app``)."""
        app = app if app is not None else sockevents.app
        if app is None:
            raise RuntimeError(
                "AsyncAPI needs a Flask app: call sockevents.init_app(app) first, "
                "or pass it: asyncapi.init_app(sockevents, app=app)"
            )
        self.sockevents = sockevents
        if self.path is not None:
            app.add_url_rule(self.path, "sockevents_asyncapi", self.json_view, methods=["GET"])
        if self.html_path is not None:
            app.add_url_rule(
                self.html_path, "sockevents_asyncapi_page", self.html_view, methods=["GET"]
            )
        app.extensions["sockevents_asyncapi"] = self

    def document(self, servers: dict[str, Any] | None = None) -> dict[str, Any]:
        """The document, with this view's options (``servers`` overrides theirs)."""
        options = dict(self.options)
        if servers is not None:
            options.setdefault("servers", servers)
        return asyncapi_document(self.sockevents, **options)

    def json_view(self) -> Any:
        """The Flask view answering with the document as JSON."""
        self._require_access()
        return current_app.json.response(self.document(self.request_server()))

    def html_view(self) -> str:
        """The Flask view answering with the document as an HTML page."""
        self._require_access()
        monitor = current_app.extensions.get("sockevents_monitor")
        document = self.document(self.request_server())
        return render_template_string(
            _PAGE,
            document=document,
            resolve=lambda reference: resolve(document, reference),
            json_url=request.script_root + self.path if self.path else None,
            monitor_url=f"{request.script_root}{monitor.url_prefix}/" if monitor else None,
        )

    def _require_access(self) -> None:
        check = self.check
        if check is None:
            monitor = current_app.extensions.get("sockevents_monitor")
            if monitor is not None:
                check = monitor.check
            else:
                from ..monitor import local_or_debug

                check = local_or_debug
        if not check():
            abort(403)

    def request_server(self) -> dict[str, Any]:
        """The AsyncAPI ``servers`` entry of the server the current request reached."""
        path = str(self.sockevents.path or "socket.io").strip("/")
        return {
            "default": {
                "host": request.host,
                "protocol": "wss" if request.is_secure else "ws",
                "pathname": f"{request.script_root}/{path}/",
                "description": "The Socket.IO endpoint (Engine.IO 4, Socket.IO 5; "
                "clients also reach it by HTTP long-polling).",
            }
        }


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ document.info.title }} · AsyncAPI</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; background: #0f1419; color: #d8dee4; }
header, main { max-width: 1000px; margin: 0 auto; padding: 1rem 1.5rem; }
header { border-bottom: 1px solid #2a323c; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
a { color: #4f9dff; } code { color: #f0c674; } .muted { color: #8b949e; }
.op { border: 1px solid #2a323c; border-radius: 6px; padding: .5rem .8rem; margin: .5rem 0; }
.action { display: inline-block; min-width: 4.5rem; font-weight: 600; }
.receive { color: #7ee787; } .send { color: #d2a8ff; }
summary { cursor: pointer; margin: .5rem 0 .2rem; font-weight: 600; }
pre { background: #161b22; padding: .6rem; border-radius: 4px; overflow: auto; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>{{ document.info.title }} <span class="muted">{{ document.info.version }}</span></h1>
  <div class="muted">{{ document.info.description }}</div>
  <div class="muted">AsyncAPI {{ document.asyncapi }}
  {%- if json_url %} · <a href="{{ json_url }}">the document as JSON</a>{% endif %}
  {%- if monitor_url %} · <a href="{{ monitor_url }}">the live monitor</a>{% endif %}</div>
</header>
<main>
{% for key, channel in document.channels.items() %}
  <h2>namespace <code>{{ channel.address }}</code></h2>
  <div class="muted">{{ channel.description }}</div>
  {% for op_key, op in document.operations.items()
        if op.channel["$ref"] == "#/channels/" ~ key %}
    {% for ref in op.messages %}
      {% set message = resolve(ref) %}
      <div class="op">
        <span class="action {{ op.action }}">
          {{- "client →" if op.action == "receive" else "→ client" -}}
        </span>
        <code>{{ message.name }}</code>
        {% if op.summary %}<span class="muted"> — {{ op.summary }}</span>{% endif %}
        {% if message.description %}<div class="muted">{{ message.description }}</div>{% endif %}
        {% if message.payload %}
          <h3>payload <code>{{ message.payload["$ref"].rsplit("/", 1)[1] }}</code></h3>
          <pre>{{ resolve(message.payload) | tojson(indent=2) }}</pre>
        {% else %}<div class="muted">payload: not declared</div>{% endif %}
        {% for reply_ref in (op.reply or {}).get("messages", []) %}
          {% set reply = resolve(reply_ref) %}
          <details>
            <summary>acknowledgement <code>{{ reply.name }}</code>
              {%- if reply.summary %} <span class="muted">— {{ reply.summary }}</span>{% endif %}
            </summary>
            <pre>{{ resolve(reply.payload) | tojson(indent=2) }}</pre>
          </details>
        {% endfor %}
      </div>
    {% endfor %}
  {% endfor %}
{% else %}
  <p class="muted">No routes yet.</p>
{% endfor %}
</main>
</body>
</html>
"""
