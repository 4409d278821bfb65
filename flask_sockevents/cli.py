"""The command line: ``python -m flask_sockevents APP`` and ``flask sockevents run``.

Both serve the app's :class:`~flask_sockevents.SockEvents` under gevent's
pywsgi with websocket support, in a process where gevent monkey-patched the
standard library before anything else was imported, and both stop
gracefully on SIGTERM or SIGINT (:mod:`flask_sockevents.shutdown`).

``python -m flask_sockevents`` is the form to use in production: see
:mod:`flask_sockevents.__main__` for why it patches before importing.

``flask sockevents run`` runs inside the ``flask`` command, which has
already imported Flask, click, this package and ``ssl`` (and may have
imported the app to list its commands) before any code of ours runs, too
late for gevent to patch them. So when the app is named by ``--app``,
``FLASK_APP`` or a ``wsgi.py``/``app.py`` file, the command replaces its
process by ``python -m flask_sockevents <app> <options>`` (same PID, same
environment, ``.env`` files included). Only a custom ``FlaskGroup`` that
builds the app with a ``create_app`` callable is served in the ``flask``
process itself, patched late, with a warning: patch at the very top of your
entry point there (``from gevent import monkey; monkey.patch_all()`` before
any other import), or use ``python -m flask_sockevents``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo, pass_script_info

__all__ = ["main", "serve_command", "sockevents_cli"]

F = TypeVar("F", bound=Callable[..., Any])

_MAIN_SCRIPT = Path(__file__).with_name("__main__.py")


def serve_options(command: F) -> F:
    """Decorator: the options shared by both commands."""
    options = [
        click.option(
            "--host",
            "-h",
            default="127.0.0.1",
            show_default=True,
            help="The interface to bind.",
        ),
        click.option(
            "--port", "-p", type=int, default=5000, show_default=True, help="The port to bind."
        ),
        click.option(
            "--debug/--no-debug",
            default=None,
            help="Flask debug mode (default: the app's, e.g. from FLASK_DEBUG); "
            "also turns on the reloader and the request log.",
        ),
        click.option(
            "--reload/--no-reload",
            default=None,
            help="Restart when a source file changes (default: in debug mode). "
            "For development only; stop it with Ctrl-C.",
        ),
        click.option(
            "--log-output/--no-log-output",
            default=None,
            help="Log each HTTP request (default: in debug mode).",
        ),
        click.option(
            "--shutdown-timeout",
            type=float,
            default=None,
            help="Seconds SIGTERM or SIGINT waits for running handlers "
            "(default: the app's shutdown_timeout option, 10).",
        ),
        click.option(
            "--header-timeout",
            type=click.FloatRange(min=0),
            default=None,
            help="Seconds for a request's line and headers to arrive, or the socket is closed; "
            "0: no limit (default: the app's header_timeout option, 10).",
        ),
        click.option(
            "--body-timeout",
            type=click.FloatRange(min=0),
            default=None,
            help="Seconds for a request's body to arrive after its headers, or the socket is "
            "closed; 0: no limit (default: the app's body_timeout option, 30).",
        ),
        click.option(
            "--max-http-connections",
            type=click.IntRange(min=0),
            default=None,
            help="Open sockets in total, half-open ones included; more are closed at accept; "
            "0: as many as ulimit -n allows (default: the app's max_http_connections option, "
            "1000).",
        ),
        click.option(
            "--max-http-connections-per-address",
            type=click.IntRange(min=0),
            default=None,
            help="Open sockets from one remote address; more are closed at accept; 0: no limit, "
            "as behind a proxy (default: the app's max_http_connections_per_address option, 100).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def serve(
    app: Flask,
    host: str,
    port: int,
    debug: bool | None,
    reload: bool | None,
    log_output: bool | None,
    shutdown_timeout: float | None,
    **connection_limits: float | None,
) -> None:
    """Serve ``app``'s SockEvents until SIGTERM or SIGINT.

    :param connection_limits: ``header_timeout``, ``body_timeout``,
        ``max_http_connections``, ``max_http_connections_per_address``: those
        not ``None`` override the app's options.
    :raises click.UsageError: when the app has no SockEvents.
    """
    sockevents = app.extensions.get("sockevents")
    if sockevents is None:
        raise click.UsageError(
            f"the app {app.import_name!r} has no SockEvents: create one with "
            "SockEvents(app) (or call sockevents.init_app(app)) in the app or its factory"
        )
    sockevents.run(
        app,
        host=host,
        port=port,
        debug=debug,
        use_reloader=reload,
        log_output=log_output,
        shutdown_timeout=shutdown_timeout,
        **{name: value for name, value in connection_limits.items() if value is not None},
    )


@click.command(
    "python -m flask_sockevents",
    context_settings={"help_option_names": ["--help"]},
)
@click.argument("app", required=False)
@serve_options
def serve_command(app: str | None, **options: Any) -> None:
    """Serve APP's Socket.IO and HTTP under gevent until SIGTERM or SIGINT.

    APP is what `flask --app` takes: module, module:name, module:create_app(),
    module:create_app(key="value") or a path to a .py file. Without it,
    FLASK_APP is used, then a wsgi.py or app.py in the current directory.
    """
    info = ScriptInfo(app_import_path=app or os.environ.get("FLASK_APP"))
    serve(info.load_app(), **options)


def main(argv: list[str] | None = None) -> None:
    """Run ``python -m flask_sockevents`` with ``argv`` (``sys.argv[1:]`` by default).

    Patch the standard library for gevent before calling this; the module
    ``flask_sockevents.__main__`` does.
    """
    serve_command.main(args=argv, prog_name="python -m flask_sockevents")


sockevents_cli = AppGroup("sockevents", help="Serve the app's Socket.IO (flask_sockevents).")


@sockevents_cli.command("run")
@serve_options
@pass_script_info
def run_command(info: ScriptInfo, **options: Any) -> None:
    """Serve the app under gevent with websockets until SIGTERM or SIGINT.

    Runs `python -m flask_sockevents <app>` in this process's place, so that
    gevent patches the standard library before the app is imported.
    """
    app_path = info.app_import_path or _discovered_app()
    if app_path is None and info.create_app is None:
        info.load_app()  # raises flask's "Could not locate a Flask application"
    if app_path is not None:
        os.execv(sys.executable, [sys.executable, str(_MAIN_SCRIPT), app_path, *_argv(options)])
    warnings.warn(
        "flask sockevents run: the app comes from a create_app callable, so it is served "
        "in the flask process, where gevent patches the standard library late; patch at the "
        "top of your entry point or use `python -m flask_sockevents`",
        RuntimeWarning,
        stacklevel=1,
    )
    from gevent import monkey

    monkey.patch_all()
    serve(info.load_app(), **options)


def _discovered_app() -> str | None:
    """The file ``flask`` would find the app in without ``--app``."""
    for name in ("wsgi.py", "app.py"):
        if Path(name).is_file():
            return name
    return None


def _argv(options: dict[str, Any]) -> list[str]:
    """The command line options for ``options`` as ``python -m flask_sockevents`` takes them."""
    argv = ["--host", options["host"], "--port", str(options["port"])]
    for name in ("debug", "reload", "log_output"):
        value = options[name]
        if value is not None:
            flag = name.replace("_", "-")
            argv.append(f"--{flag}" if value else f"--no-{flag}")
    for name in (
        "shutdown_timeout",
        "header_timeout",
        "body_timeout",
        "max_http_connections",
        "max_http_connections_per_address",
    ):
        if options[name] is not None:
            argv += ["--" + name.replace("_", "-"), str(options[name])]
    return argv


@sockevents_cli.command("asyncapi")
@click.option("--title", default=None, help="The document's title (default: the app's).")
@click.option("--api-version", default=None, help="The version of the app's API (default: 1.0.0).")
@click.option("--indent", type=int, default=2, show_default=True, help="JSON indentation.")
def asyncapi_command(title: str | None, api_version: str | None, indent: int) -> None:
    """Print the AsyncAPI 3.0 document of the app's routes, as JSON.

    Uses the options of the app's AsyncAPI view when it has one
    (flask_sockevents.asyncapi.AsyncAPI); --title and --api-version override
    them. Example: flask --app app sockevents asyncapi > spec.json
    """
    import json

    from flask import current_app

    from .asyncapi import asyncapi_document

    sockevents = current_app.extensions.get("sockevents")
    if sockevents is None:
        raise click.UsageError(
            f"the app {current_app.import_name!r} has no SockEvents: create one with "
            "SockEvents(app) (or call sockevents.init_app(app)) in the app or its factory"
        )
    served = current_app.extensions.get("sockevents_asyncapi")
    options: dict[str, Any] = dict(served.options) if served is not None else {}
    if title is not None:
        options["title"] = title
    if api_version is not None:
        options["version"] = api_version
    click.echo(json.dumps(asyncapi_document(sockevents, **options), indent=indent))
