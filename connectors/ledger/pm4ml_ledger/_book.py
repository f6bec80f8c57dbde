"""The building blocks of every ledger transaction: finding and locking accounts, the
settlement account of a currency, and double-entry postings.

Everything here runs inside a transaction the caller opened. Lock order is always the
reservation (a commit or release), then the customer account, then the settlement account, so
two transactions never wait on each other in a cycle. On PostgreSQL a lock is
``SELECT ... FOR UPDATE``; on SQLite the engine opens every transaction with
``BEGIN IMMEDIATE``, which serialises writers, and ``FOR UPDATE`` is omitted.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import Blocked, PartyId, PartyNotFound, UnsupportedCurrency
from pm4ml.store.schema import utcnow
from pm4ml_ledger.schema import (
    SETTLEMENT,
    AccountKind,
    AccountRow,
    AccountStatus,
    PostingKind,
    PostingRow,
    ReservationRow,
)

#: The tables, for statements that run without the ORM's unit of work.
ACCOUNTS = cast("Table", AccountRow.__table__)
RESERVATIONS = cast("Table", ReservationRow.__table__)
POSTINGS = cast("Table", PostingRow.__table__)

#: ``ConnectorError`` messages reach the peer's ``errorDescription``, which holds 128 chars.
MESSAGE_CHARS_MAX = 128


def short(text: str) -> str:
    """``text`` cut to fit an FSPIOP ``errorDescription``."""
    if len(text) <= MESSAGE_CHARS_MAX:
        return text
    return text[: MESSAGE_CHARS_MAX - 3] + "..."


S = TypeVar("S", bound=Select[Any])


def locked(stmt: S) -> S:
    # populate_existing: a row already loaded in this session is refreshed with the values
    # read under the lock instead of keeping the stale ones from the identity map.
    return stmt.with_for_update().execution_options(populate_existing=True)


def _is_party(party: PartyId) -> tuple[ColumnElement[bool], ...]:
    return (
        AccountRow.kind == AccountKind.CUSTOMER,
        AccountRow.id_type == party.id_type,
        AccountRow.id_value == party.id_value,
        AccountRow.sub_id == (party.sub_id or ""),
    )


async def find_account(
    session: AsyncSession, party: PartyId, currency: str, *, lock: bool
) -> AccountRow | None:
    """The customer account of ``party`` in ``currency``, whatever its status, or ``None``."""
    stmt = select(AccountRow).where(*_is_party(party), AccountRow.currency == currency)
    return (await session.scalars(locked(stmt) if lock else stmt)).one_or_none()


async def party_accounts(session: AsyncSession, party: PartyId) -> list[AccountRow]:
    """Every customer account of ``party``, oldest first."""
    stmt = select(AccountRow).where(*_is_party(party)).order_by(AccountRow.id)
    return list(await session.scalars(stmt))


async def lock_account(session: AsyncSession, account_id: int) -> AccountRow:
    """The account with this id, locked. It must exist (a foreign key points to it)."""
    stmt = locked(select(AccountRow).where(AccountRow.id == account_id))
    return (await session.scalars(stmt)).one()


async def transfer_account(
    session: AsyncSession, party: PartyId, currency: str, *, lock: bool
) -> AccountRow:
    """The account that takes part in a transfer, or the connector error that says why none.

    A closed account counts as absent. When ``party`` has open accounts only in other
    currencies the error is ``UnsupportedCurrency``, else ``PartyNotFound``; a blocked
    account raises ``Blocked``.
    """
    account = await find_account(session, party, currency, lock=lock)
    if account is None or account.status is AccountStatus.CLOSED:
        others = [a for a in await party_accounts(session, party) if a.status is AccountStatus.OPEN]
        if others:
            raise UnsupportedCurrency(short(f"party {party} has no account in {currency}"))
        raise PartyNotFound(short(f"no account for party {party}"))
    if account.status is AccountStatus.BLOCKED:
        raise Blocked(short(f"the {currency} account of party {party} is blocked"))
    return account


async def settlement_account(session: AsyncSession, currency: str) -> AccountRow:
    """The settlement account of ``currency``, locked; created on first use.

    Two transactions creating it at once collide on the unique constraint; the caller's
    transaction runner retries the loser, which then finds the row.
    """
    stmt = select(AccountRow).where(
        AccountRow.kind == AccountKind.SETTLEMENT, AccountRow.currency == currency
    )
    account = (await session.scalars(locked(stmt))).one_or_none()
    if account is None:
        account = AccountRow(
            kind=AccountKind.SETTLEMENT,
            id_type=SETTLEMENT,
            id_value=SETTLEMENT,
            sub_id="",
            currency=currency,
            status=AccountStatus.OPEN,
            display_name=f"Settlement {currency}",
            balance=0,
            held=0,
        )
        session.add(account)
        await session.flush()
    return account


async def post_units(
    session: AsyncSession,
    *,
    kind: PostingKind,
    customer_id: int,
    outgoing: bool,
    amount: int,
    held: int = 0,
    reservation_id: int | None = None,
    transfer_id: str | None = None,
    memo: str | None = None,
) -> None:
    """Move ``amount`` units between a customer account and its currency's settlement
    account and journal it, in SQL: the balances change by arithmetic in UPDATE statements,
    which lock the rows (customer first, then settlement, the module's lock order) without
    reading them first. ``outgoing``: the customer pays; ``held`` units of the customer's
    hold are taken back at the same time. The database checks refuse an overdrawn account."""
    assert amount > 0, "a posting moves a positive amount"
    sign = -1 if outgoing else 1
    now = utcnow()
    customer = ACCOUNTS
    currency = (
        await session.execute(
            update(customer)
            .where(customer.c.id == customer_id)
            .values(
                balance=customer.c.balance + sign * amount,
                held=customer.c.held - held,
                updated_at=now,
            )
            .returning(customer.c.currency)
        )
    ).scalar_one()
    settled = (
        await session.execute(
            update(customer)
            .where(
                customer.c.kind == AccountKind.SETTLEMENT,
                customer.c.currency == currency,
            )
            .values(balance=customer.c.balance - sign * amount, updated_at=now)
            .returning(customer.c.id)
        )
    ).scalar_one_or_none()
    if settled is None:
        account = await settlement_account(session, currency)  # first use: created
        account.balance -= sign * amount
        settled = account.id
    debit, credit = (customer_id, settled) if outgoing else (settled, customer_id)
    await session.execute(
        insert(POSTINGS).values(
            kind=kind,
            currency=currency,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            reservation_id=reservation_id,
            transfer_id=transfer_id,
            memo=memo,
            created_at=now,
        )
    )


def post(
    session: AsyncSession,
    *,
    kind: PostingKind,
    debit: AccountRow,
    credit: AccountRow,
    amount: int,
    reservation_id: int | None = None,
    transfer_id: str | None = None,
    reference: str | None = None,
    memo: str | None = None,
) -> None:
    """Move ``amount`` units from ``debit`` to ``credit`` and journal it. Both accounts must be
    locked by the caller. The database checks refuse an overdrawn customer account."""
    assert amount > 0, "a posting moves a positive amount"
    assert debit.id != credit.id, "a posting needs two accounts"
    assert debit.currency == credit.currency, "a posting stays in one currency"
    debit.balance -= amount
    credit.balance += amount
    if debit.kind is AccountKind.CUSTOMER:
        assert debit.balance >= debit.held, "a customer account is never overdrawn"
    session.add(
        PostingRow(
            kind=kind,
            currency=debit.currency,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            reservation_id=reservation_id,
            transfer_id=transfer_id,
            reference=reference,
            memo=memo,
        )
    )
