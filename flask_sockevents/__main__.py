"""``python -m flask_sockevents APP``: serve a Flask app under gevent, patched first.

Usage::

    python -m flask_sockevents app:app --host 127.0.0.1 --port 5000
    python -m flask_sockevents 'app:create_app()' --no-debug --shutdown-timeout 20
    python -m flask_sockevents app:app --header-timeout 5 --max-http-connections-per-address 0
    python -m flask_sockevents --help

``APP`` is what ``flask --app`` takes: ``module``, ``module:name``,
``module:create_app()`` or ``module:create_app(key="value")``, or a path to
a ``.py`` file.

Why this module re-executes itself
----------------------------------

gevent makes the blocking parts of the standard library (``socket``,
``ssl``, ``threading``, ``select``, ``time.sleep``...) cooperative by
monkey-patching them. Patching only reaches code that looks those names up
*after* it: a module that ran ``from ssl import SSLContext`` or created a
lock while being imported keeps the blocking original, which stalls every
client of the process at once (or, for ``ssl``, fails with
``RecursionError``). So ``gevent.monkey.patch_all()`` must run before Flask,
python-socketio, the Redis client and the application are imported.

``python -m flask_sockevents`` imports the package ``flask_sockevents``
first, and with it Flask, python-socketio and (through its HTTP client)
``ssl``, before this file runs: too late to patch. So when started that way
this module replaces the process (``os.execv``: same PID, same interpreter
options, same arguments) with ``python <this file> ...``. Run as a plain
script it imports nothing but ``os`` and ``sys`` before patching, then
imports the package and the app.

``flask sockevents run`` re-executes itself the same way (see
:mod:`flask_sockevents.cli`).
"""

import os
import sys


def _interpreter_options() -> list[str]:
    """The options given to the interpreter before ``-m`` (``-W error``, ``-X dev``...)."""
    argv = sys.orig_argv
    for index, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-m"):
            return argv[1:index]
    return []


def _serve_patched() -> None:
    """Patch the standard library for gevent, then import everything and serve."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path[0] = os.getcwd()  # like ``python -m``: the app is imported from the cwd
    from gevent import monkey

    monkey.patch_all()

    from flask_sockevents.cli import main

    main(sys.argv[1:])


if __name__ == "__main__":
    if __package__:  # ``python -m flask_sockevents``: flask, ssl... are imported already
        os.execv(
            sys.executable,
            [sys.executable, *_interpreter_options(), os.path.abspath(__file__), *sys.argv[1:]],
        )
    else:
        _serve_patched()
