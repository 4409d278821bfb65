"""The declared dependency floors are the tested ones.

``make test`` runs the suite a second time in a virtualenv built from
``constraints/lowest.txt``; these tests keep that file honest: every floor
``setup.cfg`` declares for the package and its feature extras is pinned there,
at exactly that version, and every pin is a declared floor.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
#: Extras whose floors are pinned: what the package's own code imports, and
#: the servers and clients the suite compares it with.
PINNED_EXTRAS = ("redis", "kombu", "metrics", "orjson", "otel", "schemas")
PINNED_TEST_TOOLS = {"flask-socketio", "msgpack", "gunicorn", "opentelemetry-sdk"}


def _declared() -> dict[str, Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].split("\n")
    extras = config["options.extras_require"]
    for extra in PINNED_EXTRAS:
        lines += extras[extra].split("\n")
    lines += [
        line
        for line in extras["test"].split("\n")
        if line.strip() and canonicalize_name(Requirement(line).name) in PINNED_TEST_TOOLS
    ]
    requirements = [Requirement(line) for line in lines if line.strip()]
    return {canonicalize_name(r.name): r for r in requirements}


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "lowest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def _floor(requirement: Requirement) -> str:
    floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    assert len(floors) == 1, f"{requirement} must declare exactly one '>=' floor"
    return floors[0]


def test_every_declared_floor_is_pinned_in_the_lowest_constraints() -> None:
    pins = _pinned()
    for name, requirement in _declared().items():
        assert name in pins, f"{name} has a floor in setup.cfg but no pin in lowest.txt"
        assert Version(pins[name]) == Version(_floor(requirement)), (
            f"{name}: setup.cfg declares >={_floor(requirement)}, lowest.txt pins {pins[name]}"
        )


def test_every_pin_in_the_lowest_constraints_is_a_declared_floor() -> None:
    declared = _declared()
    assert set(_pinned()) <= set(declared), set(_pinned()) - set(declared)


def test_each_pin_satisfies_the_declared_range() -> None:
    declared = _declared()
    for name, version in _pinned().items():
        assert declared[name].specifier.contains(version), f"{name}=={version}"
