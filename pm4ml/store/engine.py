"""Database engines: SQLite (the embedded default) and PostgreSQL, configured once here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a connection whose transaction only reads.
READ_ONLY = "pm4ml_read_only"
#: A pooled PostgreSQL connection that sat unused longer than this is checked before use.
PING_AFTER_IDLE_SECONDS = 5.0
_RETURNED_AT = "pm4ml_returned_at"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for ``url``. SQLite gets WAL mode, a busy timeout and foreign keys;
    its parent directory is created. PostgreSQL gets a bounded pool whose idle connections are
    checked before use (:func:`_ping_idle_connections`)."""
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    else:
        _ping_idle_connections(engine)
    return engine


def read_options(engine: AsyncEngine) -> dict[str, Any]:
    """Execution options for a connection that only reads. On PostgreSQL: no transaction at
    all; under READ COMMITTED each statement sees its own snapshot anyway, so BEGIN and
    ROLLBACK would only add two round trips. On SQLite: a deferred BEGIN, which does not wait
    for the write lock, so reads run while a writer commits."""
    if engine.dialect.name == "sqlite":
        return {READ_ONLY: True}
    return {"isolation_level": "AUTOCOMMIT"}


def _ping_idle_connections(engine: AsyncEngine) -> None:
    # SQLAlchemy's pool_pre_ping checks every checkout, which on asyncpg is three round trips
    # (BEGIN, a query, ROLLBACK) for each transaction: more than most transactions here cost.
    # A connection in steady use is known good; one that sat idle may have been closed by a
    # database restart or a firewall, so only that one is checked. DisconnectionError makes
    # the pool discard it and hand out a fresh connection instead.
    dialect = engine.dialect
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def note_return(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection lost: {error}") from error


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE ourselves
    # (below) so that a read-then-write transaction takes the write lock up front and two
    # writers serialise instead of failing with "database is locked" on upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # Read-only sessions (Store.reading) begin deferred so they never queue behind writers.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
