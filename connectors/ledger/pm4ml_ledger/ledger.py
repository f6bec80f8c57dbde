"""The ledger service: every operation in one database transaction over pm4ml's engine.

The connector uses the money operations (``reserve``, ``commit``, ``release``); the CLI, the
seed loader and the tests use the administration operations (open an account, deposit, block,
close, balances, audit). Database outages become ``Unavailable`` (retryable) here, at one place.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pm4ml.connectors import Money, PartyId, Unavailable
from pm4ml.store.engine import read_options
from pm4ml_ledger import reservations
from pm4ml_ledger._book import find_account, party_accounts, settlement_account, transfer_account
from pm4ml_ledger.accounts import Account, Balance
from pm4ml_ledger.admin import change_status, move, open_account
from pm4ml_ledger.audit import audit
from pm4ml_ledger.errors import AccountNotFound
from pm4ml_ledger.schema import (
    AccountKind,
    AccountRow,
    AccountStatus,
    Direction,
    OneTimePasswordRow,
    PostingKind,
    ReservationState,
)
from pm4ml_ledger.seed import SeedAccount, read_seed
from pm4ml_ledger.units import to_units

T = TypeVar("T")
logger = logging.getLogger(__name__)

# What a database that is down, restarting or overloaded raises; all worth a retry later.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError, TimeoutError)


class SeedResult(NamedTuple):
    """How many accounts of a seed file were opened, and how many existed already."""

    opened: int
    existing: int


class Ledger:
    """The ledger over ``engine``. Cheap to create; holds no connection of its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._read_options = read_options(engine)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction and commit it.

        A unique-constraint collision means a concurrent transaction created the same row
        (a reservation, a settlement account, a reference) first; running ``work`` once more
        then finds that row, so the operation stays idempotent under races.
        """
        for attempt in (1, 2):
            try:
                async with self._sessions.begin() as session:
                    return await work(session)
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.debug("ledger: unique collision, running the transaction again")
            except UNAVAILABLE_ERRORS as exc:
                raise _unavailable(exc) from exc
        raise AssertionError("unreachable")

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work``, which only reads, outside a write transaction (on PostgreSQL without
        BEGIN and COMMIT; see ``pm4ml.store.engine.read_options``)."""
        try:
            async with self._sessions() as session:
                await session.connection(execution_options=self._read_options)
                return await work(session)
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def check(self) -> None:
        """Raise ``Unavailable`` unless the database answers."""

        async def ping(session: AsyncSession) -> None:
            await session.execute(text("SELECT 1"))

        await self.run(ping)

    # --- money: what the connector calls ------------------------------------------------

    async def reserve(
        self,
        transfer_id: str,
        direction: Direction,
        party: PartyId,
        amount: Money,
        *,
        counterparty: str | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Hold ``amount`` for ``transfer_id`` (``reservations.hold``); ``False`` on a repeat."""
        units = to_units(amount.amount)

        async def work(session: AsyncSession) -> bool:
            return await reservations.hold(
                session,
                transfer_id=transfer_id,
                direction=direction,
                party=party,
                currency=amount.currency,
                amount=units,
                counterparty=counterparty,
                expires_at=expires_at,
            )

        return await self.run(work)

    async def commit(self, transfer_id: str, direction: Direction) -> bool:
        """Post a held reservation (see ``reservations.commit``); ``False`` on a repeat."""
        return await self.run(lambda s: reservations.commit(s, transfer_id, direction))

    async def release(self, transfer_id: str, direction: Direction, reason: str) -> bool:
        """Release a held reservation (see ``reservations.release``)."""
        return await self.run(lambda s: reservations.release(s, transfer_id, direction, reason))

    async def reservation_state(
        self, transfer_id: str, direction: Direction
    ) -> ReservationState | None:
        """The state of a transfer's reservation, ``None`` when there is none."""

        async def work(session: AsyncSession) -> ReservationState | None:
            found = await reservations.find(session, transfer_id, direction)
            return None if found is None else found.state

        return await self.read(work)

    async def received(self, transfer_id: str, party: PartyId, counterparty: str) -> bool:
        """Whether ``party`` was paid by transfer ``transfer_id`` from ``counterparty`` (as
        :meth:`reserve` recorded it) and the money arrived (``COMMITTED``)."""

        async def work(session: AsyncSession) -> bool:
            found = await reservations.find(session, transfer_id, Direction.IN)
            if found is None or found.state != ReservationState.COMMITTED:
                return False
            account = await session.get(AccountRow, found.account_id)
            return (
                account is not None
                and (account.id_type, account.id_value, account.sub_id)
                == (party.id_type, party.id_value, party.sub_id or "")
                and found.counterparty == counterparty
            )

        return await self.run(work)

    async def transfer_account(self, party: PartyId, currency: str) -> Account:
        """The account a transfer in ``currency`` would use, or the connector error that says
        why there is none (``PartyNotFound``, ``UnsupportedCurrency``, ``Blocked``)."""

        async def work(session: AsyncSession) -> Account:
            return Account.from_row(await transfer_account(session, party, currency, lock=False))

        return await self.read(work)

    async def accounts_of(self, party: PartyId) -> list[Account]:
        """Every customer account of ``party``, whatever its status, oldest first."""

        async def work(session: AsyncSession) -> list[Account]:
            return [Account.from_row(row) for row in await party_accounts(session, party)]

        return await self.read(work)

    # --- administration -------------------------------------------------------------------

    async def open_account(
        self,
        party: PartyId,
        currency: str,
        *,
        display_name: str | None = None,
        first_name: str | None = None,
        middle_name: str | None = None,
        last_name: str | None = None,
        date_of_birth: date | None = None,
        balance: Decimal = Decimal(0),
        max_single_transfer: Decimal | None = None,
        status: AccountStatus = AccountStatus.OPEN,
    ) -> Account:
        """Open an account, funded with ``balance`` from the settlement account.

        Raises ``AccountExists``, or ``ValueError`` for invalid details (a pydantic
        ``ValidationError`` naming the field).
        """
        spec = SeedAccount(
            id_type=party.id_type,
            id_value=party.id_value,
            sub_id=party.sub_id,
            currency=currency,
            display_name=display_name,
            first_name=first_name,
            middle_name=middle_name,
            last_name=last_name,
            date_of_birth=date_of_birth,
            balance=balance,
            max_single_transfer=max_single_transfer,
            status=status,
        )

        async def work(session: AsyncSession) -> Account:
            return Account.from_row(await open_account(session, spec))

        return await self.run(work)

    async def deposit(
        self, party: PartyId, currency: str, amount: Decimal, *, reference: str | None = None
    ) -> Balance:
        """Credit ``amount`` to the account, funded from the settlement account. With a
        ``reference`` the deposit is made once only, however often it is repeated."""
        units = _positive_units(amount)
        return await self.run(
            lambda s: move(s, party, currency, units, PostingKind.DEPOSIT, reference)
        )

    async def withdraw(
        self, party: PartyId, currency: str, amount: Decimal, *, reference: str | None = None
    ) -> Balance:
        """Debit ``amount`` from the available funds back to the settlement account."""
        units = _positive_units(amount)
        return await self.run(
            lambda s: move(s, party, currency, units, PostingKind.WITHDRAWAL, reference)
        )

    async def account(self, party: PartyId, currency: str) -> Account:
        """The account of ``party`` in ``currency``; raises ``AccountNotFound``."""

        async def work(session: AsyncSession) -> Account:
            row = await find_account(session, party, currency, lock=False)
            if row is None:
                raise AccountNotFound(f"no {currency} account for party {party}")
            return Account.from_row(row)

        return await self.read(work)

    async def balance(self, party: PartyId, currency: str) -> Balance:
        """``(balance, held, available)`` of the account, as ``Decimal``."""
        return (await self.account(party, currency)).balances

    async def settlement_balance(self, currency: str) -> Decimal:
        """The balance of the settlement account of ``currency`` (zero before first use)."""

        async def work(session: AsyncSession) -> Decimal:
            return Account.from_row(await settlement_account(session, currency)).balance

        return await self.run(work)

    async def list_accounts(
        self, *, currency: str | None = None, include_settlement: bool = False
    ) -> list[Account]:
        """Accounts in the order they were opened, optionally of one currency only."""
        stmt = select(AccountRow).order_by(AccountRow.id)
        if currency is not None:
            stmt = stmt.where(AccountRow.currency == currency)
        if not include_settlement:
            stmt = stmt.where(AccountRow.kind == AccountKind.CUSTOMER)

        async def work(session: AsyncSession) -> list[Account]:
            return [Account.from_row(row) for row in await session.scalars(stmt)]

        return await self.read(work)

    async def block(self, party: PartyId, currency: str) -> Account:
        """Block the account: it neither pays nor receives until unblocked."""
        return await self._status(party, currency, AccountStatus.BLOCKED)

    async def unblock(self, party: PartyId, currency: str) -> Account:
        """Open a blocked account again."""
        return await self._status(party, currency, AccountStatus.OPEN)

    async def close(self, party: PartyId, currency: str) -> Account:
        """Close an empty account with nothing pending; closing is final."""
        return await self._status(party, currency, AccountStatus.CLOSED)

    async def _status(self, party: PartyId, currency: str, to: AccountStatus) -> Account:
        async def work(session: AsyncSession) -> Account:
            return Account.from_row(await change_status(session, party, currency, to))

        return await self.run(work)

    async def load_seed(self, path: Path) -> SeedResult:
        """Open the accounts of the seed file at ``path`` that do not exist yet, in one
        transaction. Raises ``SeedError`` for an unreadable or invalid file."""
        specs = await asyncio.to_thread(read_seed, path)

        async def work(session: AsyncSession) -> SeedResult:
            opened = 0
            for spec in specs:
                party = PartyId(spec.id_type, spec.id_value, spec.sub_id)
                if await find_account(session, party, spec.currency, lock=False) is None:
                    await open_account(session, spec)
                    opened += 1
            return SeedResult(opened, len(specs) - opened)

        result = await self.run(work)
        logger.info("ledger: seed %s opened %d accounts", path, result.opened)
        return result

    # --- one-time passwords (request to pay) -------------------------------------------

    async def issue_one_time_password(self, transaction_request_id: str, party: PartyId) -> str:
        """A six-digit password for ``party`` to approve ``transaction_request_id``; a repeat
        returns the one issued first (a concurrent first issue is settled by the primary key
        and :meth:`run`'s second pass)."""

        async def work(session: AsyncSession) -> str:
            row = await session.get(OneTimePasswordRow, transaction_request_id)
            if row is None:
                row = OneTimePasswordRow(
                    transaction_request_id=transaction_request_id,
                    id_type=party.id_type,
                    id_value=party.id_value,
                    value=f"{secrets.randbelow(1_000_000):06d}",
                )
                session.add(row)
                await session.flush()
            return row.value

        return await self.run(work)

    async def issued_one_time_password(self, transaction_request_id: str) -> str | None:
        """The password issued for ``transaction_request_id`` (what the customer's phone got)."""

        async def work(session: AsyncSession) -> str | None:
            row = await session.get(OneTimePasswordRow, transaction_request_id)
            return None if row is None else row.value

        return await self.run(work)

    async def check_one_time_password(self, transaction_request_id: str, value: str) -> bool:
        """Whether ``value`` is the password issued for ``transaction_request_id``."""
        issued = await self.issued_one_time_password(transaction_request_id)
        return issued is not None and hmac.compare_digest(issued.encode(), value.encode())

    async def audit(self) -> list[str]:
        """Every broken invariant (see ``audit.py``); empty when the ledger is sound."""
        return await self.run(audit)


def _unavailable(exc: Exception) -> Unavailable:
    # The peer sees only "unavailable"; the operator needs the cause.
    logger.warning("ledger: database unavailable: %s", exc)
    return Unavailable("the ledger database is unavailable")


def _positive_units(amount: Decimal) -> int:
    units = to_units(amount)
    if units <= 0:
        raise ValueError(f"amount must be positive, not {amount}")
    return units
