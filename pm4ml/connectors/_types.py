"""The values that cross the connector boundary: small frozen dataclasses, no FSPIOP JSON.

A connector never sees FSPIOP bodies. The flows map FSPIOP messages to these types (and back)
so that a core-banking integration does not change when the wire format does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency. ``amount`` is a ``Decimal`` in major units (``Decimal("10.5")``
    USD is ten dollars fifty), never a float."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        assert isinstance(self.amount, Decimal), "Money.amount must be a Decimal"
        assert self.amount.is_finite(), "Money.amount must be finite"
        assert len(self.currency) == 3, "Money.currency must be an ISO 4217 code"


@dataclass(frozen=True, slots=True)
class PartyId:
    """A party identifier as FSPIOP names it: type (MSISDN, ACCOUNT_ID, IBAN, ...), value and an
    optional sub-id or sub-type."""

    id_type: str
    id_value: str
    sub_id: str | None = None

    def __str__(self) -> str:
        parts = [self.id_type, self.id_value] + ([self.sub_id] if self.sub_id else [])
        return "/".join(parts)


@dataclass(frozen=True, slots=True)
class Party:
    """A customer of this DFSP as the CBS knows it (the answer to a party lookup)."""

    id: PartyId
    display_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    merchant_classification_code: str | None = None
    supported_currencies: tuple[str, ...] = ()


class AmountType(enum.StrEnum):
    """SEND: the payer sends this amount, fees come off it. RECEIVE: the payee receives it."""

    SEND = "SEND"
    RECEIVE = "RECEIVE"


@dataclass(frozen=True, slots=True)
class TransactionType:
    """FSPIOP transactionType: scenario (TRANSFER, DEPOSIT, WITHDRAWAL, PAYMENT, REFUND), who
    initiates (PAYER or PAYEE) and what kind of party does (CONSUMER, AGENT, BUSINESS, DEVICE)."""

    scenario: str = "TRANSFER"
    initiator: str = "PAYER"
    initiator_type: str = "CONSUMER"
    sub_scenario: str | None = None
    refund_of: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """A payer DFSP asks this (payee) DFSP for the terms of a transfer to one of its customers."""

    quote_id: str
    transaction_id: str
    payee: PartyId
    payer: PartyId
    payer_fsp: str
    amount: Money
    amount_type: AmountType
    transaction_type: TransactionType = field(default_factory=TransactionType)
    payer_name: str | None = None
    note: str | None = None
    expiration: datetime | None = None
    transaction_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteTerms:
    """The payee CBS's answer to a quote: what the payer must transfer and what the payee gets.

    For ``AmountType.SEND`` the CBS usually returns ``transfer_amount`` = the requested amount
    and a ``payee_receive_amount`` net of its fee; for ``RECEIVE`` it adds its fee on top.
    """

    transfer_amount: Money
    payee_receive_amount: Money | None = None
    payee_fsp_fee: Money | None = None
    payee_fsp_commission: Money | None = None
    expiration: datetime | None = None


@dataclass(frozen=True, slots=True)
class IncomingTransfer:
    """A transfer into an account of this DFSP (payee role). ``amount`` is what the payee's
    account is to be credited: the quoted payee receive amount."""

    transfer_id: str
    quote_id: str | None
    transaction_id: str | None
    payee: PartyId
    payer: PartyId
    payer_fsp: str
    amount: Money
    expiration: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingTransfer:
    """A transfer from an account of this DFSP (payer role). ``amount`` is everything the payer's
    account is debited: the quote's transfer amount plus this DFSP's own fees, if any."""

    transfer_id: str
    payer: PartyId
    payee: PartyId
    payee_fsp: str
    amount: Money
    expiration: datetime | None = None
    note: str | None = None


class TransferOutcome(enum.StrEnum):
    """How a transfer ended, as a final notification tells the CBS."""

    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class TransferNotification:
    """The final outcome of a transfer the CBS took part in, sent after the money moved or was
    released. ``reason`` carries the FSPIOP error code and text when it was aborted."""

    transfer_id: str
    outcome: TransferOutcome
    completed_at: datetime | None = None
    reason: str | None = None


class TransactionRequestState(enum.StrEnum):
    """The payer DFSP's answer to a request to pay (FSPIOP ``TransactionRequestState``)."""

    RECEIVED = "RECEIVED"  # taken on; the payer's own transfer will follow
    PENDING = "PENDING"  # sent on to the customer, who has not decided yet
    ACCEPTED = "ACCEPTED"  # the customer approved it
    REJECTED = "REJECTED"  # the customer or the DFSP refused it: no transfer will follow


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """A payee (merchant, agent, ATM or person) asks a customer of this DFSP to pay."""

    transaction_request_id: str
    payee: PartyId
    payee_fsp: str
    payer: PartyId
    amount: Money
    transaction_type: TransactionType = field(default_factory=TransactionType)
    payee_name: str | None = None
    note: str | None = None
    authentication_type: str | None = None
    expiration: datetime | None = None


@dataclass(frozen=True, slots=True)
class TransactionRequestDecision:
    """The CBS's decision on a :class:`TransactionRequest`. ``transaction_id`` is the id the
    payer's transfer will carry, when the CBS already knows it."""

    state: TransactionRequestState
    transaction_id: str | None = None
