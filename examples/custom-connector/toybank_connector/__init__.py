"""An example third-party pm4ml connector: ``ToyBank`` is the core banking system (in memory,
standing in for your bank's API client) and ``ToyBankConnector`` adapts it to pm4ml."""

from toybank_connector.bank import ToyBank
from toybank_connector.connector import ToyBankConnector

__all__ = ["ToyBank", "ToyBankConnector"]
