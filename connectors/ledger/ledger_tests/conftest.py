"""Fixtures for the ledger tests: every test that asks for a database runs on SQLite and on
PostgreSQL.

``database_url`` is parametrised. ``sqlite``: a copy, per test, of a template file migrated once
per session. ``postgres``: one fresh, uniquely named database per session (dropped at the end),
migrated once, its ledger tables emptied before each test. PostgreSQL is found at
``PM4ML_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); when it
cannot be reached the tests fail, unless ``PM4ML_TEST_POSTGRES=0`` says to skip them.

The event-loop work of the session fixtures (creating databases, Alembic, which runs its own
loop) runs in a worker thread so that it never touches the loop pytest-asyncio owns.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.config import Settings
from pm4ml.connectors import (
    ConnectorContext,
    IncomingTransfer,
    Money,
    OutgoingTransfer,
    PartyId,
)
from pm4ml.connectors.contract import Capability, ContractHarness
from pm4ml.store.engine import create_engine
from pm4ml_ledger import AccountStatus, Ledger, LedgerConnector

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get(
    "PM4ML_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LEDGER_TABLES = "ledger_one_time_passwords, ledger_postings, ledger_reservations, ledger_accounts"

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeIncoming = Callable[..., IncomingTransfer]
MakeOutgoing = Callable[..., OutgoingTransfer]


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a fresh thread (where ``asyncio.run`` is always allowed)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


async def _postgres_execute(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_execute(dsn: str, *statements: str) -> None:
    """Execute SQL statements over one asyncpg connection to ``dsn`` (a libpq URL)."""
    in_thread(asyncio.run, _postgres_execute(dsn, *statements))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, as an async SQLAlchemy URL."""
    if os.environ.get("PM4ML_TEST_POSTGRES") == "0":
        pytest.skip("PostgreSQL tests disabled by PM4ML_TEST_POSTGRES=0")
    name = f"pm4ml_ledger_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        postgres_execute(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc!r}); "
            "start it or set PM4ML_TEST_POSTGRES=0 to skip the PostgreSQL tests"
        )
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        postgres_execute(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def ledger_postgres_url(postgres_database: str) -> str:
    """The session's PostgreSQL database with the ledger tables migrated."""
    in_thread(LedgerConnector.upgrade_database, postgres_database)
    return postgres_database


@pytest.fixture(scope="session")
def ledger_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the ledger tables migrated, to be copied by each test."""
    path = tmp_path_factory.mktemp("ledger-template") / "ledger.db"
    in_thread(LedgerConnector.upgrade_database, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An async URL of a migrated, empty ledger database: the test runs once per database."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("ledger_sqlite_template")
        path = tmp_path / "ledger.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("ledger_postgres_url")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    postgres_execute(dsn, f"TRUNCATE {LEDGER_TABLES} RESTART IDENTITY")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def ledger(engine: AsyncEngine) -> AsyncIterator[Ledger]:
    """The ledger service; after the test, the ledger must still balance."""
    ledger = Ledger(engine)
    yield ledger
    assert await ledger.audit() == []


@pytest.fixture
async def connector(
    engine: AsyncEngine, database_url: str, ledger: Ledger
) -> AsyncIterator[LedgerConnector]:
    """A started ``LedgerConnector`` on pm4ml's engine, built the way pm4ml builds it."""
    settings = Settings(database_url=SecretStr(database_url))
    created = LedgerConnector.create(ConnectorContext(settings=settings, engine=engine))
    await created.start()
    yield created
    await created.close()


@pytest.fixture
def make_account(ledger: Ledger) -> MakeAccount:
    """Factory: open an account with a fresh MSISDN and return its party id."""
    numbers = itertools.count(1)

    async def make(balance: str = "0", currency: str = "USD", **details: Any) -> PartyId:
        party = PartyId("MSISDN", f"2557{next(numbers):08d}")
        await ledger.open_account(party, currency, balance=Decimal(balance), **details)
        return party

    return make


@pytest.fixture
def incoming() -> MakeIncoming:
    """Factory: an ``IncomingTransfer`` to ``payee`` (payee role)."""

    def make(
        transfer_id: str, payee: PartyId, amount: str, currency: str = "USD"
    ) -> IncomingTransfer:
        return IncomingTransfer(
            transfer_id=transfer_id,
            quote_id=f"q-{transfer_id}",
            transaction_id=f"tx-{transfer_id}",
            payee=payee,
            payer=PartyId("MSISDN", "44123456789"),
            payer_fsp="payerfsp",
            amount=Money(Decimal(amount), currency),
        )

    return make


@pytest.fixture
def outgoing() -> MakeOutgoing:
    """Factory: an ``OutgoingTransfer`` from ``payer`` (payer role)."""

    def make(
        transfer_id: str, payer: PartyId, amount: str, currency: str = "USD"
    ) -> OutgoingTransfer:
        return OutgoingTransfer(
            transfer_id=transfer_id,
            payer=payer,
            payee=PartyId("MSISDN", "44987654321"),
            payee_fsp="payeefsp",
            amount=Money(Decimal(amount), currency),
        )

    return make


class LedgerHarness(ContractHarness):
    """The contract suite's control of the ledger: accounts opened through the ledger service."""

    capabilities = frozenset(Capability)

    def __init__(self, connector: LedgerConnector) -> None:
        self._connector = connector

    @property
    def connector(self) -> LedgerConnector:
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
        await self._connector.ledger.open_account(
            party,
            currency,
            balance=balance,
            max_single_transfer=max_single_transfer,
            status=AccountStatus.BLOCKED if blocked else AccountStatus.OPEN,
        )

    async def balance(self, party: PartyId, currency: str) -> Decimal:
        return (await self._connector.ledger.balance(party, currency)).balance


@pytest.fixture
def connector_harness(connector: LedgerConnector) -> LedgerHarness:
    """The ledger connector for the pm4ml connector contract suite, on SQLite and PostgreSQL."""
    return LedgerHarness(connector)
