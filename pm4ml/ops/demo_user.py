"""The demo's portal administrator: one admin user whose password is kept in the data dir."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from pm4ml.ops.schema import upgrade_ops
from pm4ml.ops.users import add_user, find_user
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store

DEMO_ADMIN = "admin"
PASSWORD_FILE = "ops-admin.password"  # noqa: S105 (a file name)


def ensure_demo_admin(url: str, home: Path) -> Path:
    """Migrate the portal's tables at ``url`` and create user ``admin`` (role admin) with a
    random password written to ``home/ops-admin.password`` (0600), once. Returns that path.
    Synchronous: call it before the event loop starts."""
    upgrade_ops(url)
    path = home / PASSWORD_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(18))
    password = path.read_text().strip()

    async def create() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with Store(engine).transaction() as session:
                if await find_user(session, DEMO_ADMIN) is None:
                    await add_user(session, DEMO_ADMIN, password, "admin")
        finally:
            await engine.dispose()

    asyncio.run(create())
    return path
