"""Readiness: named checks run on each ``GET /ready``; 200 when all pass, 503 naming failures.

Liveness stays the existing ``GET /health`` (the process answers). Checks are injectable so
that the bus, the connector and certificate validity can be wired by whoever owns them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Check = Callable[[], Awaitable[None]]
"""A readiness check: returns when healthy, raises with a reason when not."""

CHECK_SECONDS = 2.0


def database_check(engine: AsyncEngine) -> Check:
    """A check that the database answers ``SELECT 1``."""

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


class Readiness:
    """Runs every check, each bounded by :data:`CHECK_SECONDS`."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = dict(checks)

    async def results(self) -> dict[str, str]:
        """``ok`` or the failure reason, per check name."""
        found: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_SECONDS)
            except Exception as exc:
                found[name] = f"{type(exc).__name__}: {exc}"[:200]
            else:
                found[name] = "ok"
        return found

    async def endpoint(self, request: Request) -> Response:
        """``GET /ready``."""
        results = await self.results()
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "OK" if ready else "NOT_READY", "checks": results},
            status_code=200 if ready else 503,
        )
