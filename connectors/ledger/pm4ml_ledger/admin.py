"""Administration inside a transaction: opening accounts, deposits and withdrawals, status
changes. ``Ledger`` wraps each in its own transaction; ``load_seed`` opens many in one."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import PartyId
from pm4ml_ledger._book import find_account, post, settlement_account
from pm4ml_ledger.accounts import Account, Balance
from pm4ml_ledger.errors import AccountExists, AccountNotFound, LedgerError
from pm4ml_ledger.schema import (
    AccountKind,
    AccountRow,
    AccountStatus,
    PostingKind,
    PostingRow,
    ReservationRow,
    ReservationState,
)
from pm4ml_ledger.seed import SeedAccount
from pm4ml_ledger.units import to_units

STATUS_TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.OPEN: frozenset({AccountStatus.BLOCKED, AccountStatus.CLOSED}),
    AccountStatus.BLOCKED: frozenset({AccountStatus.OPEN, AccountStatus.CLOSED}),
    AccountStatus.CLOSED: frozenset(),
}


async def open_account(session: AsyncSession, spec: SeedAccount) -> AccountRow:
    """Open the account ``spec`` describes and post its opening balance from settlement.
    Raises ``AccountExists``."""
    party = PartyId(spec.id_type, spec.id_value, spec.sub_id)
    if await find_account(session, party, spec.currency, lock=False) is not None:
        raise AccountExists(f"party {party} already has a {spec.currency} account")
    names = [n for n in (spec.first_name, spec.middle_name, spec.last_name) if n]
    limit = spec.max_single_transfer
    account = AccountRow(
        kind=AccountKind.CUSTOMER,
        id_type=spec.id_type,
        id_value=spec.id_value,
        sub_id=spec.sub_id or "",
        currency=spec.currency,
        status=AccountStatus(spec.status),
        display_name=spec.display_name or " ".join(names) or None,
        first_name=spec.first_name,
        middle_name=spec.middle_name,
        last_name=spec.last_name,
        date_of_birth=spec.date_of_birth,
        balance=0,
        held=0,
        max_single_transfer=None if limit is None else to_units(limit),
    )
    session.add(account)
    # A concurrent opening of the same account collides here on the unique constraint.
    await session.flush()
    opening = to_units(spec.balance)
    if opening:
        settlement = await settlement_account(session, spec.currency)
        post(
            session,
            kind=PostingKind.OPENING,
            debit=settlement,
            credit=account,
            amount=opening,
            reference=f"opening:{account.id}",
        )
    return account


async def _existing_account(session: AsyncSession, party: PartyId, currency: str) -> AccountRow:
    account = await find_account(session, party, currency, lock=True)
    if account is None:
        raise AccountNotFound(f"no {currency} account for party {party}")
    return account


async def move(
    session: AsyncSession,
    party: PartyId,
    currency: str,
    units: int,
    kind: PostingKind,
    reference: str | None,
) -> Balance:
    """Deposit (``DEPOSIT``) or withdraw (``WITHDRAWAL``) ``units`` against settlement.

    With a ``reference`` a repeat is recognised and has no effect; the same reference with
    another account, amount or kind is refused.
    """
    assert kind in (PostingKind.DEPOSIT, PostingKind.WITHDRAWAL)
    account = await _existing_account(session, party, currency)
    if account.status is AccountStatus.CLOSED:
        raise LedgerError(f"the {currency} account of party {party} is closed")
    if reference is not None:
        stmt = select(PostingRow).where(PostingRow.reference == reference)
        done = (await session.scalars(stmt)).one_or_none()
        if done is not None:
            if (
                done.kind is not kind
                or done.amount != units
                or account.id
                not in (
                    done.debit_account_id,
                    done.credit_account_id,
                )
            ):
                raise LedgerError(f"reference {reference!r} was used for another posting")
            return Account.from_row(account).balances
    settlement = await settlement_account(session, currency)
    if kind is PostingKind.DEPOSIT:
        debit, credit = settlement, account
    else:
        if account.balance - account.held < units:
            raise LedgerError(f"not enough available funds in the {currency} account")
        debit, credit = account, settlement
    post(session, kind=kind, debit=debit, credit=credit, amount=units, reference=reference)
    return Account.from_row(account).balances


async def change_status(
    session: AsyncSession, party: PartyId, currency: str, to: AccountStatus
) -> AccountRow:
    """Move the account to status ``to``; a repeat is a no-op. Closing needs an empty account
    with no transfer pending in either direction."""
    account = await _existing_account(session, party, currency)
    if account.status is to:
        return account
    if to not in STATUS_TRANSITIONS[account.status]:
        raise LedgerError(f"a {account.status} account cannot become {to}")
    if to is AccountStatus.CLOSED:
        pending = await session.scalar(
            select(
                exists().where(
                    ReservationRow.account_id == account.id,
                    ReservationRow.state == ReservationState.HELD,
                )
            )
        )
        if account.balance or account.held or pending:
            raise LedgerError("only an empty account with no pending transfer can be closed")
    account.status = to
    return account
