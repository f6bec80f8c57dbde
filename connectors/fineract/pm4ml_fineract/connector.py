"""``FineractConnector``: the pm4ml connector contract over Apache Fineract (Mifos X) savings
accounts, through Fineract's REST API.

Payee role (a customer is paid): ``prepare_transfer`` checks that the account exists, is
active, takes credits and is in the currency, and writes the transfer down; no money moves.
``commit_transfer`` deposits (``POST /savingsaccounts/{id}/transactions?command=deposit``);
``abort_transfer`` only writes the abort down. A credit is never promised in Fineract itself,
which has nothing to promise one with.

Payer role (a customer pays): ``reserve_funds`` holds the amount
(``command=holdAmount``): Fineract checks the available balance itself, the customer sees the
money on hold, and a failed transfer leaves no booked movement. ``commit_funds`` releases the
hold (``transactions/{holdId}?command=releaseAmount``) and withdraws the amount
(``command=withdrawal``); ``release_funds`` releases the hold. Between the release and the
withdrawal the money is briefly available: a withdrawal refused there (another debit took it)
is ``Unavailable`` and retried, never reported as a business refusal, as the hub has already
committed the transfer.

Idempotency: Fineract has no external ids on savings transactions, so each transfer's state and
transaction ids live in the connector's table (``schema.py``), written before each Fineract
request. A retry of a request whose answer was lost looks for its transaction in Fineract
first: deposits and withdrawals carry the transfer id as their payment detail's
``receiptNumber``, holds carry it in ``reasonForBlock``, and a hold's ``releaseTransactionId``
shows that it was released.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import (
    Connector,
    ConnectorContext,
    ConnectorError,
    IncomingTransfer,
    InsufficientFunds,
    OutgoingTransfer,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    Unavailable,
    UnknownTransfer,
)
from pm4ml.store.engine import create_engine
from pm4ml.store.migrate import upgrade
from pm4ml_fineract.accounts import Accounts, checked_amount
from pm4ml_fineract.client import FineractClient
from pm4ml_fineract.schema import MIGRATIONS_DIR, VERSION_TABLE, Direction, State
from pm4ml_fineract.settings import FineractSettings
from pm4ml_fineract.store import Record, TransferStore

logger = logging.getLogger(__name__)

T = TypeVar("T")

Transaction = dict[str, Any]


def hold_reason(transfer_id: str) -> str:
    """The ``reasonForBlock`` of a transfer's hold: how a retry recognises it."""
    return f"pm4ml transfer {transfer_id}"


