"""Fixtures for the http connector tests: the Backend API server of ``backend.py`` on a free
loopback port, and the connector pointed at it the way pm4ml builds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from http_tests.backend import Account, Backend

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext, PartyId
from pm4ml.connectors.contract import Capability, ContractHarness
from pm4ml_http import HttpConnector
from tests.support import serve_app


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    server = Backend()
    async with serve_app(server.app()) as url:
        server.url = url
        yield server


def make_connector(url: str, **settings: Any) -> HttpConnector:
    options: dict[str, Any] = {"backend_endpoint": url, "backend_retry_max_seconds": 0.2} | settings
    return HttpConnector.create(ConnectorContext(settings=Settings(**options)))


@pytest.fixture
async def connector(backend: Backend) -> AsyncIterator[HttpConnector]:
    created = make_connector(backend.url)
    await created.start()
    yield created
    await created.close()


class HttpHarness(ContractHarness):
    """Accounts live in the test backend; payer funds stay with it (see the connector)."""

    capabilities = frozenset({Capability.BLOCKING, Capability.LIMITS})

    def __init__(self, connector: HttpConnector, backend: Backend) -> None:
        self._connector = connector
        self.backend = backend

    @property
    def connector(self) -> HttpConnector:
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
        key = (party.id_type, party.id_value, party.sub_id)
        self.backend.accounts[key] = Account(
            currency, balance, blocked=blocked, max_single_transfer=max_single_transfer
        )

    async def balance(self, party: PartyId, currency: str) -> Decimal:
        account = self.backend.accounts[(party.id_type, party.id_value, party.sub_id)]
        assert account.currency == currency
        return account.balance


@pytest.fixture
def connector_harness(connector: HttpConnector, backend: Backend) -> HttpHarness:
    """The http connector for the pm4ml connector contract suite."""
    return HttpHarness(connector, backend)
