"""The CLI: version, configuration display (secrets redacted), clear configuration errors,
plugin sub-commands mounted from entry points."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pm4ml import __version__
from pm4ml.cli import _mount_plugins, app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_config_show_redacts_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PM4ML_ILP_SECRET", "s3cr3t-value")
    monkeypatch.setenv("PM4ML_DFSP_ID", "bankone")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["dfsp_id"] == "bankone"
    assert shown["ilp_secret"] == "**********"
    assert "s3cr3t-value" not in result.output


def test_configuration_error_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PM4ML_ILP_VERSION", "7")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "PM4ML_ILP_VERSION" in result.output


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from pm4ml.cli import run; run()", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_connectors_list_shows_the_ledger() -> None:
    _mount_plugins()
    result = runner.invoke(app, ["connectors", "list"])
    assert result.exit_code == 0, result.output
    assert "ledger" in result.output
    assert "pm4ml-ledger" in result.output


def test_plugin_commands_are_mounted() -> None:
    _mount_plugins()
    result = runner.invoke(app, ["ledger", "--help"])
    assert result.exit_code == 0, result.output
    assert "open-account" in result.output


def test_db_upgrade_creates_every_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PM4ML_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "pm4ml.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert {"transfers", "quotes", "messages", "jobs", "ledger_accounts"} <= tables
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0, again.output


def test_serve_refuses_to_start_misconfigured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM4ML_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PM4ML_ILP_SECRET", raising=False)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "PM4ML_ILP_SECRET" in result.output
