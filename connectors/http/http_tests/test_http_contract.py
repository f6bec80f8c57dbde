"""The http connector passes the pm4ml connector contract suite against the Backend API."""

from pm4ml.connectors.contract import ConnectorContract


class TestHttpContract(ConnectorContract):
    """The pm4ml connector contract, over the sdk-scheme-adapter Backend API."""
