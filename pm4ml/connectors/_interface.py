"""The connector interface: what pm4ml asks of a DFSP's core banking system (CBS).

pm4ml calls a connector from its flows, always after the flow's state is persisted, and
translates what it raises into FSPIOP errors (see ``_errors.py``). The calls for one transfer
are made in order and never concurrently. Every money-moving method is keyed by the FSPIOP
``transfer_id`` and must be idempotent on it: pm4ml may repeat a call after a crash or a
timeout (``Unavailable``), and the CBS must then not move the money twice.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pm4ml.connectors._errors import Blocked, ConnectorError
from pm4ml.connectors._types import (
    IncomingTransfer,
    OutgoingTransfer,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    TransferNotification,
)
from pm4ml.fspiop.errors import ErrorCode


@dataclass(frozen=True)
class ConnectorContext:
    """What pm4ml hands a connector when it creates it.

    ``settings`` is the pm4ml ``Settings`` object; ``options`` are the connector's own settings
    (``PM4ML_<CONNECTOR>_*`` variables are the connector's business to read from ``environ``);
    ``engine`` is pm4ml's SQLAlchemy ``AsyncEngine`` for connectors that keep tables in the same
    database (the ``ledger`` connector does), else ``None``.
    """

    settings: Any
    engine: Any = None
    environ: Mapping[str, str] = field(default_factory=dict)


class Connector(abc.ABC):
    """Base class of every connector. Subclasses are registered under the ``pm4ml.connectors``
    entry-point group (the entry point names the class) and chosen by ``PM4ML_CONNECTOR``."""

    #: Short name, equal to the entry-point name.
    name: ClassVar[str] = ""

    @classmethod
    def create(cls, context: ConnectorContext) -> Connector:
        """Build the connector from pm4ml's context. Override to read your own settings; raise
        ``ValueError`` with a clear message on misconfiguration (pm4ml refuses to start)."""
        return cls()

    @classmethod
    def upgrade_database(cls, url: str) -> None:
        """Create or migrate the connector's own tables in pm4ml's database, given pm4ml's
        SQLAlchemy URL (async driver). Called by ``pm4ml db upgrade`` and at start-up, from
        synchronous code. Default: nothing to do."""

    async def start(self) -> None:
        """Open connections. Called once before the first call."""

    async def close(self) -> None:
        """Release connections. Called once at shutdown."""

    async def check(self) -> None:
        """Raise ``Unavailable`` when the CBS cannot be reached (readiness probe)."""

    # --- payee role: a customer of this DFSP is paid -----------------------------------------

    @abc.abstractmethod
    async def lookup_party(self, party: PartyId) -> Party:
        """Who is ``party``? Returns the customer's names and the currencies they can receive.

        Raises ``PartyNotFound`` (3204) when there is no such customer, ``Blocked`` when the
        account cannot receive. Read-only; may be retried freely.
        """

    async def participant_fsp(self, party: PartyId) -> str | None:
        """Which FSP holds ``party`` (FSPIOP ``GET /participants/{Type}/{ID}``, asked of a
        DFSP that serves as an oracle): the FSP id, or ``None`` for this DFSP itself.

        Raises ``PartyNotFound`` (3204) when no FSP is known for it, ``Unavailable``
        (retryable). Read-only; may be retried freely. Default: the party is this DFSP's when
        :meth:`lookup_party` knows it (a blocked customer is still this DFSP's), so a CBS that
        only knows its own customers needs nothing more."""
        with contextlib.suppress(Blocked):
            await self.lookup_party(party)
        return None

    @abc.abstractmethod
    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        """The terms on which the payee DFSP accepts ``request``: the amount the payer must
        transfer, fees, and what the payee receives.

        Raises ``PartyNotFound`` (3204), ``UnsupportedCurrency`` (5106), ``LimitExceeded``
        (5200), ``Rejected`` (5100). Must not move money; may be retried; idempotency key
        ``request.quote_id`` (a repeat returns the same terms).
        """

    @abc.abstractmethod
    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        """Reserve the credit of ``transfer.amount`` to ``transfer.payee``: the money is
        promised but not yet available to the customer.

        Raises ``PartyNotFound`` (3204), ``LimitExceeded`` (5200), ``Blocked`` (5400),
        ``Rejected`` (5100), ``Unavailable`` (2003, retryable). Idempotency key
        ``transfer.transfer_id``: a repeat of a prepared transfer returns without effect.
        """

    @abc.abstractmethod
    async def commit_transfer(self, transfer_id: str) -> None:
        """Make a prepared incoming credit final. Idempotent on ``transfer_id``.

        Raises ``UnknownTransfer`` (3208) when it was never prepared, ``Unavailable``
        (retryable). Must not fail for business reasons: the payer's money has already moved.
        """

    @abc.abstractmethod
    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        """Cancel a prepared incoming credit. Idempotent; aborting an unknown transfer or one
        already aborted is not an error. Raises only ``Unavailable`` (retryable)."""

    async def notify(self, notification: TransferNotification) -> None:
        """The final outcome of a transfer this DFSP took part in (either role), after pm4ml
        has committed or aborted it. Informational; default: nothing. Idempotent on
        ``notification.transfer_id``; may be retried."""

    # --- payer role: a customer of this DFSP pays ----------------------------------------

    @abc.abstractmethod
    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        """Hold ``transfer.amount`` on ``transfer.payer``'s account before the transfer is
        sent to the hub.

        Raises ``PartyNotFound`` (3204), ``InsufficientFunds`` (4001), ``LimitExceeded``
        (4200), ``Blocked`` (4400), ``Unavailable`` (retryable). Idempotency key
        ``transfer.transfer_id``.
        """

    @abc.abstractmethod
    async def commit_funds(self, transfer_id: str) -> None:
        """Debit the held funds: the hub committed the transfer. Idempotent; raises
        ``UnknownTransfer`` or ``Unavailable`` only."""

    @abc.abstractmethod
    async def release_funds(self, transfer_id: str, reason: str) -> None:
        """Give the held funds back: the transfer failed or expired. Idempotent; releasing an
        unknown or already released hold is not an error. Raises only ``Unavailable``."""

    # --- payer role, request to pay: a payee asks a customer of this DFSP to pay -------------

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        """Accept or reject ``request`` (or pass it on to the customer: ``PENDING``).

        Raises ``PartyNotFound`` (3204) when ``request.payer`` is no customer, ``Blocked``,
        ``Unavailable`` (retryable). Must not move money; idempotency key
        ``request.transaction_request_id``. Default: ``REJECTED``, as a CBS that cannot show a
        request to its customer cannot have it approved."""
        return TransactionRequestDecision(TransactionRequestState.REJECTED)

    async def check_one_time_password(self, transaction_request_id: str, value: str) -> bool:
        """Whether ``value`` is the one-time password (OTP) the CBS issued to the payer for the
        request to pay ``transaction_request_id`` (FSPIOP ``authenticationType`` ``OTP``; the
        CBS issues it, for example by SMS, when it decides the request). The payee's DFSP
        returns what the customer typed on its device (``PUT /authorizations``); pm4ml counts
        the tries (``PM4ML_OTP_ATTEMPTS_MAX``).

        Raises ``Unavailable`` (2003, retryable). Read-only; idempotency key
        ``transaction_request_id``. Default: refuses with 2002 *Not implemented*, as a CBS
        that issues no passwords cannot check one."""
        raise ConnectorError(
            "this core banking system issues no one-time passwords",
            code=ErrorCode.NOT_IMPLEMENTED,
        )

    # --- payee role, request to pay: this DFSP asked a payer to pay ---------------------

    async def one_time_password(self, transaction_request_id: str) -> str:
        """The one-time password (OTP) the payer typed on this DFSP's device (POS, ATM) to
        approve the request to pay ``transaction_request_id``, asked for when the payer's
        DFSP sends ``GET /authorizations/{ID}`` (the sdk-scheme-adapter asks its backend's
        ``GET /otp/{ID}`` at the same point). The payer's DFSP checks it.

        Raises ``Rejected`` when the CBS knows no such request or the customer declined
        (answered as ``responseType: REJECTED``), ``Unavailable`` (2003, retryable).
        Read-only; idempotency key ``transaction_request_id``. Default: refuses with 2002
        *Not implemented*, as a CBS without such a device has no password to give."""
        raise ConnectorError(
            "this core banking system takes no one-time passwords",
            code=ErrorCode.NOT_IMPLEMENTED,
        )

    async def notify_transaction_request(
        self, transaction_request_id: str, state: TransactionRequestState
    ) -> None:
        """The final state of a request to pay this DFSP sent for its customer (``ACCEPTED``
        when the payer's transfer arrived, ``REJECTED`` when the payer refused). Informational;
        default: nothing. Idempotent on ``transaction_request_id``; may be retried; raises only
        ``Unavailable``."""
