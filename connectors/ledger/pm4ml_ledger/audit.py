"""The ledger checks itself: the invariants every transaction must keep, read back from the
tables. ``pm4ml ledger check`` runs it; the tests run it after every test.

1. Every account's balance equals its credits minus its debits in the journal.
2. The balances of each currency (customers and settlement) sum to zero.
3. A posting moves money between two accounts of its own currency.
4. A customer's ``held`` equals the sum of its ``HELD`` outgoing reservations.
5. A reservation has a posting exactly when it is ``COMMITTED``.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from pm4ml_ledger.schema import (
    AccountRow,
    Direction,
    PostingRow,
    ReservationRow,
    ReservationState,
)


async def _sums(session: AsyncSession, column: InstrumentedAttribute[int]) -> dict[int, int]:
    rows = await session.execute(select(column, func.sum(PostingRow.amount)).group_by(column))
    # PostgreSQL sums BIGINT as NUMERIC (a Decimal); both are exact.
    return {int(account_id): int(total) for account_id, total in rows}


async def _account_problems(session: AsyncSession) -> list[str]:
    credits = await _sums(session, PostingRow.credit_account_id)
    debits = await _sums(session, PostingRow.debit_account_id)
    held_rows = await session.execute(
        select(ReservationRow.account_id, func.sum(ReservationRow.amount))
        .where(
            ReservationRow.direction == Direction.OUT,
            ReservationRow.state == ReservationState.HELD,
        )
        .group_by(ReservationRow.account_id)
    )
    held = {int(account_id): int(total) for account_id, total in held_rows}
    problems: list[str] = []
    totals: dict[str, int] = defaultdict(int)
    for account in await session.scalars(select(AccountRow).order_by(AccountRow.id)):
        journal = credits.get(account.id, 0) - debits.get(account.id, 0)
        if account.balance != journal:
            problems.append(f"account {account.id}: balance {account.balance} != journal {journal}")
        if account.held != held.get(account.id, 0):
            problems.append(
                f"account {account.id}: held {account.held} != holds {held.get(account.id, 0)}"
            )
        totals[account.currency] += account.balance
    problems.extend(
        f"currency {currency}: balances sum to {total}, not 0"
        for currency, total in sorted(totals.items())
        if total
    )
    return problems


async def _posting_problems(session: AsyncSession) -> list[str]:
    debit, credit = aliased(AccountRow), aliased(AccountRow)
    mixed = await session.scalars(
        select(PostingRow.id)
        .join(debit, PostingRow.debit_account_id == debit.id)
        .join(credit, PostingRow.credit_account_id == credit.id)
        .where(or_(debit.currency != PostingRow.currency, credit.currency != PostingRow.currency))
    )
    problems = [f"posting {posting_id}: accounts in another currency" for posting_id in mixed]
    unposted = await session.scalars(
        select(ReservationRow.transfer_id)
        .outerjoin(PostingRow, PostingRow.reservation_id == ReservationRow.id)
        .where(
            or_(
                (ReservationRow.state == ReservationState.COMMITTED) & PostingRow.id.is_(None),
                (ReservationRow.state != ReservationState.COMMITTED) & PostingRow.id.is_not(None),
            )
        )
    )
    problems.extend(
        f"reservation of transfer {transfer_id}: posting does not match its state"
        for transfer_id in unposted
    )
    return problems


async def audit(session: AsyncSession) -> list[str]:
    """Every broken invariant, one line each; an empty list when the ledger is sound."""
    return await _account_problems(session) + await _posting_problems(session)
