"""The fineract connector passes the pm4ml connector contract suite against the fake."""

from pm4ml.connectors.contract import ConnectorContract


class TestFineractContract(ConnectorContract):
    """The pm4ml connector contract, over Fineract's savings accounts API."""
