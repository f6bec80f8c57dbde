"""The pytest plugin (entry point ``pytest11`` ``pm4ml_connector_contract``): registers the
suite's marker and a ``connector_harness`` fixture that explains what to provide."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "connector_contract: a test of the pm4ml connector contract suite"
    )


@pytest.fixture
def connector_harness() -> None:
    """Overridden by the connector's ``conftest.py``; reaching this is a configuration error."""
    pytest.fail(
        "the pm4ml connector contract suite needs a `connector_harness` fixture yielding a "
        "pm4ml.connectors.contract.ContractHarness (define it in your conftest.py)"
    )
