"""The PostgreSQL pool checks only connections that sat idle, and replaces a dead one; a
single-statement unit of work runs without BEGIN and COMMIT."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.store import engine as engine_module
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store
from tests.conftest import POSTGRES_DSN

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.begin() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def count_pings(engine: AsyncEngine) -> list[int]:
    """Count the pool's pings (a real one still runs)."""
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


async def test_connection_in_steady_use_is_not_pinged(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    pings = count_pings(engine)
    try:
        first = await backend_pid(engine)
        for _ in range(5):
            assert await backend_pid(engine) == first
        assert pings == []
    finally:
        await engine.dispose()


async def test_idle_connection_closed_by_the_server_is_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    pings = count_pings(engine)
    try:
        dead = await backend_pid(engine)
        admin = await asyncpg.connect(POSTGRES_DSN, timeout=10)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", dead)
        finally:
            await admin.close()
        # Every returned connection now counts as idle: the next checkout pings, finds the
        # connection dead and gets a fresh one, so the transaction itself does not fail.
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        fresh = await backend_pid(engine)
        assert fresh != dead
        assert pings == [1]
    finally:
        await engine.dispose()


async def test_one_statement_runs_in_autocommit_and_a_transaction_does_not(
    database_url: str,
) -> None:
    # A probe of two statements: the first takes a transaction id; the second still sees it
    # only if both ran in one transaction (BEGIN ... COMMIT), not each on its own.
    take, held = (
        text("SELECT pg_current_xact_id()"),
        text("SELECT pg_current_xact_id_if_assigned()"),
    )
    engine = create_engine(database_url, pool_size=1)
    store = Store(engine)
    try:
        async with store.one_statement() as session:
            await session.execute(take)
            assert (await session.execute(held)).scalar_one() is None
        async with store.transaction() as session:
            await session.execute(take)
            assert (await session.execute(held)).scalar_one() is not None
    finally:
        await engine.dispose()
