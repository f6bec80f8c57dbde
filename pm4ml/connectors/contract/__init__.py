"""The connector contract suite: the behaviour every pm4ml connector must show, as pytest tests.

It ships as a pytest plugin (the ``pm4ml_connector_contract`` ``pytest11`` entry point of the
``pm4ml`` distribution), so it is active wherever pm4ml is installed. A connector package runs
it in its own CI by subclassing the suite in one of its test modules::

    from pm4ml.connectors.contract import ConnectorContract

    class TestMyBankContract(ConnectorContract):
        \"\"\"The pm4ml connector contract, on MyBank.\"\"\"

and giving, in its ``conftest.py``, a ``connector_harness`` fixture that yields a
:class:`ContractHarness`: the started connector plus the means to open accounts in its CBS
and read their balances.
"""

from pm4ml.connectors.contract.harness import Capability, ContractHarness
from pm4ml.connectors.contract.suite import ConnectorContract

__all__ = ["Capability", "ConnectorContract", "ContractHarness"]
