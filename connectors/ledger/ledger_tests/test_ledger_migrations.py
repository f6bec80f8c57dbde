"""The ledger's schema is created by its own Alembic scripts, into its own version table,
beside pm4ml's tables; the migrations match the models exactly; the connector and the CLI are
found through pm4ml's entry-point groups.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.config import Settings
from pm4ml.connectors import available, load
from pm4ml.store.engine import create_engine
from pm4ml.store.schema import upgrade_all
from pm4ml_ledger import LedgerConnector
from pm4ml_ledger.cli import app
from pm4ml_ledger.connector import async_url
from pm4ml_ledger.schema import VERSION_TABLE, Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
        version = await connection.scalar(
            text("SELECT version_num FROM pm4ml_ledger_alembic_version")
        )
    assert version == "ledger0002"


def test_upgrade_is_idempotent_and_accepts_a_sync_url(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    LedgerConnector.upgrade_database(f"sqlite:///{path}")
    LedgerConnector.upgrade_database(f"sqlite+aiosqlite:///{path}")
    assert path.stat().st_size > 0


async def test_pm4ml_db_upgrade_creates_the_ledger_beside_pm4ml_tables(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}"
    settings = Settings(database_url=SecretStr(url), connector="ledger")
    await asyncio.to_thread(upgrade_all, settings)
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert {"ledger_accounts", "ledger_reservations", "ledger_postings", VERSION_TABLE} <= tables
    assert "pm4ml_alembic_version" in tables


def test_connector_and_cli_are_registered() -> None:
    assert load("ledger") is LedgerConnector
    assert LedgerConnector.name == "ledger"
    info = next(i for i in available() if i.name == "ledger")
    assert info.distribution == "pm4ml-ledger"
    (command,) = [ep for ep in entry_points(group="pm4ml.cli") if ep.name == "ledger"]
    assert command.load() is app


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("postgresql://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_async_url(url: str, expected: str) -> None:
    assert async_url(url) == expected
