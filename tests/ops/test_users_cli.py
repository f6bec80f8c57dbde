"""``pm4ml users ...`` and ``pm4ml db upgrade`` against a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pm4ml.cli import app
from pm4ml.ops.users import audit_entries, authenticate
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store

runner = CliRunner()
PASSWORD = "a long enough password"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PM4ML_DATABASE_URL", "PM4ML_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PM4ML_DATA_DIR", str(tmp_path))
    return tmp_path


def _signs_in(data_dir: Path, username: str, password: str) -> bool:
    async def check() -> bool:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'pm4ml.db'}")
        try:
            async with Store(engine).transaction() as session:
                return await authenticate(session, username, password) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def _actions(data_dir: Path) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'pm4ml.db'}")
        try:
            async with Store(engine).reading() as session:
                return [entry.action for entry in await audit_entries(session)]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_db_upgrade_creates_the_portal_tables(data_dir: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 0, result.output


def test_add_list_disable_enable_reset(data_dir: Path) -> None:
    added = runner.invoke(
        app, ["users", "add", "alice", "--role", "operator"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert added.exit_code == 0, added.output
    assert "alice added (operator)" in added.output
    listed = runner.invoke(app, ["users", "list"])
    assert "alice" in listed.output and "operator" in listed.output
    assert _signs_in(data_dir, "alice", PASSWORD)
    assert not _signs_in(data_dir, "alice", "another password")

    assert runner.invoke(app, ["users", "disable", "alice"]).exit_code == 0
    assert not _signs_in(data_dir, "alice", PASSWORD)
    assert runner.invoke(app, ["users", "enable", "alice"]).exit_code == 0
    assert _signs_in(data_dir, "alice", PASSWORD)

    new = "a different long password"
    reset = runner.invoke(app, ["users", "reset-password", "alice", "--password", new])
    assert reset.exit_code == 0, reset.output
    assert _signs_in(data_dir, "alice", new) and not _signs_in(data_dir, "alice", PASSWORD)
    assert _actions(data_dir) == [
        "user_reset_password",
        "user_enable",
        "user_disable",
        "user_add",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "bob", "--role", "root", "--password", PASSWORD], "role must be"),
        (["users", "add", "bob", "--password", "short"], "at least 12"),
        (["users", "add", "bad name!", "--password", PASSWORD], "username"),
        (["users", "disable", "nobody"], "no user 'nobody'"),
        (["users", "reset-password", "nobody", "--password", PASSWORD], "no user 'nobody'"),
    ],
)
def test_bad_input_is_a_clear_error(data_dir: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_username_is_added_once(data_dir: Path) -> None:
    args = ["users", "add", "carol", "--password", PASSWORD]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output
