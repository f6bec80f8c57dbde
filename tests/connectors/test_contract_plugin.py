"""The contract suite ships as a pytest plugin that any installed connector package can use."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from pm4ml.connectors.contract import ConnectorContract, ContractHarness


def test_the_plugin_is_registered_under_pytest11() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("pm4ml_connector_contract") == "pm4ml.connectors.contract.plugin"


def test_the_plugin_is_active_here(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("pm4ml_connector_contract")


def test_the_suite_covers_both_roles_and_request_to_pay() -> None:
    tests = {name for name in dir(ConnectorContract) if name.startswith("test_")}
    assert len(tests) >= 15
    assert any("prepare" in t for t in tests)
    assert any("reserve" in t for t in tests)
    assert any("transaction_request" in t for t in tests)
    assert ContractHarness.__abstractmethods__ == {"connector", "open_account", "balance"}
