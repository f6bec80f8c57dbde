"""``pm4ml ledger ...``: open accounts, fund them, block them, and look at balances.

Mounted under the ``pm4ml`` command through the ``pm4ml.cli`` entry-point group. Every command
reads the database URL from pm4ml's settings (``PM4ML_DATABASE_URL``, ``--config``), migrates
the ledger tables first, then runs one ledger operation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pm4ml.cli import settings_or_exit
from pm4ml.connectors import ConnectorError, PartyId
from pm4ml.store.engine import create_engine
from pm4ml_ledger.accounts import Account, Balance
from pm4ml_ledger.connector import LedgerConnector, async_url
from pm4ml_ledger.errors import LedgerError
from pm4ml_ledger.ledger import Ledger
from pm4ml_ledger.schema import AccountKind
from pm4ml_ledger.units import parse_amount

T = TypeVar("T")

app = typer.Typer(
    name="ledger",
    help="The embedded ledger: accounts and balances of the ledger connector.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


def _amount(value: str | Decimal) -> Decimal:
    # Click also passes an option's default (already a Decimal) through the parser.
    if isinstance(value, Decimal):
        return value
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


IdType = Annotated[str, typer.Option("--id-type", help="Party id type: MSISDN, ACCOUNT_ID, ...")]
IdValue = Annotated[str, typer.Option("--id-value", help="Party id value.")]
SubId = Annotated[str | None, typer.Option("--sub-id", help="Party sub-id or sub-type.")]
Currency = Annotated[str, typer.Option("--currency", help="ISO 4217 currency code.")]
Amount = Annotated[Decimal, typer.Option("--amount", parser=_amount, help="Amount, e.g. 10.50.")]
Reference = Annotated[
    str | None,
    typer.Option("--reference", help="Idempotency key: a repeat with it has no effect."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _with_ledger(work: Callable[[Ledger], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` on a ledger over pm4ml's database; exit 1 on refusal."""
    url = async_url(settings_or_exit().effective_database_url)

    async def main() -> T:
        engine = create_engine(url, pool_size=1)
        try:
            return await work(Ledger(engine))
        finally:
            await engine.dispose()

    try:
        LedgerConnector.upgrade_database(url)
        return asyncio.run(main())
    except (LedgerError, ConnectorError, ValueError) as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


def _plain(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _as_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "kind": str(account.kind),
        "id_type": account.party.id_type,
        "id_value": account.party.id_value,
        "sub_id": account.party.sub_id,
        "currency": account.currency,
        "status": str(account.status),
        "display_name": account.display_name,
        "balance": str(account.balance),
        "held": str(account.held),
        "available": str(account.available),
        "max_single_transfer": _plain(account.max_single_transfer) or None,
    }


def _print_balance(party: PartyId, currency: str, balance: Balance, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps({k: str(v) for k, v in balance._asdict().items()}))
        return
    console.print(
        f"{party} {currency}: balance {balance.balance}, held {balance.held}, "
        f"available {balance.available}",
        highlight=False,
    )


