"""Tools for the live listener tests: bounded waiting, the audit file, the metrics scrape."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from flask_sockevents import testing

__all__ = ["TIMEOUT", "Scrape", "audit_records", "scrape", "wait_for"]

#: Seconds any asynchronous outcome may take before a test gives up on it.
TIMEOUT = 5.0


wait_for = functools.partial(testing.wait_for, timeout=TIMEOUT)


def audit_records(path: Path) -> list[dict[str, Any]]:
    """The records of the audit file at ``path``, as written so far, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Scrape:
    """One scrape of a ``/metrics`` endpoint: ``{(sample name, labels): value}``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                self.samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The value of the sample ``name`` with exactly ``labels`` (0 when absent)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample called ``name``."""
        return [dict(labels) for sample, labels in self.samples if sample == name]


def scrape(url: str) -> Scrape:
    """GET ``url + "/metrics"`` from the live server and parse the answer."""
    response = requests.get(url + "/metrics", timeout=TIMEOUT)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    return Scrape(response.text)
