"""The payer side of the ledger connector keeps the contract in ``pm4ml.connectors``: funds are
held, debited or given back exactly once per transfer id, and never overdrawn.

Every test runs on SQLite and PostgreSQL through the real connector and database; the
``ledger`` fixture audits the journal after each test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pm4ml.connectors import (
    Blocked,
    IncomingTransfer,
    InsufficientFunds,
    LimitExceeded,
    Money,
    OutgoingTransfer,
    PartyId,
    PartyNotFound,
    Rejected,
    Role,
    Unavailable,
    UnknownTransfer,
    UnsupportedCurrency,
    to_fspiop_error,
)
from pm4ml_ledger import Direction, Ledger, LedgerConnector, ReservationState

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeOutgoing = Callable[..., OutgoingTransfer]


def _code(exc: BaseException) -> str:
    return to_fspiop_error(exc, Role.PAYER).code.code


async def test_reserve_holds_and_commit_debits(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="100")
    await connector.reserve_funds(outgoing("t-1", payer, "30.25"))
    assert await ledger.balance(payer, "USD") == (Decimal(100), Decimal("30.25"), Decimal("69.75"))
    assert await ledger.reservation_state("t-1", Direction.OUT) is ReservationState.HELD

    await connector.commit_funds("t-1")

    assert await ledger.balance(payer, "USD") == (Decimal("69.75"), Decimal(0), Decimal("69.75"))
    assert await ledger.reservation_state("t-1", Direction.OUT) is ReservationState.COMMITTED
    # The opening balance came from settlement (-100); the transfer went back to it.
    assert await ledger.settlement_balance("USD") == Decimal("-69.75")


async def test_reserve_commit_release_are_idempotent(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    first, second = outgoing("t-1", payer, "4"), outgoing("t-2", payer, "5")
    await connector.reserve_funds(first)
    await connector.reserve_funds(first)
    await connector.reserve_funds(second)
    await connector.reserve_funds(second)
    assert await ledger.balance(payer, "USD") == (Decimal(10), Decimal(9), Decimal(1))

    await connector.commit_funds("t-1")
    await connector.commit_funds("t-1")
    await connector.reserve_funds(first)  # a late repeat of a committed transfer
    await connector.release_funds("t-2", "payee rejected")
    await connector.release_funds("t-2", "payee rejected")
    await connector.release_funds("never-reserved", "whatever")

    assert await ledger.balance(payer, "USD") == (Decimal(6), Decimal(0), Decimal(6))


async def test_insufficient_funds(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    await connector.reserve_funds(outgoing("t-1", payer, "6"))
    with pytest.raises(InsufficientFunds) as caught:
        await connector.reserve_funds(outgoing("t-2", payer, "4.0001"))
    assert _code(caught.value) == "4001"
    await connector.reserve_funds(outgoing("t-3", payer, "4"))
    assert (await ledger.balance(payer, "USD")).available == Decimal(0)
    assert await ledger.reservation_state("t-2", Direction.OUT) is None


async def test_limit(
    connector: LedgerConnector, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="1000", max_single_transfer=Decimal("100"))
    await connector.reserve_funds(outgoing("t-1", payer, "100"))
    with pytest.raises(LimitExceeded) as caught:
        await connector.reserve_funds(outgoing("t-2", payer, "100.01"))
    assert _code(caught.value) == "4200"


async def test_blocked_unknown_and_other_currency(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    await ledger.block(payer, "USD")
    with pytest.raises(Blocked) as blocked:
        await connector.reserve_funds(outgoing("t-1", payer, "1"))
    assert _code(blocked.value) == "4400"
    with pytest.raises(PartyNotFound) as unknown:
        await connector.reserve_funds(outgoing("t-2", PartyId("MSISDN", "1"), "1"))
    assert _code(unknown.value) == "3204"
    other = await make_account(balance="10", currency="EUR")
    with pytest.raises(UnsupportedCurrency) as currency:
        await connector.reserve_funds(outgoing("t-3", other, "1", "USD"))
    assert _code(currency.value) == "4103"


async def test_reserve_again_with_another_amount_is_rejected(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    await connector.reserve_funds(outgoing("t-1", payer, "1"))
    with pytest.raises(Rejected) as caught:
        await connector.reserve_funds(outgoing("t-1", payer, "2"))
    assert _code(caught.value) == "3106"
    assert (await ledger.balance(payer, "USD")).held == Decimal(1)


async def test_reserve_of_an_over_precise_amount_is_rejected(
    connector: LedgerConnector, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    with pytest.raises(Rejected):
        await connector.reserve_funds(outgoing("t-1", payer, "0.00001"))


async def test_commit_of_an_unknown_hold(connector: LedgerConnector) -> None:
    with pytest.raises(UnknownTransfer) as caught:
        await connector.commit_funds("never-reserved")
    assert _code(caught.value) == "3208"


async def test_released_funds_cannot_be_committed_or_held_again(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    await connector.reserve_funds(outgoing("t-1", payer, "3"))
    await connector.release_funds("t-1", "expired")
    with pytest.raises(Rejected, match="released"):
        await connector.commit_funds("t-1")
    with pytest.raises(Rejected, match="released"):
        await connector.reserve_funds(outgoing("t-1", payer, "3"))
    assert await ledger.balance(payer, "USD") == (Decimal(10), Decimal(0), Decimal(10))


async def test_release_after_commit_changes_nothing(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="10")
    await connector.reserve_funds(outgoing("t-1", payer, "3"))
    await connector.commit_funds("t-1")
    await connector.release_funds("t-1", "too late")
    assert await ledger.balance(payer, "USD") == (Decimal(7), Decimal(0), Decimal(7))


async def test_payer_and_payee_in_the_same_ledger_use_one_transfer_id(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    """A transfer between two customers of this DFSP passes the hub and comes back: the same
    transfer id is then reserved OUT on the payer and IN on the payee."""
    payer, payee = await make_account(balance="10"), await make_account()
    await connector.reserve_funds(outgoing("t-1", payer, "4"))
    await connector.prepare_transfer(
        IncomingTransfer("t-1", None, None, payee, payer, "me", Money(Decimal(4), "USD"))
    )
    await connector.commit_transfer("t-1")
    await connector.commit_funds("t-1")
    assert (await ledger.balance(payer, "USD")).balance == Decimal(6)
    assert (await ledger.balance(payee, "USD")).balance == Decimal(4)
    assert await ledger.settlement_balance("USD") == Decimal(-10)


async def test_check_and_calls_raise_unavailable_when_the_database_is_down(
    outgoing: MakeOutgoing,
) -> None:
    # Nothing listens on port 1: every connection attempt is refused at once.
    engine: AsyncEngine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    down = LedgerConnector(engine)
    try:
        with pytest.raises(Unavailable):
            await down.check()
        with pytest.raises(Unavailable):
            await down.reserve_funds(outgoing("t-1", PartyId("MSISDN", "1"), "1"))
    finally:
        await down.close()
        await engine.dispose()
