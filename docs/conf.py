"""Sphinx configuration of the flask_sockevents documentation.

Build with ``make docs`` (warnings are errors); the site is written to
``docs/_build/html``.
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Document the checkout this file belongs to, installed or not.
sys.path.insert(0, str(ROOT))

_metadata = configparser.ConfigParser()
_metadata.read(ROOT / "setup.cfg")

project = "flask_sockevents"
author = "the flask_sockevents authors"
copyright = "the flask_sockevents authors"
release = version = _metadata["metadata"]["version"]

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": True}
# The gunicorn worker's base class comes from gunicorn, which only the ``test``
# extra installs: the ``docs`` extra alone must be enough to build the site.
autodoc_mock_imports = ["gunicorn"]

html_theme = "furo"
html_title = "flask_sockevents"

# -- cross-references -----------------------------------------------------------
# ``-n`` (nitpicky) makes every unresolved reference an error. References to
# other projects cannot resolve offline (no intersphinx inventories are
# fetched during the build), so only references into flask_sockevents are
# checked; those are resolved below through the names the package re-exports.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!flask_sockevents\b)[\w.]*\.[\w.]+"),  # dotted names of other projects
    (r"py:.*", r"(Flask|Callable|Any|Iterable|Iterator|Mapping|Counter|F|T|Per)"),
    (r"py:.*", r"flask_sockevents\.[\w.]*\.(F|Per)"),  # type variables and aliases
    (r"py:.*", r"([\w.]*\.)?_\w+"),  # private helpers and bases
    (r"py:mod", r"logging"),
]
nitpick_ignore = [
    # Documented in their docstrings' prose, not as objects of their own:
    # instance attributes, ``Event``'s fields, constants outside ``__all__``,
    # a private module's helper, and dependencies' exceptions named bare.
    ("py:attr", "registry"),
    ("py:attr", "check"),
    ("py:attr", "limits"),
    ("py:attr", "polls_waiting"),
    ("py:attr", "received_at"),
    ("py:data", "RESERVED_EVENT_NAMES"),
    ("py:data", "FILE_HEADROOM"),
    ("py:func", "cut"),
    ("py:func", "handler_class"),
    ("py:exc", "ContentTooLongError"),
    ("py:exc", "ProtocolError"),
    ("py:data", "SERVER_OPTIONS"),
    ("py:data", "RELOADER_OPTIONS"),
    ("py:attr", "flask_sockevents.Bus.around"),
    ("py:data", "DEFAULT_HEADERS"),
    ("py:data", "flask_sockevents.cluster.DEFAULT_HEADERS"),
]


def _canonical_name(target: str, module: str | None) -> str | None:
    """The dotted name where the object ``target`` (seen from ``module``) is defined."""
    import importlib

    candidates = [target]
    if module:
        candidates.insert(0, f"{module}.{target}")
    for candidate in candidates:
        parts = candidate.split(".")
        for split in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            owner = None
            try:
                for attribute in parts[split:]:
                    owner, obj = obj, getattr(obj, attribute)
            except AttributeError:
                break
            defined_in = getattr(obj, "__module__", None)
            qualname = getattr(obj, "__qualname__", None)
            if defined_in and qualname and defined_in.startswith("flask_sockevents"):
                return f"{defined_in}.{qualname}"
            if owner is not None and hasattr(owner, "__qualname__"):
                # an attribute or data member of a class: name it through its class
                return f"{owner.__module__}.{owner.__qualname__}.{parts[-1]}"
            if isinstance(owner, type(importlib)) and owner.__name__.startswith("flask_sockevents"):
                return f"{owner.__name__}.{parts[-1]}"
            break
    return None


def _resolve_reexported(app, env, node, contnode):  # type: ignore[no-untyped-def]
    """Resolve ``flask_sockevents.Event`` and the like to where they are documented."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    try:
        canonical = _canonical_name(target, node.get("py:module"))
    except Exception:  # e.g. a LocalProxy (``current_event``) read outside dispatch
        return None
    domain = env.get_domain("py")
    if canonical is None or canonical == target:
        canonical = _documented_suffix(domain, target, node.get("py:module"))
    if canonical is None:
        return None
    return domain.resolve_xref(
        env, node.get("refdoc"), app.builder, node.get("reftype"), canonical, node, contnode
    )


def _documented_suffix(domain, target: str, module: str | None) -> str | None:  # type: ignore[no-untyped-def]
    """The one documented object named ``target`` (nearest ``module`` first), if any."""
    if not target or target.startswith("flask_sockevents."):
        return None
    found = [name for name in domain.objects if name.endswith("." + target)]
    if module:
        nearest = [name for name in found if name.startswith(module + ".")]
        found = nearest or found
    return found[0] if len(found) == 1 else None


def _signal_doc(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """A signal's description is the ``doc`` it was created with (blinker keeps it)."""
    from blinker import NamedSignal

    if what == "data" and isinstance(obj, NamedSignal) and not lines and obj.__doc__:
        lines.append(obj.__doc__)


#: Modules left out of the API reference on purpose.
UNDOCUMENTED_MODULES = {
    "flask_sockevents.__main__",  # re-executes the process when imported
}


def _check_every_module_is_documented(app, env):  # type: ignore[no-untyped-def]
    """Warn (an error under ``-W``) about a public module missing from ``docs/api/``."""
    import pkgutil

    from sphinx.util import logging

    import flask_sockevents

    documented = set(env.get_domain("py").modules)
    for module in pkgutil.walk_packages(flask_sockevents.__path__, "flask_sockevents."):
        name = module.name
        if name in UNDOCUMENTED_MODULES or any(p.startswith("_") for p in name.split(".")[1:]):
            continue
        if name not in documented:
            logging.getLogger(__name__).warning(
                "%s is not in the API reference: add '.. automodule:: %s' to the "
                "page of its group in docs/api/",
                name,
                name,
            )


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("missing-reference", _resolve_reexported)
    app.connect("autodoc-process-docstring", _signal_doc)
    app.connect("env-check-consistency", _check_every_module_is_documented)
