"""The ledger connector passes the pm4ml connector contract suite (on SQLite and PostgreSQL)."""

from pm4ml.connectors.contract import ConnectorContract


class TestLedgerContract(ConnectorContract):
    """The pm4ml connector contract, on the ledger."""
