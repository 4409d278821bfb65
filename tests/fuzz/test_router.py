"""Fuzzing the router with arbitrary patterns and names.

The routing rules themselves are specified against a reference model in
``tests/bus/test_router_properties.py``; here the patterns and names are
anything at all (regular-expression metacharacters, runs of ``*``, unicode,
newlines), and the router must resolve every name without raising and never
hand an event to a handler whose route does not match it.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_sockevents import Router

_ALPHABET = st.sampled_from(list("ab*/.?+[](){}|^$\\\n")) | st.characters()
patterns = st.text(alphabet=_ALPHABET, min_size=1, max_size=8)
names = st.text(alphabet=_ALPHABET, max_size=10) | st.sampled_from(["connect", "disconnect"])


def glob(pattern: str, name: str) -> bool:
    """Whether ``name`` matches ``pattern``, where only ``*`` (any run of characters) is special."""
    regex = "".join(".*" if char == "*" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _handler(number: int) -> object:
    def handler(*args: object) -> int:
        return number

    return handler


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(patterns, patterns), min_size=1, max_size=8),
    st.lists(st.tuples(names, names), min_size=1, max_size=12),
)
def test_resolve_never_raises_and_only_returns_a_matching_handler(
    routes: list[tuple[str, str]], lookups: list[tuple[str, str]]
) -> None:
    router = Router(cache_size=4)
    for number, (event, namespace) in enumerate(routes):
        router.add_handler(event, namespace, _handler(number))
    for namespace, event in lookups + lookups:  # twice: from the table, then from the cache
        handler = router.resolve(namespace, event).handler
        if handler is None:
            continue
        assert glob(handler.route.event, event), (handler.route, namespace, event)
        assert glob(handler.route.namespace, namespace), (handler.route, namespace, event)
        if event in ("connect", "disconnect"):
            assert handler.route.event == event, (handler.route, event)


@settings(max_examples=200, deadline=None)
@given(patterns, patterns, names, names)
def test_a_name_matching_the_only_route_resolves_to_its_handler(
    event: str, namespace: str, name: str, in_namespace: str
) -> None:
    router = Router()
    router.add_handler(event, namespace, _handler(0))
    handler = router.resolve(in_namespace, name).handler
    matches = glob(event, name) and glob(namespace, in_namespace)
    if name in ("connect", "disconnect") and event != name:
        matches = False
    assert (handler is not None) == matches, (event, namespace, name, in_namespace)
