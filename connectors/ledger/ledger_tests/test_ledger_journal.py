"""The ledger always balances: every posting debits one account and credits another, the
balances of each currency sum to zero, and each customer's balance is what the journal says.

Method: a seeded random run of connector and admin calls (the same run on SQLite and
PostgreSQL) against a plain Python model of the expected balances; then the journal is read
back with SQL, independently of ``audit()``, and compared with the model and the accounts.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import ConnectorError, IncomingTransfer, OutgoingTransfer, PartyId
from pm4ml_ledger import Ledger, LedgerConnector
from pm4ml_ledger.schema import AccountRow, PostingKind, PostingRow
from pm4ml_ledger.units import from_units

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeIncoming = Callable[..., IncomingTransfer]
MakeOutgoing = Callable[..., OutgoingTransfer]
Key = tuple[PartyId, str]


async def _random_run(
    connector: LedgerConnector,
    ledger: Ledger,
    accounts: list[Key],
    incoming: MakeIncoming,
    outgoing: MakeOutgoing,
) -> dict[Key, Decimal]:
    """Random transfers in both directions; returns the balances a correct ledger has."""
    rng = random.Random(20261123)
    expected = {key: (await ledger.balance(*key)).balance for key in accounts}
    for n in range(120):
        party, currency = key = rng.choice(accounts)
        amount = Decimal(rng.randint(1, 2_000_000)).scaleb(-4)
        finish = rng.choice(["commit", "abort"])
        if rng.random() < 0.5:
            await connector.prepare_transfer(incoming(f"in-{n}", party, str(amount), currency))
            if finish == "commit":
                await connector.commit_transfer(f"in-{n}")
                expected[key] += amount
            else:
                await connector.abort_transfer(f"in-{n}", "aborted")
        else:
            try:
                await connector.reserve_funds(outgoing(f"out-{n}", party, str(amount), currency))
            except ConnectorError:
                assert (await ledger.balance(*key)).available < amount
                continue
            if finish == "commit":
                await connector.commit_funds(f"out-{n}")
                expected[key] -= amount
            else:
                await connector.release_funds(f"out-{n}", "aborted")
    return expected


async def test_the_journal_explains_every_balance(
    connector: LedgerConnector,
    ledger: Ledger,
    engine: AsyncEngine,
    make_account: MakeAccount,
    incoming: MakeIncoming,
    outgoing: MakeOutgoing,
) -> None:
    accounts: list[Key] = [
        (await make_account(balance="50", currency=currency), currency)
        for currency in ("USD", "EUR")
        for _ in range(3)
    ]

    expected = await _random_run(connector, ledger, accounts, incoming, outgoing)

    for key, balance in expected.items():
        assert await ledger.balance(*key) == (balance, Decimal(0), balance)
    async with engine.connect() as connection:
        postings = (await connection.execute(select(PostingRow.__table__))).all()
        rows = (await connection.execute(select(AccountRow.__table__))).all()
    journal: dict[int, int] = defaultdict(int)
    per_currency: dict[str, int] = defaultdict(int)
    for posting in postings:
        assert posting.amount > 0
        assert posting.debit_account_id != posting.credit_account_id
        journal[posting.debit_account_id] -= posting.amount
        journal[posting.credit_account_id] += posting.amount
    kinds = {row.id: row.kind for row in rows}
    for posting in postings:
        # Money comes in from settlement and goes out to it; customers never pay each other
        # directly (a transfer between two customers passes the hub).
        customer = posting.credit_account_id if posting.kind in _INTO else posting.debit_account_id
        assert kinds[customer] == "CUSTOMER"
    for row in rows:
        assert row.balance == journal[row.id]
        per_currency[row.currency] += row.balance
    assert dict(per_currency) == {"USD": 0, "EUR": 0}
    assert sum(from_units(r.balance) for r in rows if r.kind == "CUSTOMER") == sum(
        expected.values()
    )


_INTO = {PostingKind.OPENING, PostingKind.DEPOSIT, PostingKind.TRANSFER_IN}
