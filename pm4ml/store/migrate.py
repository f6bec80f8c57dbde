"""Running Alembic migrations from code, for pm4ml's tables and for connectors' own tables.

Each component keeps its migrations in its own script directory and its own version table,
so a connector (the ledger, say) evolves its schema independently of pm4ml's in the same
database. Every script directory's ``env.py`` is two lines that call :func:`run_env`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from pm4ml.store.engine import create_engine


def upgrade(url: str, script_location: Path, version_table: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` (async SQLAlchemy URL) to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["pm4ml_url"] = url
    config.attributes["pm4ml_version_table"] = version_table
    command.upgrade(config, revision)


def current(url: str, script_location: Path, version_table: str) -> None:
    """Print the current revision (``pm4ml db current``)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["pm4ml_url"] = url
    config.attributes["pm4ml_version_table"] = version_table
    command.current(config)


def run_env(target_metadata: MetaData | None) -> None:
    """The body of every ``env.py``: run the migrations online over an async engine."""
    attributes: dict[str, Any] = context.config.attributes
    url: str = attributes["pm4ml_url"]
    version_table: str = attributes["pm4ml_version_table"]

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())
