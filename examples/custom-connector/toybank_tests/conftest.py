"""The contract suite's view of the toy bank: the connector plus a "CBS control" that opens
accounts and reads balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pm4ml.connectors import ConnectorContext, PartyId
from pm4ml.connectors.contract import Capability, ContractHarness
from toybank_connector import ToyBankConnector


class ToyBankHarness(ContractHarness):
    capabilities = frozenset({Capability.PAYER_FUNDS, Capability.BLOCKING})

    def __init__(self, connector: ToyBankConnector) -> None:
        self._connector = connector

    @property
    def connector(self) -> ToyBankConnector:
        return self._connector

    async def open_account(
        self,
        party: PartyId,
        currency: str,
        balance: Decimal,
        *,
        blocked: bool = False,
        max_single_transfer: Decimal | None = None,
    ) -> None:
        bank = self._connector.bank
        bank.open((party.id_type, party.id_value), currency, balance)
        bank.accounts[(party.id_type, party.id_value)].blocked = blocked

    async def balance(self, party: PartyId, currency: str) -> Decimal:
        return self._connector.bank.accounts[(party.id_type, party.id_value)].balance


@pytest.fixture
async def connector_harness() -> ToyBankHarness:
    """A started connector over a fresh toy bank, built the way pm4ml builds it."""
    connector = ToyBankConnector.create(ConnectorContext(settings=None))
    await connector.start()
    return ToyBankHarness(connector)
