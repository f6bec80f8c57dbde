"""The ledger's administration API (what the CLI and the demo use): opening accounts,
deposits and withdrawals against settlement, balances, listing, blocking and closing.

Every test runs on SQLite and PostgreSQL; the ``ledger`` fixture audits after each test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from pm4ml.connectors import IncomingTransfer, OutgoingTransfer, PartyId
from pm4ml_ledger import (
    AccountExists,
    AccountKind,
    AccountNotFound,
    AccountStatus,
    Ledger,
    LedgerConnector,
    LedgerError,
)

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeOutgoing = Callable[..., OutgoingTransfer]
MakeIncoming = Callable[..., IncomingTransfer]
ALICE = PartyId("MSISDN", "255711111111")


async def test_open_account_keeps_every_detail(ledger: Ledger) -> None:
    account = await ledger.open_account(
        ALICE,
        "USD",
        display_name="Alice",
        first_name="Alice",
        last_name="Mwangi",
        date_of_birth=date(1985, 12, 31),
        balance=Decimal("100.0001"),
        max_single_transfer=Decimal("50"),
    )
    assert account == await ledger.account(ALICE, "USD")
    assert account.kind is AccountKind.CUSTOMER
    assert account.status is AccountStatus.OPEN
    assert (account.display_name, account.first_name, account.last_name) == (
        "Alice",
        "Alice",
        "Mwangi",
    )
    assert account.date_of_birth == date(1985, 12, 31)
    assert account.balances == (Decimal("100.0001"), Decimal(0), Decimal("100.0001"))
    assert account.max_single_transfer == Decimal(50)


async def test_open_account_twice_is_refused(ledger: Ledger) -> None:
    await ledger.open_account(ALICE, "USD", balance=Decimal(5))
    with pytest.raises(AccountExists):
        await ledger.open_account(ALICE, "USD", balance=Decimal(5))
    await ledger.open_account(ALICE, "EUR")
    assert (await ledger.balance(ALICE, "USD")).balance == Decimal(5)


@pytest.mark.parametrize(
    ("party", "currency", "details"),
    [
        (ALICE, "usd", {}),
        (ALICE, "USD", {"balance": Decimal("-1")}),
        (ALICE, "USD", {"balance": Decimal("0.00001")}),
        (ALICE, "USD", {"max_single_transfer": Decimal(0)}),
        (PartyId("SETTLEMENT", "SETTLEMENT"), "USD", {}),
        (PartyId("MSISDN", ""), "USD", {}),
    ],
)
async def test_open_account_validates_its_input(
    ledger: Ledger, party: PartyId, currency: str, details: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        await ledger.open_account(party, currency, **details)
    assert await ledger.list_accounts(include_settlement=True) == []


async def test_deposit_and_withdraw_move_money_against_settlement(
    ledger: Ledger, make_account: MakeAccount
) -> None:
    party = await make_account(balance="10")
    assert await ledger.deposit(party, "USD", Decimal("2.5")) == (
        Decimal("12.5"),
        Decimal(0),
        Decimal("12.5"),
    )
    assert (await ledger.withdraw(party, "USD", Decimal("0.5"))).balance == Decimal(12)
    assert await ledger.settlement_balance("USD") == Decimal(-12)


async def test_deposit_with_a_reference_happens_once(
    ledger: Ledger, make_account: MakeAccount
) -> None:
    party, other = await make_account(), await make_account()
    await ledger.deposit(party, "USD", Decimal(5), reference="bank-ref-1")
    await ledger.deposit(party, "USD", Decimal(5), reference="bank-ref-1")
    assert (await ledger.balance(party, "USD")).balance == Decimal(5)
    with pytest.raises(LedgerError, match="reference"):
        await ledger.deposit(party, "USD", Decimal(6), reference="bank-ref-1")
    with pytest.raises(LedgerError, match="reference"):
        await ledger.deposit(other, "USD", Decimal(5), reference="bank-ref-1")
    with pytest.raises(LedgerError, match="reference"):
        await ledger.withdraw(party, "USD", Decimal(5), reference="bank-ref-1")


async def test_withdraw_only_available_funds(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    party = await make_account(balance="10")
    await connector.reserve_funds(outgoing("t-1", party, "4"))
    with pytest.raises(LedgerError, match="not enough"):
        await ledger.withdraw(party, "USD", Decimal("6.0001"))
    await ledger.withdraw(party, "USD", Decimal(6))
    assert await ledger.balance(party, "USD") == (Decimal(4), Decimal(4), Decimal(0))


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1), Decimal("0.00001")])
async def test_deposit_of_a_bad_amount_is_refused(
    ledger: Ledger, make_account: MakeAccount, amount: Decimal
) -> None:
    party = await make_account()
    with pytest.raises(ValueError, match="amount"):
        await ledger.deposit(party, "USD", amount)


async def test_unknown_accounts(ledger: Ledger) -> None:
    with pytest.raises(AccountNotFound):
        await ledger.balance(ALICE, "USD")
    with pytest.raises(AccountNotFound):
        await ledger.deposit(ALICE, "USD", Decimal(1))
    with pytest.raises(AccountNotFound):
        await ledger.block(ALICE, "USD")


async def test_list_accounts(ledger: Ledger, make_account: MakeAccount) -> None:
    first = await make_account(balance="1")
    second = await make_account(balance="2", currency="EUR")

    assert [a.party for a in await ledger.list_accounts()] == [first, second]
    assert [a.party for a in await ledger.list_accounts(currency="EUR")] == [second]
    with_settlement = await ledger.list_accounts(include_settlement=True)
    assert [a.kind for a in with_settlement].count(AccountKind.SETTLEMENT) == 2


async def test_block_unblock_close(ledger: Ledger, make_account: MakeAccount) -> None:
    party = await make_account()
    assert (await ledger.block(party, "USD")).status is AccountStatus.BLOCKED
    assert (await ledger.block(party, "USD")).status is AccountStatus.BLOCKED
    assert (await ledger.unblock(party, "USD")).status is AccountStatus.OPEN
    assert (await ledger.close(party, "USD")).status is AccountStatus.CLOSED
    assert (await ledger.close(party, "USD")).status is AccountStatus.CLOSED
    with pytest.raises(LedgerError, match="cannot become"):
        await ledger.unblock(party, "USD")
    with pytest.raises(LedgerError, match="closed"):
        await ledger.deposit(party, "USD", Decimal(1))


async def test_close_needs_an_empty_account_with_nothing_pending(
    connector: LedgerConnector,
    ledger: Ledger,
    make_account: MakeAccount,
    incoming: MakeIncoming,
    outgoing: MakeOutgoing,
) -> None:
    party = await make_account(balance="5")
    with pytest.raises(LedgerError, match="empty"):
        await ledger.close(party, "USD")
    await connector.reserve_funds(outgoing("t-1", party, "5"))
    await connector.commit_funds("t-1")
    await connector.prepare_transfer(incoming("t-2", party, "1"))
    with pytest.raises(LedgerError, match="pending"):
        await ledger.close(party, "USD")
    await connector.abort_transfer("t-2", "expired")
    await ledger.close(party, "USD")
    assert (await ledger.account(party, "USD")).status is AccountStatus.CLOSED
