"""``pm4ml users ...``: manage the operations portal's local users."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.ops import users
from pm4ml.ops.schema import ROLES, upgrade_ops
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store

T = TypeVar("T")
users_app = typer.Typer(help="Operations portal users.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on the configured database (migrated first)."""
    from pm4ml.cli import settings_or_exit

    url = settings_or_exit().effective_database_url
    upgrade_ops(url)

    async def main() -> T:
        engine = create_engine(url, pool_size=1)
        try:
            async with Store(engine).transaction() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except users.UserError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="PM4ML_OPS_NEW_PASSWORD",
        help=f"At least {users.PASSWORD_CHARS_MIN} characters (prompted when not given).",
    ),
]


@users_app.command("add")
def add(
    username: str,
    password: Password,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "viewer",
) -> None:
    """Create a local user."""

    async def work(session: AsyncSession) -> None:
        await users.add_user(session, username, password, role)
        await users.audit(session, "cli", "user_add", username, after={"role": role})

    _run(work)
    console.print(f"user {username} added ({role})")


@users_app.command("list")
def list_() -> None:
    """List the users, their roles and whether they can sign in."""
    rows = _run(users.list_users)
    table = Table("username", "role", "active", "created")
    for user in rows:
        table.add_row(
            user.username, user.role, "yes" if user.active else "no", str(user.created_at)
        )
    console.print(table)


def _set_active(username: str, active: bool) -> None:
    async def work(session: AsyncSession) -> None:
        await users.set_active(session, username, active)
        await users.audit(
            session,
            "cli",
            "user_enable" if active else "user_disable",
            username,
            before={"active": not active},
            after={"active": active},
        )

    _run(work)
    console.print(f"user {username} {'enabled' if active else 'disabled'}")


@users_app.command("disable")
def disable(username: str) -> None:
    """Stop a user from signing in (their open sessions end at their next request)."""
    _set_active(username, False)


@users_app.command("enable")
def enable(username: str) -> None:
    """Let a disabled user sign in again."""
    _set_active(username, True)


@users_app.command("reset-password")
def reset_password(username: str, password: Password) -> None:
    """Set a new password for a user."""

    async def work(session: AsyncSession) -> None:
        await users.reset_password(session, username, password)
        await users.audit(session, "cli", "user_reset_password", username)

    _run(work)
    console.print(f"password of {username} changed")
