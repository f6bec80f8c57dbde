"""Seed files open the accounts a demo starts with: YAML or JSON, validated entry by entry,
and idempotent, so loading a seed again (or restarting pm4ml) never doubles a balance.

The loading tests run on SQLite and PostgreSQL; the parsing tests need no database.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext, PartyId
from pm4ml_ledger import AccountStatus, Ledger, LedgerConnector, SeedError
from pm4ml_ledger.seed import parse_seed, read_seed

SEED_YAML = """\
accounts:
  - id_type: MSISDN
    id_value: 255700000001      # unquoted: YAML reads a number, the ledger keeps the digits
    currency: USD
    first_name: Amina
    last_name: Juma
    date_of_birth: 1990-04-01
    balance: 1000.10            # unquoted: YAML reads a float, the ledger keeps the decimal
    max_single_transfer: "500"
  - id_type: MSISDN
    id_value: "255700000001"
    currency: TZS
    balance: "2500000"
  - id_type: ACCOUNT_ID
    id_value: "merchant-7"
    sub_id: till
    currency: USD
    display_name: Corner Shop
    status: BLOCKED
"""
AMINA = PartyId("MSISDN", "255700000001")
SHOP = PartyId("ACCOUNT_ID", "merchant-7", "till")


def test_parse_seed_reads_numbers_exactly() -> None:
    first, second, third = parse_seed(SEED_YAML)
    assert first.id_value == "255700000001"
    assert first.balance == Decimal("1000.10")
    assert first.max_single_transfer == Decimal(500)
    assert second.balance == Decimal(2_500_000)
    assert (third.sub_id, third.status, third.balance) == ("till", "BLOCKED", Decimal(0))


def test_parse_seed_accepts_a_bare_list_and_json() -> None:
    entry = {"id_type": "MSISDN", "id_value": "1", "currency": "EUR", "balance": "5"}
    assert parse_seed(json.dumps([entry]), json_format=True)[0].currency == "EUR"
    assert parse_seed(json.dumps({"accounts": [entry]}), json_format=True)[0].id_value == "1"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("accounts: [{id_type: MSISDN, id_value: '1', currency: usd}]", "accounts.0.currency"),
        ("accounts: [{id_type: MSISDN, id_value: '1', currency: USD, pin: 1}]", "pin"),
        ("accounts: [{id_type: MSISDN, id_value: '1', currency: USD, balance: -1}]", "balance"),
        ("accounts: [{id_type: MSISDN, id_value: '1', currency: USD, balance: 0.00001}]", "dec"),
        ("accounts: [{id_type: MSISDN, id_value: '1', currency: USD, balance: true}]", "balance"),
        ("accounts: [{id_type: SETTLEMENT, id_value: '1', currency: USD}]", "reserved"),
        ("accounts: [{id_type: MSISDN, currency: USD}]", "id_value"),
        ("accounts: {", "not valid YAML"),
        ("42", "invalid seed file"),
    ],
)
def test_parse_seed_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(SeedError, match=problem):
        parse_seed(text)


def test_read_seed_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read"):
        read_seed(tmp_path / "absent.yaml")


async def test_load_seed_opens_accounts_once(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_YAML)

    assert await ledger.load_seed(path) == (3, 0)
    await ledger.deposit(AMINA, "USD", Decimal("0.9"))
    assert await ledger.load_seed(path) == (0, 3)

    amina = await ledger.account(AMINA, "USD")
    assert amina.balance == Decimal(1001)
    assert amina.max_single_transfer == Decimal(500)
    assert (await ledger.balance(AMINA, "TZS")).balance == Decimal(2_500_000)
    shop = await ledger.account(SHOP, "USD")
    assert (shop.status, shop.display_name) == (AccountStatus.BLOCKED, "Corner Shop")


async def test_load_seed_adds_only_new_accounts(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps([{"id_type": "MSISDN", "id_value": "1", "currency": "USD"}]))
    assert await ledger.load_seed(path) == (1, 0)
    path.write_text(
        json.dumps(
            [
                {"id_type": "MSISDN", "id_value": "1", "currency": "USD", "balance": "9"},
                {"id_type": "MSISDN", "id_value": "2", "currency": "USD", "balance": "9"},
            ]
        )
    )
    assert await ledger.load_seed(path) == (1, 1)
    assert (await ledger.balance(PartyId("MSISDN", "1"), "USD")).balance == Decimal(0)
    assert (await ledger.balance(PartyId("MSISDN", "2"), "USD")).balance == Decimal(9)


async def test_connector_start_loads_the_configured_seed(
    engine: AsyncEngine, database_url: str, ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_YAML)
    settings = Settings(database_url=SecretStr(database_url), ledger_seed_file=path)
    for _restart in range(2):
        connector = LedgerConnector.create(ConnectorContext(settings=settings, engine=engine))
        await connector.start()
        await connector.close()
    assert (await ledger.balance(AMINA, "USD")).balance == Decimal("1000.1")


async def test_connector_without_pm4ml_engine_owns_one(
    database_url: str, ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_YAML)
    settings = Settings(database_url=SecretStr(database_url), ledger_seed_file=path)
    connector = LedgerConnector.create(ConnectorContext(settings=settings))
    await connector.start()
    assert (await connector.lookup_party(AMINA)).supported_currencies == ("TZS", "USD")
    await connector.close()
    assert (await ledger.balance(AMINA, "TZS")).balance == Decimal(2_500_000)


def test_create_refuses_a_missing_seed_file(tmp_path: Path) -> None:
    settings = Settings(ledger_seed_file=tmp_path / "absent.yaml", data_dir=tmp_path)
    with pytest.raises(ValueError, match="PM4ML_LEDGER_SEED_FILE"):
        LedgerConnector.create(ConnectorContext(settings=settings))
