"""Concurrent calls never overdraw an account, never hold or post twice, and never deadlock.

Method: many connector calls at once through one engine (a pool of real connections), on
SQLite (writers serialised by BEGIN IMMEDIATE) and PostgreSQL (row locks with SELECT ... FOR
UPDATE). The ``ledger`` fixture audits the journal after each test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from pm4ml.connectors import (
    IncomingTransfer,
    InsufficientFunds,
    OutgoingTransfer,
    PartyId,
    Rejected,
)
from pm4ml_ledger import AccountKind, Direction, Ledger, LedgerConnector, ReservationState

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeIncoming = Callable[..., IncomingTransfer]
MakeOutgoing = Callable[..., OutgoingTransfer]


async def test_twenty_reserves_on_funds_for_ten(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="100")
    transfers = [outgoing(f"t-{n}", payer, "10") for n in range(20)]

    outcomes = await asyncio.gather(
        *(connector.reserve_funds(t) for t in transfers), return_exceptions=True
    )

    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert len(refused) == 10
    assert outcomes.count(None) == 10
    assert await ledger.balance(payer, "USD") == (Decimal(100), Decimal(100), Decimal(0))

    held = [t for t, o in zip(transfers, outcomes, strict=True) if o is None]
    await asyncio.gather(*(connector.commit_funds(t.transfer_id) for t in held))
    assert await ledger.balance(payer, "USD") == (Decimal(0), Decimal(0), Decimal(0))


async def test_concurrent_repeats_of_one_reserve_hold_once(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, outgoing: MakeOutgoing
) -> None:
    payer = await make_account(balance="100")
    transfer = outgoing("t-1", payer, "30")
    await asyncio.gather(*(connector.reserve_funds(transfer) for _ in range(10)))
    await asyncio.gather(*(connector.commit_funds("t-1") for _ in range(10)))
    assert await ledger.balance(payer, "USD") == (Decimal(70), Decimal(0), Decimal(70))


async def test_concurrent_commits_share_the_settlement_account_without_deadlock(
    connector: LedgerConnector,
    ledger: Ledger,
    make_account: MakeAccount,
    incoming: MakeIncoming,
    outgoing: MakeOutgoing,
) -> None:
    parties = [await make_account(balance="5") for _ in range(10)]
    for n, party in enumerate(parties):
        await connector.reserve_funds(outgoing(f"out-{n}", party, "2"))
        await connector.prepare_transfer(incoming(f"in-{n}", party, "3"))

    # Each incoming transfer is committed and aborted at once: whichever comes second is
    # refused (commit after abort) or ignored (abort after commit), never applied twice.
    outcomes = await asyncio.gather(
        *(connector.commit_funds(f"out-{n}") for n in range(10)),
        *(connector.commit_transfer(f"in-{n}") for n in range(10)),
        *(connector.abort_transfer(f"in-{n}", "late") for n in range(10)),
        return_exceptions=True,
    )

    assert all(o is None or isinstance(o, Rejected) for o in outcomes)
    for n, party in enumerate(parties):
        state = await ledger.reservation_state(f"in-{n}", Direction.IN)
        credited = Decimal(3) if state is ReservationState.COMMITTED else Decimal(0)
        assert (await ledger.balance(party, "USD")).balance == Decimal(3) + credited
    settled = sum([(await ledger.balance(p, "USD")).balance for p in parties], Decimal(0))
    assert settled == -(await ledger.settlement_balance("USD"))


async def test_concurrent_first_accounts_in_a_currency_create_one_settlement_account(
    ledger: Ledger,
) -> None:
    await asyncio.gather(
        *(
            ledger.open_account(PartyId("MSISDN", f"25470000{n:04d}"), "KES", balance=Decimal(1))
            for n in range(10)
        )
    )
    accounts = await ledger.list_accounts(include_settlement=True)
    assert [a.kind for a in accounts].count(AccountKind.SETTLEMENT) == 1
    assert await ledger.settlement_balance("KES") == Decimal(-10)
