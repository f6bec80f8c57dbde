"""The toy bank passes the pm4ml connector contract suite (the pytest plugin pm4ml ships)."""

import pytest

from pm4ml.connectors import ConnectorContext, load
from pm4ml.connectors.contract import ConnectorContract
from toybank_connector import ToyBankConnector


class TestToyBankContract(ConnectorContract):
    """The pm4ml connector contract, on the toy bank."""


def test_registered_as_toybank() -> None:
    assert load("toybank") is ToyBankConnector


def test_accounts_from_the_environment() -> None:
    context = ConnectorContext(
        settings=None, environ={"PM4ML_TOYBANK_ACCOUNTS": "MSISDN/1:USD:10, MSISDN/2:EUR:5"}
    )
    bank = ToyBankConnector.create(context).bank
    assert sorted(bank.accounts) == [("MSISDN", "1"), ("MSISDN", "2")]
    with pytest.raises(ValueError, match="bad item"):
        ToyBankConnector.create(
            ConnectorContext(settings=None, environ={"PM4ML_TOYBANK_ACCOUNTS": "MSISDN/1:USD"})
        )
