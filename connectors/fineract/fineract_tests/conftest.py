"""Fixtures for the fineract connector tests: the fake Fineract of ``fake.py`` on a free
loopback port, pm4ml's database with the connector's table per test (SQLite and PostgreSQL,
as every database test of the project; ``PM4ML_TEST_POSTGRES=0`` skips PostgreSQL), and the
connector built the way pm4ml builds it (``create`` with pm4ml's engine and an environment of
``PM4ML_FINERACT_*``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fineract_tests.fake import API, Fineract, Savings
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext, PartyId
from pm4ml.connectors.contract import Capability, ContractHarness
from pm4ml.store.engine import create_engine
from pm4ml_fineract import FineractConnector
from tests.conftest import POSTGRES_URL, _admin, in_thread, postgres_required, template_database
from tests.support import serve_app


@pytest.fixture
async def fineract() -> AsyncIterator[Fineract]:
    server = Fineract()
    async with serve_app(server.app()) as url:
        server.url = url + API
        yield server


@pytest.fixture(scope="session")
def fineract_postgres_template() -> Iterator[str]:
    """A PostgreSQL database with the connector's table, cloned by every PostgreSQL test."""
    with template_database("pm4ml_fineract_tmpl", FineractConnector.upgrade_database) as name:
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """pm4ml's database with the connector's table: a SQLite file or a PostgreSQL clone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}"
        await asyncio.to_thread(in_thread, FineractConnector.upgrade_database, url)
        yield url
        return
    if not postgres_required():
        pytest.skip("PM4ML_TEST_POSTGRES=0")
    template = request.getfixturevalue("fineract_postgres_template")
    name = f"pm4ml_fineract_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield POSTGRES_URL.format(name=name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    created = create_engine(database_url)
    yield created
    await created.dispose()


def environ(fineract: Fineract, **overrides: str) -> dict[str, str]:
    values = {
        "BASE_URL": fineract.url,
        "TENANT_ID": fineract.tenant,
        "USERNAME": fineract.username,
        "PASSWORD": fineract.password,
        "RETRY_MAX_SECONDS": "0.2",
    } | overrides
    return {f"PM4ML_FINERACT_{name}": value for name, value in values.items()}


def make_connector(
    fineract: Fineract, engine: AsyncEngine | None, **overrides: Any
) -> FineractConnector:
    context = ConnectorContext(
        settings=Settings(), engine=engine, environ=environ(fineract, **overrides)
    )
    return FineractConnector.create(context)


@pytest.fixture
async def connector(fineract: Fineract, engine: AsyncEngine) -> AsyncIterator[FineractConnector]:
    created = make_connector(fineract, engine)
    await created.start()
    yield created
    await created.close()


def open_account(
    fineract: Fineract, party: PartyId, currency: str, balance: Decimal, **state: Any
) -> Savings:
    """A client named by ``party`` (MSISDN: mobile number; ACCOUNT_ID: the savings account
    number; else the client's external id) with one savings account."""
    if party.id_type == "MSISDN":
        client = fineract.add_client(mobile_no=party.id_value)
    elif party.id_type == "ACCOUNT_ID":
        client = fineract.add_client()
    else:
        client = fineract.add_client(external_id=party.id_value)
    savings = fineract.open_savings(client, currency, balance, **state)
    if party.id_type == "ACCOUNT_ID":
        savings.external_id = party.id_value
    return savings


class FineractHarness(ContractHarness):
    """Accounts are savings accounts of the fake; payer funds are held there."""

    capabilities = frozenset({Capability.PAYER_FUNDS, Capability.BLOCKING})

    def __init__(self, connector: FineractConnector, fineract: Fineract) -> None:
        self._connector = connector
        self.fineract = fineract
        self.accounts: dict[PartyId, Savings] = {}

    @property
    def connector(self) -> FineractConnector:
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
        assert max_single_transfer is None, "Fineract savings accounts have no transfer limit"
        self.accounts[party] = open_account(self.fineract, party, currency, balance, block=blocked)

    async def balance(self, party: PartyId, currency: str) -> Decimal:
        account = self.accounts[party]
        assert account.currency == currency
        return account.balance


@pytest.fixture
def connector_harness(connector: FineractConnector, fineract: Fineract) -> FineractHarness:
    """The fineract connector for the pm4ml connector contract suite."""
    return FineractHarness(connector, fineract)
