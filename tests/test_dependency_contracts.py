"""Every private attribute of a dependency that flask_sockevents relies on still exists, unchanged.

The contracts are listed in :mod:`flask_sockevents.dependencies`; each one is
a test here, named for the attribute, failing with the package, its installed
version, the version the contract was checked against and where the package
relies on it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from typing import Any

import pytest

from flask_sockevents import dependencies
from flask_sockevents.dependencies import CHECKED_AGAINST, CONTRACTS, Contract


def _owner(dotted: str) -> Any:
    """Import ``package.module.Class`` (or a module) from its dotted path."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise ImportError(dotted)


def _broken(contract: Contract, problem: str) -> str:
    installed = importlib.metadata.version(contract.package)
    return (
        f"{contract.owner}.{contract.name} {problem} in {contract.package} {installed} "
        f"(checked against {CHECKED_AGAINST[contract.package]}). flask_sockevents relies on it "
        f"in {contract.used_by} for {contract.why}: read that release's change and update "
        f"flask_sockevents/dependencies.py and the code that uses it."
    )


def _parameter_names(function: Any) -> tuple[str, ...]:
    names = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            names.append(f"*{parameter.name}")
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
            names.append(f"**{parameter.name}")
        else:
            names.append(parameter.name)
    return tuple(names)


@pytest.mark.parametrize(
    "contract", CONTRACTS, ids=[f"{c.package}:{c.owner}.{c.name}" for c in CONTRACTS]
)
def test_the_private_attribute_is_still_there_with_the_expected_parameters(
    contract: Contract,
) -> None:
    owner = _owner(contract.owner)
    if contract.kind == "attribute":
        # Instance attributes exist only once an object is set up: the
        # owner's source must still assign or read them.
        present = hasattr(owner, contract.name) or contract.name in inspect.getsource(owner)
        assert present, _broken(contract, "is gone")
        return
    attribute = inspect.getattr_static(owner, contract.name, None)
    assert attribute is not None, _broken(contract, "is gone")
    assert callable(getattr(owner, contract.name)), _broken(contract, "is no longer callable")
    found = _parameter_names(getattr(owner, contract.name))
    assert found == contract.parameters, _broken(
        contract, f"now takes {found} instead of {contract.parameters}"
    )


def test_every_package_with_contracts_names_the_release_they_were_checked_against() -> None:
    assert {c.package for c in CONTRACTS} <= set(CHECKED_AGAINST)
    assert {c.kind for c in CONTRACTS} <= {"call", "override", "attribute"}


def test_a_contract_on_a_missing_attribute_fails_naming_it_and_the_release() -> None:
    gone = Contract(
        "python-engineio", "engineio.Server", "_no_such_method", "call", ("self",),
        "nowhere", "showing the failure message",
    )  # fmt: skip
    with pytest.raises(AssertionError) as failure:
        test_the_private_attribute_is_still_there_with_the_expected_parameters(gone)

    message = str(failure.value)
    installed = importlib.metadata.version("python-engineio")
    assert "engineio.Server._no_such_method is gone" in message
    assert f"python-engineio {installed}" in message
    assert "flask_sockevents/dependencies.py" in message


def test_a_contract_whose_parameters_changed_fails_showing_both_signatures() -> None:
    changed = Contract(
        "python-engineio", "engineio.Server", "_get_socket", "call", ("self", "session"),
        "nowhere", "showing the failure message",
    )  # fmt: skip
    with pytest.raises(AssertionError, match=r"now takes \('self', 'sid'\)"):
        test_the_private_attribute_is_still_there_with_the_expected_parameters(changed)


def test_every_private_method_the_package_overrides_is_listed() -> None:
    """A subclass here overriding a dependency's private method must name it as a contract."""
    from flask_sockevents import admin_ui, budget, engine, queues, server, websocket

    listed = {(c.owner, c.name) for c in CONTRACTS}
    subclasses = [
        (server.Server, "socketio.Server"),
        (engine.EngineIOServer, "engineio.Server"),
        (engine.EngineIOSocket, "engineio.socket.Socket"),
        (budget.BudgetedSocket, "engineio.socket.Socket"),
        (queues.CheckedRedisManager, "socketio.RedisManager"),
        (queues.JSONKombuManager, "socketio.KombuManager"),
        (websocket.LimitedWebSocket, "geventwebsocket.websocket.WebSocket"),
        (websocket.WebSocketHandler, "geventwebsocket.handler.WebSocketHandler"),
        (admin_ui.BusInstrumentedServer, "socketio.admin.InstrumentedServer"),
    ]
    unlisted = []
    for cls, base_path in subclasses:
        base = _owner(base_path)
        for klass in cls.__mro__:
            if not klass.__module__.startswith("flask_sockevents"):
                continue
            for name in vars(klass):
                private = name.startswith("_") and not name.startswith("__")
                if private and hasattr(base, name) and (base_path, name) not in listed:
                    unlisted.append(f"{klass.__qualname__}.{name} overrides {base_path}.{name}")
    assert not unlisted, "add to flask_sockevents/dependencies.py: " + "; ".join(unlisted)


def test_the_reaches_on_other_objects_go_through_the_contracts_module() -> None:
    assert dependencies.open_socket(_owner("engineio.Server")(), "no such session") is None
