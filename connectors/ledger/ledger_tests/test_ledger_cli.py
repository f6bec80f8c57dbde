"""``pm4ml ledger ...`` drives the ledger from the shell: the commands run the migrations, act
on the database named by pm4ml's settings, print tables or JSON, and exit 1 on a refusal.

Method: typer's CliRunner invokes ``pm4ml_ledger.cli.app`` with ``PM4ML_DATABASE_URL`` set to
the test database (SQLite and PostgreSQL); results are read back through the CLI itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pm4ml_ledger.cli import app

ALICE = ["--id-type", "MSISDN", "--id-value", "255711111111", "--currency", "USD"]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PM4ML_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("PM4ML_CONFIG_FILE", raising=False)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def balance(cli: CliRunner, account: list[str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(run(cli, "balance", *account, "--json").stdout)
    return loaded


def test_open_deposit_withdraw_and_balance(cli: CliRunner) -> None:
    opened = run(cli, "open-account", *ALICE, "--name", "Alice M", "--balance", "100")
    assert "opened account 1" in opened.stdout
    run(cli, "deposit", *ALICE, "--amount", "10.25")
    run(cli, "deposit", *ALICE, "--amount", "10.25", "--reference", "r-1")
    run(cli, "deposit", *ALICE, "--amount", "10.25", "--reference", "r-1")
    run(cli, "withdraw", *ALICE, "--amount", "0.5")
    assert balance(cli, ALICE) == {"balance": "120", "held": "0", "available": "120"}
    assert "balance 120, held 0, available 120" in run(cli, "balance", *ALICE).stdout


def test_open_account_with_every_detail(cli: CliRunner) -> None:
    run(
        cli,
        "open-account",
        *ALICE,
        "--sub-id",
        "wallet",
        "--first-name",
        "Alice",
        "--middle-name",
        "W",
        "--last-name",
        "Mwangi",
        "--date-of-birth",
        "1985-12-31",
        "--max-single-transfer",
        "25",
    )
    (account,) = json.loads(run(cli, "accounts", "--json").stdout)
    assert account["sub_id"] == "wallet"
    assert account["display_name"] == "Alice W Mwangi"
    assert account["max_single_transfer"] == "25"


def test_accounts_lists_balances(cli: CliRunner) -> None:
    run(cli, "open-account", *ALICE, "--name", "Alice M", "--balance", "100")
    bob = ["--id-type", "MSISDN", "--id-value", "255722222222", "--currency", "EUR"]
    run(cli, "open-account", *bob, "--name", "Bob K", "--balance", "7.5")

    table = run(cli, "accounts").stdout
    assert "MSISDN/255711111111" in table
    assert "Alice M" in table
    assert "7.5" in table
    listed = json.loads(run(cli, "accounts", "--json", "--currency", "EUR").stdout)
    assert [(a["id_value"], a["balance"]) for a in listed] == [("255722222222", "7.5")]
    everything = json.loads(run(cli, "accounts", "--json", "--settlement").stdout)
    assert sorted(a["balance"] for a in everything if a["kind"] == "SETTLEMENT") == [
        "-100",
        "-7.5",
    ]


def test_block_unblock_close(cli: CliRunner) -> None:
    run(cli, "open-account", *ALICE)
    assert "BLOCKED" in run(cli, "block", *ALICE).stdout
    assert "OPEN" in run(cli, "unblock", *ALICE).stdout
    assert "CLOSED" in run(cli, "close", *ALICE).stdout
    refused = run(cli, "deposit", *ALICE, "--amount", "1", code=1)
    assert "closed" in refused.output


def test_refusals_exit_1_with_the_reason(cli: CliRunner) -> None:
    assert "no USD account" in run(cli, "balance", *ALICE, code=1).output
    run(cli, "open-account", *ALICE, "--balance", "1")
    assert "already has" in run(cli, "open-account", *ALICE, code=1).output
    assert "not enough" in run(cli, "withdraw", *ALICE, "--amount", "2", code=1).output
    assert "currency" in run(cli, "open-account", *ALICE[:4], "--currency", "us", code=1).output


def test_bad_amounts_are_usage_errors(cli: CliRunner) -> None:
    result = run(cli, "open-account", *ALICE, "--balance", "1.00001", code=2)
    assert "decimals" in result.output
    run(cli, "deposit", *ALICE, "--amount", "ten", code=2)


def test_seed_is_idempotent(cli: CliRunner, tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "accounts:\n"
        "  - {id_type: MSISDN, id_value: '255711111111', currency: USD, balance: '40'}\n"
        "  - {id_type: MSISDN, id_value: '255733333333', currency: USD}\n"
    )
    assert "opened 2 accounts, 0 existed" in run(cli, "seed", str(seed)).stdout
    assert "opened 0 accounts, 2 existed" in run(cli, "seed", str(seed)).stdout
    assert balance(cli, ALICE)["balance"] == "40"
    seed.write_text("accounts: [{id_type: MSISDN}]")
    assert "invalid seed file" in run(cli, "seed", str(seed), code=1).output


def test_check_reports_a_sound_ledger(cli: CliRunner) -> None:
    run(cli, "open-account", *ALICE, "--balance", "5")
    assert "the ledger balances" in run(cli, "check").stdout


def test_no_arguments_shows_help(cli: CliRunner) -> None:
    result = cli.invoke(app, [])
    for command in ("open-account", "accounts", "balance", "deposit", "block", "seed"):
        assert command in result.output