@app.command("open-account")
def open_account(
    id_type: IdType,
    id_value: IdValue,
    currency: Currency,
    sub_id: SubId = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    middle_name: Annotated[str | None, typer.Option("--middle-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    date_of_birth: Annotated[
        datetime | None, typer.Option("--date-of-birth", formats=["%Y-%m-%d"])
    ] = None,
    balance: Annotated[
        Decimal, typer.Option("--balance", parser=_amount, help="Opening balance.")
    ] = Decimal(0),
    limit: Annotated[
        Decimal | None,
        typer.Option("--max-single-transfer", parser=_amount, help="Largest single transfer."),
    ] = None,
) -> None:
    """Open an account, funded from the settlement account with the opening balance."""
    party = PartyId(id_type, id_value, sub_id)
    account = _with_ledger(
        lambda ledger: ledger.open_account(
            party,
            currency,
            display_name=name,
            first_name=first_name,
            middle_name=middle_name,
            last_name=last_name,
            date_of_birth=None if date_of_birth is None else date_of_birth.date(),
            balance=balance,
            max_single_transfer=limit,
        )
    )
    console.print(
        f"opened account {account.id}: {party} {currency}, balance {account.balance}",
        highlight=False,
    )


@app.command("accounts")
def accounts(
    currency: Annotated[str | None, typer.Option("--currency", help="Only this currency.")] = None,
    include_settlement: Annotated[
        bool, typer.Option("--settlement", help="Also list the settlement accounts.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List the accounts with their balances."""
    found = _with_ledger(
        lambda ledger: ledger.list_accounts(
            currency=currency, include_settlement=include_settlement
        )
    )
    if as_json:
        console.print_json(json.dumps([_as_dict(account) for account in found]))
        return
    table = Table("id", "party", "currency", "name", "status")
    for column in ("balance", "held", "available"):
        table.add_column(column, justify="right")
    for a in found:
        settlement = a.kind is AccountKind.SETTLEMENT
        table.add_row(
            str(a.id),
            str(a.party),
            a.currency,
            a.display_name or "",
            str(a.status),
            str(a.balance),
            "" if settlement else str(a.held),
            "" if settlement else str(a.available),
        )
    console.print(table)


@app.command("balance")
def balance(
    id_type: IdType,
    id_value: IdValue,
    currency: Currency,
    sub_id: SubId = None,
    as_json: AsJson = False,
) -> None:
    """Show the balance, the held amount and the available funds of an account."""
    party = PartyId(id_type, id_value, sub_id)
    _print_balance(
        party, currency, _with_ledger(lambda ledger: ledger.balance(party, currency)), as_json
    )


@app.command("deposit")
def deposit(
    id_type: IdType,
    id_value: IdValue,
    currency: Currency,
    amount: Amount,
    sub_id: SubId = None,
    reference: Reference = None,
) -> None:
    """Credit an account, funded from the settlement account."""
    party = PartyId(id_type, id_value, sub_id)
    result = _with_ledger(
        lambda ledger: ledger.deposit(party, currency, amount, reference=reference)
    )
    _print_balance(party, currency, result, as_json=False)


@app.command("withdraw")
def withdraw(
    id_type: IdType,
    id_value: IdValue,
    currency: Currency,
    amount: Amount,
    sub_id: SubId = None,
    reference: Reference = None,
) -> None:
    """Debit an account's available funds back to the settlement account."""
    party = PartyId(id_type, id_value, sub_id)
    result = _with_ledger(
        lambda ledger: ledger.withdraw(party, currency, amount, reference=reference)
    )
    _print_balance(party, currency, result, as_json=False)


def _print_status(party: PartyId, account: Account) -> None:
    console.print(f"{party} {account.currency}: {account.status}", highlight=False)


@app.command("block")
def block(id_type: IdType, id_value: IdValue, currency: Currency, sub_id: SubId = None) -> None:
    """Block an account: it neither pays nor receives until unblocked."""
    party = PartyId(id_type, id_value, sub_id)
    _print_status(party, _with_ledger(lambda ledger: ledger.block(party, currency)))


@app.command("unblock")
def unblock(id_type: IdType, id_value: IdValue, currency: Currency, sub_id: SubId = None) -> None:
    """Open a blocked account again."""
    party = PartyId(id_type, id_value, sub_id)
    _print_status(party, _with_ledger(lambda ledger: ledger.unblock(party, currency)))


@app.command("close")
def close(id_type: IdType, id_value: IdValue, currency: Currency, sub_id: SubId = None) -> None:
    """Close an empty account with nothing pending; closing is final."""
    party = PartyId(id_type, id_value, sub_id)
    _print_status(party, _with_ledger(lambda ledger: ledger.close(party, currency)))


@app.command("seed")
def seed(
    file: Annotated[
        Path, typer.Argument(help="YAML or JSON seed file.", exists=True, dir_okay=False)
    ],
) -> None:
    """Open the accounts of a seed file that do not exist yet (idempotent)."""
    result = _with_ledger(lambda ledger: ledger.load_seed(file))
    console.print(f"opened {result.opened} accounts, {result.existing} existed already")


@app.command("check")
def check() -> None:
    """Check the ledger's invariants: balances match the journal and sum to zero."""
    problems = _with_ledger(lambda ledger: ledger.audit())
    for problem in problems:
        errors.print(f"[red]problem:[/red] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("the ledger balances")
