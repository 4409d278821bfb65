"""The router against a reference model of DESIGN routing rules 1 and 2.

The model below is written straight from the rules, independently of the
router: a glob matcher where only ``*`` is special, a list of registrations,
and a sort by (tier, literal characters, registration order). Hypothesis builds
random tables over a tiny alphabet, so routes overlap often, and compares the
router's answer with the model's for every concrete ``(namespace, event)`` of a
small universe, after every change to the table, so a stale cache shows up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flask_sockevents import Kind, Router

# Few enough patterns that identical and overlapping routes are common.
EVENT_PATTERNS = st.sampled_from(
    ["a", "b", "ab", "a*", "*b", "*", "a*b", "**", "*a*", "connect", "disconnect", "con*", "*t"]
)
NAMESPACE_PATTERNS = st.sampled_from(["/", "/a", "/a*", "/*", "*", "*b"])
CONCRETE_EVENTS = ["a", "b", "ab", "ba", "aab", "bab", "a*", "*", "", "connect", "disconnect"]
CONCRETE_NAMESPACES = ["/", "/a", "/b", "/ab", "/a*", "/aab"]
KINDS = st.sampled_from([Kind.HANDLER, Kind.LISTENER, Kind.GUARD])


def _subscriber(number: int) -> Any:
    def subscriber(*args: Any) -> None:
        """One of a small pool, shared by every kind so removals cross kinds."""

    subscriber.__qualname__ = f"subscriber{number}"
    return subscriber


SUBSCRIBERS = [_subscriber(number) for number in range(3)]


# -- the reference model ---------------------------------------------------


@functools.cache
def glob_matches(pattern: str, name: str) -> bool:
    """Whether ``name`` matches ``pattern``, where ``*`` is any run and all else literal."""
    # matched[j]: pattern[:i] matches name[:j], for the current i.
    matched = [True] + [False] * len(name)
    for char in pattern:
        if char == "*":
            for j in range(1, len(name) + 1):
                matched[j] = matched[j] or matched[j - 1]
        else:
            matched = [False] + [matched[j] and name[j] == char for j in range(len(name))]
    return matched[len(name)]


def is_pattern(text: str) -> bool:
    return "*" in text


def literal_characters(text: str) -> int:
    return sum(1 for char in text if char != "*")


@dataclass
class Registration:
    kind: Kind
    fn: Any
    event: str
    namespace: str
    order: int


@dataclass
class Model:
    """The routing table as a plain list of registrations."""

    registrations: list[Registration] = field(default_factory=list)
    clock: int = 0

    def add(self, kind: Kind, fn: Any, event: str, namespace: str) -> None:
        if kind is Kind.HANDLER:
            # One handler per identical route: the newer replaces the older.
            self.registrations = [
                r
                for r in self.registrations
                if not (r.kind is Kind.HANDLER and (r.event, r.namespace) == (event, namespace))
            ]
        self.clock += 1
        self.registrations.append(Registration(kind, fn, event, namespace, self.clock))

    def remove(self, fn: Any, kind: Kind | None, event: str | None, namespace: str | None) -> int:
        def targeted(r: Registration) -> bool:
            return (
                r.fn is fn
                and kind in (None, r.kind)
                and event in (None, r.event)
                and namespace in (None, r.namespace)
            )

        removed = [r for r in self.registrations if targeted(r)]
        self.registrations = [r for r in self.registrations if not targeted(r)]
        # A listener connected twice to one route is one subscription (one receiver).
        listener_routes = {(r.event, r.namespace) for r in removed if r.kind is Kind.LISTENER}
        return len(listener_routes) + sum(1 for r in removed if r.kind is not Kind.LISTENER)

    def matching(self, kind: Kind, namespace: str, event: str) -> list[Registration]:
        return [
            r
            for r in self.registrations
            if r.kind is kind
            and glob_matches(r.namespace, namespace)
            and glob_matches(r.event, event)
        ]

    def handler(self, namespace: str, event: str) -> tuple[Any, str, str] | None:
        candidates = self.matching(Kind.HANDLER, namespace, event)
        if event in ("connect", "disconnect"):
            candidates = [r for r in candidates if not is_pattern(r.event)]
        if not candidates:
            return None

        def rank(r: Registration) -> tuple[int, int, int]:
            tier = {
                (False, False): 1,
                (False, True): 2,
                (True, False): 3,
                (True, True): 4,
            }[(is_pattern(r.namespace), is_pattern(r.event))]
            return tier, -(literal_characters(r.event) + literal_characters(r.namespace)), r.order

        best = min(candidates, key=rank)
        return best.fn, best.event, best.namespace

    def in_order(self, kind: Kind, namespace: str, event: str) -> list[Any]:
        earliest: dict[int, Registration] = {}
        for r in self.matching(kind, namespace, event):
            known = earliest.get(id(r.fn))
            if known is None or r.order < known.order:
                earliest[id(r.fn)] = r
        return [r.fn for r in sorted(earliest.values(), key=lambda r: r.order)]


# -- comparing router and model ---------------------------------------------


def add_to_router(router: Router, kind: Kind, fn: Any, event: str, namespace: str) -> None:
    if kind is Kind.HANDLER:
        router.add_handler(event, namespace, fn)
    elif kind is Kind.GUARD:
        router.add_guard(event, namespace, fn)
    else:
        router.add_listener(event, namespace, fn)


def resolved(router: Router, namespace: str, event: str) -> tuple[Any, list[Any], list[Any]]:
    resolution = router.resolve(namespace, event)
    handler = resolution.handler
    answer = None if handler is None else (handler.fn, handler.route.event, handler.route.namespace)
    return answer, list(resolution.guards), list(resolution.listeners)


def expected(model: Model, namespace: str, event: str) -> tuple[Any, list[Any], list[Any]]:
    return (
        model.handler(namespace, event),
        model.in_order(Kind.GUARD, namespace, event),
        model.in_order(Kind.LISTENER, namespace, event),
    )


def assert_agree(router: Router, model: Model) -> None:
    for namespace in CONCRETE_NAMESPACES:
        for event in CONCRETE_EVENTS:
            assert resolved(router, namespace, event) == expected(model, namespace, event), (
                namespace,
                event,
            )


# -- the properties -----------------------------------------------------------


def test_reference_glob_matcher_agrees_with_hand_worked_cases() -> None:
    cases = [
        ("*", "", True),
        ("a*", "a", True),
        ("a*b", "ab", True),
        ("a*b", "aXb", True),
        ("a*b", "aXbY", False),
        ("*a*", "bab", True),
        ("a", "a*", False),
        ("a*", "a*", True),
        ("**", "x", True),
    ]
    for pattern, name, matches in cases:
        assert glob_matches(pattern, name) is matches, (pattern, name)


SUBSCRIPTIONS = st.lists(
    st.tuples(KINDS, st.sampled_from(SUBSCRIBERS), EVENT_PATTERNS, NAMESPACE_PATTERNS),
    max_size=25,
)


F, G, H = SUBSCRIBERS


@settings(max_examples=150, deadline=None)
@given(SUBSCRIPTIONS)
# A replaced handler takes the newer registration order among equally specific routes.
@example([(Kind.HANDLER, F, "*", "/"), (Kind.HANDLER, G, "**", "/"), (Kind.HANDLER, H, "*", "/")])
# A listener (or guard) runs in the order of its earliest matching registration.
@example([(Kind.LISTENER, F, "a", "/"), (Kind.LISTENER, G, "*", "/"), (Kind.LISTENER, F, "*", "*")])
@example([(Kind.GUARD, F, "a*", "/"), (Kind.GUARD, G, "*", "*"), (Kind.GUARD, F, "*b", "/")])
# Connect and disconnect are answered by exact-event routes only.
@example([(Kind.HANDLER, F, "connect", "*"), (Kind.HANDLER, G, "con*", "/")])
# Literal characters of event and namespace count together within a tier.
@example([(Kind.HANDLER, F, "a*", "/a*"), (Kind.HANDLER, G, "*a*", "/*")])
def test_resolution_of_a_random_table_follows_the_routing_rules(
    subscriptions: list[tuple[Kind, Any, str, str]],
) -> None:
    router, model = Router(), Model()
    for kind, fn, event, namespace in subscriptions:
        add_to_router(router, kind, fn, event, namespace)
        model.add(kind, fn, event, namespace)
    assert_agree(router, model)


class RoutingTable(RuleBasedStateMachine):
    """Random additions and removals, checked against the model after every step."""

    def __init__(self) -> None:
        super().__init__()
        # Large enough to hold every concrete pair, so nothing is evicted and a
        # resolution left stale by a change would be served from the cache.
        self.router = Router(cache_size=len(CONCRETE_NAMESPACES) * len(CONCRETE_EVENTS))
        self.model = Model()

    @rule(
        kind=KINDS,
        fn=st.sampled_from(SUBSCRIBERS),
        event=EVENT_PATTERNS,
        namespace=NAMESPACE_PATTERNS,
    )
    def subscribe(self, kind: Kind, fn: Any, event: str, namespace: str) -> None:
        add_to_router(self.router, kind, fn, event, namespace)
        self.model.add(kind, fn, event, namespace)

    @rule(
        fn=st.sampled_from(SUBSCRIBERS),
        kind=st.none() | KINDS,
        event=st.none() | EVENT_PATTERNS,
        namespace=st.none() | NAMESPACE_PATTERNS,
    )
    def unsubscribe(
        self, fn: Any, kind: Kind | None, event: str | None, namespace: str | None
    ) -> None:
        removed = self.router.remove(fn, kind, event, namespace)
        assert removed == self.model.remove(fn, kind, event, namespace)

    @rule(data=st.data(), fn=st.sampled_from(SUBSCRIBERS))
    def replace_a_handler(self, data: st.DataObject, fn: Any) -> None:
        handlers = [r for r in self.model.registrations if r.kind is Kind.HANDLER]
        if not handlers:
            return
        target = data.draw(st.sampled_from(handlers))
        self.subscribe(Kind.HANDLER, fn, target.event, target.namespace)

    @rule(data=st.data())
    def unsubscribe_a_live_subscription(self, data: st.DataObject) -> None:
        if not self.model.registrations:
            return
        target = data.draw(st.sampled_from(self.model.registrations))
        kind, event, namespace = target.kind, target.event, target.namespace
        removed = self.router.remove(target.fn, kind, event, namespace)
        assert removed == self.model.remove(target.fn, kind, event, namespace)

    @invariant()
    def router_agrees_with_the_model(self) -> None:
        assert_agree(self.router, self.model)


RoutingTable.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_random_additions_and_removals_keep_resolution_correct = RoutingTable.TestCase
