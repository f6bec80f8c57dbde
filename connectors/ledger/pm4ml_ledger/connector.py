"""``LedgerConnector``: pm4ml's embedded core banking system, over the ledger tables in pm4ml's
own database. It implements the ``pm4ml.connectors.Connector`` contract exactly; see the
docstrings there for what each method promises."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import (
    Blocked,
    Connector,
    ConnectorContext,
    IncomingTransfer,
    LimitExceeded,
    Money,
    OutgoingTransfer,
    Party,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    QuoteTerms,
    Rejected,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
)
from pm4ml.fspiop.errors import ErrorCode
from pm4ml.store.engine import create_engine
from pm4ml.store.migrate import upgrade
from pm4ml_ledger._book import short
from pm4ml_ledger.ledger import Ledger
from pm4ml_ledger.schema import MIGRATIONS_DIR, VERSION_TABLE, AccountStatus, Direction
from pm4ml_ledger.units import to_units

logger = logging.getLogger(__name__)

# Synchronous drivers named in a URL are swapped for the async ones pm4ml's engine uses.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """``url`` with an async driver (``sqlite://`` becomes ``sqlite+aiosqlite://``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ASYNC_DRIVERS and parsed.drivername != ASYNC_DRIVERS[backend]:
        parsed = parsed.set(drivername=ASYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def _checked(money: Money) -> Money:
    """``money`` if the ledger can move it; ``Rejected`` for zero, negative or over-precise."""
    try:
        units = to_units(money.amount)
    except ValueError as exc:
        raise Rejected(short(f"invalid amount: {exc}")) from None
    if units <= 0:
        raise Rejected(f"amount must be positive, not {money.amount}")
    return money


class LedgerConnector(Connector):
    """The ``ledger`` connector: accounts, balances and reservations in SQL."""

    name = "ledger"

    def __init__(
        self, engine: AsyncEngine, *, owns_engine: bool = False, seed_file: Path | None = None
    ) -> None:
        self.ledger = Ledger(engine)
        self._engine = engine
        self._owns_engine = owns_engine
        self._seed_file = seed_file

    @classmethod
    def create(cls, context: ConnectorContext) -> LedgerConnector:
        """Use pm4ml's engine, or an own one on ``effective_database_url`` when there is none.
        Raises ``ValueError`` when ``ledger_seed_file`` names no file."""
        settings = context.settings
        seed_file: Path | None = getattr(settings, "ledger_seed_file", None)
        if seed_file is not None and not seed_file.is_file():
            raise ValueError(f"PM4ML_LEDGER_SEED_FILE: no such file {seed_file}")
        if context.engine is not None:
            return cls(context.engine, seed_file=seed_file)
        engine = create_engine(async_url(settings.effective_database_url))
        return cls(engine, owns_engine=True, seed_file=seed_file)

    @classmethod
    def upgrade_database(cls, url: str) -> None:
        """Migrate the ledger tables (version table ``pm4ml_ledger_alembic_version``). Runs its
        own event loop: call it from synchronous code or a thread."""
        upgrade(async_url(url), MIGRATIONS_DIR, VERSION_TABLE)

    async def start(self) -> None:
        """Load the seed file, if one is configured (idempotent)."""
        if self._seed_file is not None:
            await self.ledger.load_seed(self._seed_file)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    async def check(self) -> None:
        await self.ledger.check()

    # --- payee role ---------------------------------------------------------------------

    async def lookup_party(self, party: PartyId) -> Party:
        accounts = [
            a for a in await self.ledger.accounts_of(party) if a.status is not AccountStatus.CLOSED
        ]
        if not accounts:
            raise PartyNotFound(short(f"no account for party {party}"))
        usable = [a for a in accounts if a.status is AccountStatus.OPEN]
        if not usable:
            raise Blocked(short(f"the accounts of party {party} are blocked"))
        first = usable[0]
        return Party(
            id=first.party,
            display_name=first.display_name,
            first_name=first.first_name,
            middle_name=first.middle_name,
            last_name=first.last_name,
            date_of_birth=None if first.date_of_birth is None else first.date_of_birth.isoformat(),
            supported_currencies=tuple(sorted({a.currency for a in usable})),
        )

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        """No fees: the payer transfers the amount and the payee receives it, for ``SEND`` and
        ``RECEIVE`` alike. The terms depend on the request alone, so a repeat gets the same."""
        money = _checked(request.amount)
        account = await self.ledger.transfer_account(request.payee, money.currency)
        limit = account.max_single_transfer
        if limit is not None and money.amount > limit:
            raise LimitExceeded(
                f"amount is above the single-transfer limit {limit} {money.currency}"
            )
        return QuoteTerms(
            transfer_amount=money, payee_receive_amount=money, expiration=request.expiration
        )

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        await self.ledger.reserve(
            transfer.transfer_id,
            Direction.IN,
            transfer.payee,
            _checked(transfer.amount),
            counterparty=f"{transfer.payer_fsp} {transfer.payer}",
            expires_at=transfer.expiration,
        )

    async def commit_transfer(self, transfer_id: str) -> None:
        await self.ledger.commit(transfer_id, Direction.IN)

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        await self.ledger.release(transfer_id, Direction.IN, reason)

    # --- payer role ---------------------------------------------------------------------

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        await self.ledger.reserve(
            transfer.transfer_id,
            Direction.OUT,
            transfer.payer,
            _checked(transfer.amount),
            counterparty=f"{transfer.payee_fsp} {transfer.payee}",
            expires_at=transfer.expiration,
        )

    async def commit_funds(self, transfer_id: str) -> None:
        await self.ledger.commit(transfer_id, Direction.OUT)

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        await self.ledger.release(transfer_id, Direction.OUT, reason)

    # --- payer role, request to pay -----------------------------------------------------

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        """The ledger has no customer to ask, so it decides on the account alone: ``RECEIVED``
        (the payer's backend pays it with ``POST /requestToPayTransfer``) when the payer's open
        account in the currency could pay the amount now, within its single-transfer limit;
        ``REJECTED`` otherwise. ``PartyNotFound``, ``UnsupportedCurrency`` or ``Blocked`` when
        there is no usable account. Moves nothing, so a repeat gets the same answer while
        the balance is unchanged. A request with ``authenticationType`` ``OTP`` that is
        ``RECEIVED`` gets a one-time password issued (once: a repeat keeps it). A refund
        (``refundInfo.originalTransactionId``) is refused with 3207 unless the payer was paid
        by the payee in that transaction (the ledger knows it by its transfer id, which pm4ml
        peers use as the transaction id) and the money arrived."""
        money = _checked(request.amount)
        refund_of = request.transaction_type.refund_of
        if refund_of is not None:
            counterparty = f"{request.payee_fsp} {request.payee}"
            if not await self.ledger.received(refund_of, request.payer, counterparty):
                raise Rejected(
                    "no completed payment to refund: the payer was not paid by the payee in"
                    " that transaction",
                    code=ErrorCode.TXN_ID_NOT_FOUND,
                )
        account = await self.ledger.transfer_account(request.payer, money.currency)
        limit = account.max_single_transfer
        if money.amount > account.available or (limit is not None and money.amount > limit):
            return TransactionRequestDecision(TransactionRequestState.REJECTED)
        if request.authentication_type == "OTP":
            await self.ledger.issue_one_time_password(request.transaction_request_id, request.payer)
        return TransactionRequestDecision(TransactionRequestState.RECEIVED)

    async def check_one_time_password(self, transaction_request_id: str, value: str) -> bool:
        """Against the password issued when the request was decided (read by the customer
        with ``Ledger.issued_one_time_password``, the ledger's stand-in for an SMS)."""
        return await self.ledger.check_one_time_password(transaction_request_id, value)
