"""Micro-benchmark of the bus: what one event costs as the routing table grows.

Run with ``make bench-bus`` (or ``python bench/bus.py``). No network, no Flask:
events are published straight on a :class:`~flask_sockevents.Bus`.

The hot event is ``"chat message"`` in ``"/"``, answered by one handler and seen
by two listeners, all three on the route ``("chat message", "/")``. Every table
holds that route; the larger tables add routes of every kind that do not match
the hot event, several of them partially (the same event in other namespaces,
event patterns sharing its prefix, namespace patterns), carrying handlers,
listeners and guards. Each figure is the median, over several repeats, of the
mean cost of one publish (building the :class:`~flask_sockevents.Event`
included) in a loop of many. The repeats of all table sizes are interleaved, so
a busy machine slows every size alike; the ratio is the median of the ratios
measured within each round.

Targets (DESIGN routing rule 8): the 10,000-route cost within 1.2 times the
1-route cost, and a handler plus two listeners under 10 µs per event.

The cost of tracing is measured the same way: the 1-route bus with
:class:`~flask_sockevents.listeners.Tracing` attached and OpenTelemetry's
default (no-op) provider, against the same bus without it, interleaved; the
figure is the median of the differences (target: under 15 µs per event).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from flask_sockevents import Bus, Event, EventKind

HOT_EVENT = "chat message"
HOT_NAMESPACE = "/"
TABLE_SIZES = (1, 100, 10_000)
RATIO_TARGET = 1.2
HANDLER_TARGET_US = 10.0
TRACING_TARGET_US = 15.0


def _handler(text: str) -> str:
    return text


def _listener(event: Event) -> None:
    pass


def _other_listener(event: Event) -> None:
    pass


def _guard(event: Event) -> None:
    pass


def _filler(number: int) -> tuple[str, str, str]:
    """The ``number``-th route that does not match the hot event: (kind, event, namespace)."""
    shape = number % 8
    if shape == 0:
        return "handler", f"event {number}", "/"
    if shape == 1:
        return "handler", HOT_EVENT, f"/ns{number}"  # same event, another namespace
    if shape == 2:
        return "handler", f"chat message {number}*", "/"  # shares the hot event's prefix
    if shape == 3:
        return "listener", f"chat {number} *", "/"
    if shape == 4:
        return "handler", f"event {number}", f"/rooms/{number}/*"
    if shape == 5:
        return "guard", f"*{number}", "/"  # ends with digits: "chat message" does not
    if shape == 6:
        return "listener", f"chat*{number}", "*"
    return "handler", f"*-{number}-*", f"/n{number}*"


def build_bus(routes: int) -> Bus:
    """A bus with the hot route (a handler and two listeners) and ``routes - 1`` others."""
    bus = Bus(cache_size=4096)
    bus.on(HOT_EVENT, HOT_NAMESPACE, _handler)
    bus.listen(HOT_EVENT, HOT_NAMESPACE, _listener)
    bus.listen(HOT_EVENT, HOT_NAMESPACE, _other_listener)
    for number in range(routes - 1):
        kind, event, namespace = _filler(number)
        if kind == "handler":
            bus.on(event, namespace, _handler)
        elif kind == "listener":
            bus.listen(event, namespace, _listener)
        else:
            bus.guard(event, namespace, _guard)
    if len(bus.router.routes) != routes:
        raise AssertionError(f"built {len(bus.router.routes)} routes, meant {routes}")
    return bus


def check_hot_dispatch(bus: Bus) -> None:
    """Fail loudly if the bus does not dispatch the hot event as the benchmark assumes."""
    resolution = bus.router.resolve(HOT_NAMESPACE, HOT_EVENT)
    if resolution.handler is None or resolution.handler.fn is not _handler:
        raise AssertionError("the hot event is not answered by its handler")
    if resolution.listeners != (_listener, _other_listener) or resolution.guards:
        raise AssertionError(f"the hot event has unexpected subscribers: {resolution}")
    finished = bus.publish(Event(EventKind.EVENT, HOT_NAMESPACE, HOT_EVENT, args=("hi",)))
    if finished.ack != "hi":
        raise AssertionError(f"the hot event was not handled: {finished!r}")


def per_event_us(bus: Bus, events: int) -> float:
    """Mean cost in µs of publishing the hot event ``events`` times."""
    publish = bus.publish
    args = ("hello",)
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(events):
            publish(Event(EventKind.EVENT, HOT_NAMESPACE, HOT_EVENT, args=args))
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / events * 1e6


def cold_resolution_us(bus: Bus, repeats: int) -> float:
    """Median cost in µs of resolving the hot event with an empty cache."""
    router = bus.router
    samples = []
    for _ in range(repeats):
        router._routing_changed()  # what any change to the table does
        start = time.perf_counter()
        router.resolve(HOT_NAMESPACE, HOT_EVENT)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def unseen_name_us(bus: Bus, names: int) -> float:
    """Mean cost in µs of publishing events whose names no one has sent before.

    Each is a cache miss (a client inventing names): the cost of a cold
    resolution plus dispatch, with the cache full and evicting.
    """
    publish = bus.publish
    start = time.perf_counter()
    for number in range(names):
        publish(Event(EventKind.EVENT, HOT_NAMESPACE, f"invented {number}"))
    return (time.perf_counter() - start) / names * 1e6


def removal_ms(bus: Bus) -> float:
    """Cost in ms of subscribing one listener and removing it again."""

    def passing(event: Event) -> None:
        pass

    bus.listen("passing", HOT_NAMESPACE, passing)
    start = time.perf_counter()
    bus.remove(passing)
    return (time.perf_counter() - start) * 1e3


def tracing_cost_us(events: int, repeats: int) -> tuple[float, float] | None:
    """Per-event cost in µs of the Tracing listener with the no-op provider.

    :return: (median traced cost, median of the per-round differences), or
        ``None`` when ``opentelemetry-api`` is not installed.
    """
    try:
        from flask_sockevents.listeners import Tracing

        plain, traced = build_bus(1), build_bus(1)
        tracing = Tracing(traced)  # the global provider: no-op unless an SDK is configured
    except ImportError:
        return None
    finished = traced.publish(Event(EventKind.EVENT, HOT_NAMESPACE, HOT_EVENT, args=("hi",)))
    if finished.ack != "hi" or traced.around != [tracing.span_for]:
        raise AssertionError(f"the traced bus did not dispatch as assumed: {finished!r}")
    per_event_us(plain, events // 4)
    per_event_us(traced, events // 4)
    with_tracing, differences = [], []
    for _ in range(repeats):
        base = per_event_us(plain, events)
        cost = per_event_us(traced, events)
        with_tracing.append(cost)
        differences.append(cost - base)
    return statistics.median(with_tracing), statistics.median(differences)


def timed(build: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``build`` and return its result with its duration in seconds."""
    start = time.perf_counter()
    result = build()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; exit status 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="publishes per repeat")
    parser.add_argument("--repeats", type=int, default=15, help="repeats per table size")
    options = parser.parse_args(argv)

    buses = {}
    for size in TABLE_SIZES:
        buses[size], seconds = timed(lambda size=size: build_bus(size))
        check_hot_dispatch(buses[size])
        print(f"built {size:>6} routes in {seconds * 1e3:8.1f} ms")

    samples: dict[int, list[float]] = {size: [] for size in TABLE_SIZES}
    for size in TABLE_SIZES:  # warm-up: fill caches, settle the interpreter
        per_event_us(buses[size], options.events // 4)
    for _ in range(options.repeats):
        for size in TABLE_SIZES:
            samples[size].append(per_event_us(buses[size], options.events))
    median = {size: statistics.median(values) for size, values in samples.items()}

    print()
    print(
        f"per-event cost of publish, µs (median of {options.repeats} repeats "
        f"of {options.events} events)"
    )
    print(f"{'routes':>8}  {'median':>8}  {'min':>8}  {'max':>8}")
    for size in TABLE_SIZES:
        values = samples[size]
        print(f"{size:>8}  {median[size]:8.2f}  {min(values):8.2f}  {max(values):8.2f}")

    largest, smallest = TABLE_SIZES[-1], TABLE_SIZES[0]
    # Each round times every size back to back: the ratio within a round is
    # what load on the machine disturbs least.
    ratio = statistics.median(
        big / small for big, small in zip(samples[largest], samples[smallest], strict=True)
    )
    handler_cost = median[smallest]
    cold = {size: cold_resolution_us(buses[size], repeats=15) for size in TABLE_SIZES}
    unseen = unseen_name_us(buses[largest], names=200)
    removal = {size: removal_ms(buses[size]) for size in TABLE_SIZES}
    ratio_ok = ratio <= RATIO_TARGET
    handler_ok = handler_cost < HANDLER_TARGET_US

    print()
    print(
        f"ratio {largest}/{smallest} routes:      {ratio:6.3f}   (median of rounds) "
        f"(target <= {RATIO_TARGET})  {'ok' if ratio_ok else 'MISSED'}"
    )
    print(
        f"handler + two listeners:    {handler_cost:6.2f} µs (target < {HANDLER_TARGET_US:g} µs)"
        f"  {'ok' if handler_ok else 'MISSED'}"
    )
    print()
    print("cold resolution of the hot event (first event after a table change), µs")
    for size in TABLE_SIZES:
        print(f"{size:>8}  {cold[size]:10.1f}")
    print()
    print("removing one subscriber (bus.remove), ms")
    for size in TABLE_SIZES:
        print(f"{size:>8}  {removal[size]:10.2f}")
    print(f"unseen event names, {largest} routes: {unseen:8.1f} µs per event (cache misses)")

    tracing = tracing_cost_us(options.events, options.repeats)
    tracing_ok = True
    print()
    if tracing is None:
        print("tracing: skipped (pip install flask-sockevents[otel])")
    else:
        traced, added = tracing
        tracing_ok = added < TRACING_TARGET_US
        print(
            f"Tracing listener, no-op provider: {added:6.2f} µs per event added "
            f"({traced:.2f} µs with it) (target < {TRACING_TARGET_US:g} µs)  "
            f"{'ok' if tracing_ok else 'MISSED'}"
        )
    return 0 if ratio_ok and handler_ok and tracing_ok else 1


if __name__ == "__main__":
    sys.exit(main())
