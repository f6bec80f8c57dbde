"""Reservations: the money side of a transfer, keyed by FSPIOP transfer id and direction.

A reservation is ``HELD`` when made, then either ``COMMITTED`` (one posting moves the money)
or ``RELEASED`` (nothing moves). Every operation is idempotent: a repeat finds the row and
returns without effect, so pm4ml may retry after a crash or a timeout.

    OUT (payer role)  hold: held += amount        commit: customer -> settlement, held -= amount
    IN  (payee role)  hold: nothing moves yet     commit: settlement -> customer
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import (
    InsufficientFunds,
    LimitExceeded,
    PartyId,
    Rejected,
    UnknownTransfer,
)
from pm4ml.fspiop.errors import ErrorCode
from pm4ml.store.schema import utcnow
from pm4ml_ledger._book import (
    ACCOUNTS,
    RESERVATIONS,
    find_account,
    lock_account,
    locked,
    post_units,
    short,
    transfer_account,
)
from pm4ml_ledger.schema import Direction, PostingKind, ReservationRow, ReservationState
from pm4ml_ledger.units import from_units

logger = logging.getLogger(__name__)

TRANSITIONS: dict[ReservationState, frozenset[ReservationState]] = {
    ReservationState.HELD: frozenset({ReservationState.COMMITTED, ReservationState.RELEASED}),
    ReservationState.COMMITTED: frozenset(),
    ReservationState.RELEASED: frozenset(),
}

REASON_CHARS_MAX = 256


def transition(reservation: ReservationRow, to: ReservationState) -> None:
    """Move ``reservation`` to state ``to``; the move must be in ``TRANSITIONS``."""
    assert to in TRANSITIONS[reservation.state], f"{reservation.state} -> {to} is not legal"
    reservation.state = to


async def find(
    session: AsyncSession, transfer_id: str, direction: Direction, *, lock: bool = False
) -> ReservationRow | None:
    """The reservation of ``transfer_id`` in ``direction``, or ``None``; with ``lock``, locked
    for this transaction (a concurrent commit or release of it waits)."""
    stmt = select(ReservationRow).where(
        ReservationRow.transfer_id == transfer_id, ReservationRow.direction == direction
    )
    return (await session.scalars(locked(stmt) if lock else stmt)).one_or_none()


async def hold(
    session: AsyncSession,
    *,
    transfer_id: str,
    direction: Direction,
    party: PartyId,
    currency: str,
    amount: int,
    counterparty: str | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Reserve ``amount`` units for ``transfer_id``. Returns ``False`` for a repeat.

    Raises ``PartyNotFound``, ``UnsupportedCurrency``, ``Blocked``, ``LimitExceeded``,
    ``InsufficientFunds`` (``OUT`` only) and ``Rejected`` when the id was used with other
    terms (code 3106) or was already released.
    """
    assert amount > 0, "a reservation holds a positive amount"
    existing = await find(session, transfer_id, direction)
    if existing is not None:
        await _check_repeat(session, existing, party, currency, amount)
        return False
    account = await transfer_account(session, party, currency, lock=True)
    if account.max_single_transfer is not None and amount > account.max_single_transfer:
        limit = from_units(account.max_single_transfer)
        raise LimitExceeded(short(f"amount is above the single-transfer limit {limit} {currency}"))
    now = utcnow()
    if direction is Direction.OUT:
        if account.balance - account.held < amount:
            raise InsufficientFunds(short(f"not enough funds in the {currency} account"))
        await session.execute(
            update(ACCOUNTS)
            .where(ACCOUNTS.c.id == account.id)
            .values(held=ACCOUNTS.c.held + amount, updated_at=now)
        )
    # A concurrent hold of the same transfer collides here on the unique constraint.
    await session.execute(
        insert(RESERVATIONS).values(
            transfer_id=transfer_id,
            direction=direction,
            account_id=account.id,
            amount=amount,
            state=ReservationState.HELD,
            counterparty=counterparty[:REASON_CHARS_MAX] if counterparty else None,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
    )
    return True


async def _check_repeat(
    session: AsyncSession, existing: ReservationRow, party: PartyId, currency: str, amount: int
) -> None:
    account = await find_account(session, party, currency, lock=False)
    if account is None or account.id != existing.account_id or existing.amount != amount:
        raise Rejected(
            short(f"transfer {existing.transfer_id} was already reserved with other terms"),
            code=ErrorCode.MODIFIED_REQUEST,
        )
    if existing.state is ReservationState.RELEASED:
        raise Rejected(short(f"transfer {existing.transfer_id} was already released"))


async def commit(session: AsyncSession, transfer_id: str, direction: Direction) -> bool:
    """Post the held reservation of ``transfer_id``. Returns ``False`` when already committed.

    Raises ``UnknownTransfer`` when it was never held, and ``Rejected`` when it was released:
    the money was given back and cannot be moved now.
    """
    # The reservation moves first (its UPDATE locks it), then its account, then the
    # settlement account: a concurrent commit or release of the same transfer waits on the
    # reservation and then finds it no longer HELD.
    table = RESERVATIONS
    taken = (
        await session.execute(
            update(table)
            .where(
                table.c.transfer_id == transfer_id,
                table.c.direction == direction,
                table.c.state == ReservationState.HELD,
            )
            .values(state=ReservationState.COMMITTED, updated_at=utcnow())
            .returning(table.c.id, table.c.account_id, table.c.amount, table.c.counterparty)
        )
    ).one_or_none()
    if taken is None:
        reservation = await find(session, transfer_id, direction)
        if reservation is None:
            raise UnknownTransfer(short(f"no reservation for transfer {transfer_id}"))
        if reservation.state is ReservationState.COMMITTED:
            return False
        raise Rejected(short(f"transfer {transfer_id} was released before and cannot be committed"))
    outgoing = direction is Direction.OUT
    await post_units(
        session,
        kind=PostingKind.TRANSFER_OUT if outgoing else PostingKind.TRANSFER_IN,
        customer_id=taken.account_id,
        outgoing=outgoing,
        amount=taken.amount,
        held=taken.amount if outgoing else 0,
        reservation_id=taken.id,
        transfer_id=transfer_id,
        memo=taken.counterparty,
    )
    return True


async def release(
    session: AsyncSession, transfer_id: str, direction: Direction, reason: str
) -> bool:
    """Give back the held reservation of ``transfer_id``. Returns ``False`` when there was
    nothing to release: unknown, already released, or already committed (which is logged,
    since money that moved cannot be released)."""
    reservation = await find(session, transfer_id, direction, lock=True)
    if reservation is None:
        return False
    if reservation.state is ReservationState.COMMITTED:
        logger.warning(
            "ledger: release of committed transfer %s (%s) ignored", transfer_id, direction
        )
        return False
    if reservation.state is ReservationState.RELEASED:
        return False
    if direction is Direction.OUT:
        account = await lock_account(session, reservation.account_id)
        account.held -= reservation.amount
    reservation.reason = reason[:REASON_CHARS_MAX] if reason else None
    transition(reservation, ReservationState.RELEASED)
    return True