class FineractConnector(Connector):
    """The ``fineract`` connector (see the module)."""

    name = "fineract"

    def __init__(
        self, settings: FineractSettings, engine: AsyncEngine, *, owns_engine: bool = False
    ) -> None:
        self.settings = settings
        self.client = FineractClient(settings)
        self.accounts = Accounts(self.client)
        self.store = TransferStore(engine)
        self._engine = engine
        self._owns_engine = owns_engine

    @classmethod
    def create(cls, context: ConnectorContext) -> FineractConnector:
        """Read ``PM4ML_FINERACT_*`` from ``context.environ``; use pm4ml's engine (or an own
        one on ``effective_database_url``). ``ValueError`` on missing or wrong settings."""
        settings = FineractSettings.from_environ(context.environ)
        if context.engine is not None:
            return cls(settings, context.engine)
        engine = create_engine(context.settings.effective_database_url)
        return cls(settings, engine, owns_engine=True)

    @classmethod
    def upgrade_database(cls, url: str) -> None:
        """Migrate ``fineract_transfers`` (version table ``pm4ml_fineract_alembic_version``).
        Runs its own event loop: call it from synchronous code or a thread."""
        upgrade(url, MIGRATIONS_DIR, VERSION_TABLE)

    async def start(self) -> None:
        await self.client.start()

    async def close(self) -> None:
        await self.client.close()
        if self._owns_engine:
            await self._engine.dispose()

    async def check(self) -> None:
        """Fineract answers an authenticated search, and the mapping table can be read."""
        await self.client.search("pm4ml-readiness", "clients")
        await self.store.check()

    # --- finding a transfer's transactions in Fineract -----------------------------------

    async def _find(
        self, record: Record, kind: str, matches: Callable[[Transaction], bool]
    ) -> Transaction | None:
        """The account's live (not reversed) transaction of ``kind`` (``deposit``,
        ``withdrawal``, ``amountHold``) that ``matches``. The amount is not compared: Fineract
        may have rounded it to the currency's decimals, and the mark is unique anyway."""
        account = await self.client.savings(record.savings_id, transactions=True)
        listed = account.get("transactions", [])
        for transaction in listed if isinstance(listed, list) else []:
            if not isinstance(transaction, dict) or transaction.get("reversed") is True:
                continue
            kind_flags = transaction.get("transactionType")
            if not (isinstance(kind_flags, dict) and kind_flags.get(kind) is True):
                continue
            if matches(transaction):
                return transaction
        return None

    async def _find_by_receipt(self, record: Record, kind: str) -> int | None:
        def matches(transaction: Transaction) -> bool:
            detail = transaction.get("paymentDetailData")
            return isinstance(detail, dict) and detail.get("receiptNumber") == record.transfer_id

        found = await self._find(record, kind, matches)
        return None if found is None else int(found["id"])

    async def _find_hold(self, record: Record) -> int | None:
        reason = hold_reason(record.transfer_id)
        found = await self._find(
            record, "amountHold", lambda transaction: transaction.get("reasonForBlock") == reason
        )
        return None if found is None else int(found["id"])

    async def _release_of(self, record: Record) -> int | None:
        """The release transaction of ``record``'s hold, if Fineract has released it."""
        assert record.hold_id is not None
        hold = await self.client.transaction(
            record.savings_id, record.hold_id, not_found=UnknownTransfer
        )
        release_id = hold.get("releaseTransactionId")
        return release_id if isinstance(release_id, int) and release_id > 0 else None

    # --- payee role ---------------------------------------------------------------------

    async def lookup_party(self, party: PartyId) -> Party:
        return await self.accounts.party(party)

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        """The payee receives the amount in full: pm4ml adds no fee of its own here."""
        checked_amount(request.amount, self.settings.max_transfer_amount)
        await self.accounts.one(request.payee, request.amount.currency, Direction.IN)
        return QuoteTerms(
            transfer_amount=request.amount,
            payee_receive_amount=request.amount,
            expiration=request.expiration,
        )

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        if await self.store.get(transfer.transfer_id, Direction.IN) is not None:
            return
        amount = checked_amount(transfer.amount, self.settings.max_transfer_amount)
        account = await self.accounts.one(transfer.payee, transfer.amount.currency, Direction.IN)
        await self.store.add(
            Record(
                transfer_id=transfer.transfer_id,
                direction=Direction.IN,
                savings_id=account.savings_id,
                amount=amount,
                currency=transfer.amount.currency,
                state=State.PREPARED,
            )
        )

    async def commit_transfer(self, transfer_id: str) -> None:
        record = await self.store.get(transfer_id, Direction.IN)
        if record is None or record.state is State.ABORTED:
            raise UnknownTransfer(f"no prepared transfer {transfer_id}")
        if record.state is not State.COMMITTED:
            await self._must(self._credit(record), "deposit", transfer_id)

    async def _credit(self, record: Record) -> None:
        deposit_id = None
        if record.state is State.DEPOSITING:
            deposit_id = await self._find_by_receipt(record, "deposit")
        else:
            record = await self.store.set(record, State.DEPOSITING)
        if deposit_id is None:
            deposit_id = await self.client.transact(
                record.savings_id, "deposit", record.amount, receipt=record.transfer_id
            )
        await self.store.set(record, State.COMMITTED, transaction_id=deposit_id)

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        record = await self.store.get(transfer_id, Direction.IN)
        if record is None or record.state is State.ABORTED:
            return
        if record.state is State.PREPARED:
            await self.store.set(record, State.ABORTED)
            return
        logger.warning(
            "transfer %s is being credited and cannot be aborted (%s)", transfer_id, reason
        )

    async def _must(self, step: Awaitable[T], what: str, transfer_id: str) -> T:
        """A step that finishes what the hub decided (a commit's deposit or withdrawal, a
        release): it must not fail for a business reason, so a refusal (or an answer that
        cannot be read) is logged and becomes ``Unavailable``, for pm4ml to retry."""
        try:
            return await step
        except Unavailable:
            raise
        except ConnectorError as exc:
            logger.error(
                "fineract refused the %s of transfer %s: %s; pm4ml will retry",
                what,
                transfer_id,
                exc.message,
            )
            raise Unavailable(f"the core banking system refused the {what}; retrying") from exc

    # --- payer role ---------------------------------------------------------------------

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        record = await self.store.get(transfer.transfer_id, Direction.OUT)
        if record is not None:
            if record.state is State.HOLDING and await self._settle_holding(record) is None:
                await self._hold(record)
            return
        amount = checked_amount(transfer.amount, self.settings.max_transfer_amount)
        account = await self.accounts.one(transfer.payer, transfer.amount.currency, Direction.OUT)
        if account.available < amount:
            raise InsufficientFunds(f"the available balance is below {amount}")
        record = Record(
            transfer_id=transfer.transfer_id,
            direction=Direction.OUT,
            savings_id=account.savings_id,
            amount=amount,
            currency=transfer.amount.currency,
            state=State.HOLDING,
        )
        if await self.store.add(record):
            await self._hold(record)

    async def _hold(self, record: Record) -> None:
        try:
            hold_id = await self.client.transact(
                record.savings_id,
                "holdAmount",
                record.amount,
                reason=hold_reason(record.transfer_id),
            )
        except Unavailable:
            raise  # the hold may exist: the record stays HOLDING for the retry to look
        except ConnectorError:
            await self.store.remove(record)  # a definite refusal: nothing is held
            raise
        await self.store.set(record, State.HELD, hold_id=hold_id)

    async def _settle_holding(self, record: Record) -> Record | None:
        """A HOLDING record whose hold request's answer was lost: HELD if Fineract has the
        hold, else ``None`` (nothing is held)."""
        hold_id = await self._find_hold(record)
        if hold_id is None:
            return None
        return await self.store.set(record, State.HELD, hold_id=hold_id)

    async def _release(self, record: Record, *, retry: bool) -> int:
        """Release ``record``'s hold; on a retry, first ask whether Fineract already did."""
        assert record.hold_id is not None
        release_id = await self._release_of(record) if retry else None
        if release_id is None:
            release_id = await self.client.release(record.savings_id, record.hold_id)
        return release_id

    async def commit_funds(self, transfer_id: str) -> None:
        record = await self.store.get(transfer_id, Direction.OUT)
        if record is not None and record.state is State.HOLDING:
            record = await self._must(self._settle_holding(record), "hold lookup", transfer_id)
        if record is None or record.state in (State.RELEASING, State.RELEASED):
            raise UnknownTransfer(f"no funds held for transfer {transfer_id}")
        if record.state is not State.COMMITTED:
            await self._must(self._debit(record), "withdrawal", transfer_id)

    async def _debit(self, record: Record) -> None:
        retry = record.state is State.DEBITING
        if not retry:
            record = await self.store.set(record, State.DEBITING)
        if record.release_id is None:
            release_id = await self._release(record, retry=retry)
            record = await self.store.set(record, State.DEBITING, release_id=release_id)
        withdrawal_id = await self._find_by_receipt(record, "withdrawal") if retry else None
        if withdrawal_id is None:
            withdrawal_id = await self.client.transact(
                record.savings_id, "withdrawal", record.amount, receipt=record.transfer_id
            )
        await self.store.set(record, State.COMMITTED, transaction_id=withdrawal_id)

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        record = await self.store.get(transfer_id, Direction.OUT)
        if record is not None:
            await self._must(self._give_back(record, reason), "release", transfer_id)

    async def _give_back(self, record: Record, reason: str) -> None:
        if record.state is State.HOLDING:
            settled = await self._settle_holding(record)
            if settled is None:
                await self.store.set(record, State.RELEASED)
                return
            record = settled
        if record.state is State.RELEASED:
            return
        if record.state in (State.DEBITING, State.COMMITTED):
            logger.warning(
                "transfer %s is being debited and cannot be released (%s)",
                record.transfer_id,
                reason,
            )
            return
        retry = record.state is State.RELEASING
        if not retry:
            record = await self.store.set(record, State.RELEASING)
        release_id = await self._release(record, retry=retry)
        await self.store.set(record, State.RELEASED, release_id=release_id)
