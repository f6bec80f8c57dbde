"""``ToyBankConnector``: the pm4ml connector contract over :class:`ToyBank`.

Every money-moving call is keyed by the FSPIOP transfer id, which the bank uses as its hold
id, so a retried call never moves money twice.
"""

from __future__ import annotations

from decimal import Decimal

from pm4ml.connectors import (
    Blocked,
    Connector,
    ConnectorContext,
    ConnectorError,
    IncomingTransfer,
    InsufficientFunds,
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
    UnknownTransfer,
    UnsupportedCurrency,
)
from toybank_connector.bank import BankError, Key, ToyBank

#: The bank's refusals as pm4ml connector errors (pm4ml turns them into FSPIOP codes).
ERRORS: dict[str, type[ConnectorError]] = {
    "no-account": PartyNotFound,
    "blocked": Blocked,
    "no-money": InsufficientFunds,
    "no-hold": UnknownTransfer,
}


def key(party: PartyId) -> Key:
    return (party.id_type, party.id_value)


class ToyBankConnector(Connector):
    """The ``toybank`` connector."""

    name = "toybank"

    def __init__(self, bank: ToyBank) -> None:
        self.bank = bank

    @classmethod
    def create(cls, context: ConnectorContext) -> ToyBankConnector:
        """A bank with the accounts of ``PM4ML_TOYBANK_ACCOUNTS``: comma-separated
        ``TYPE/ID:CURRENCY:BALANCE`` items; ``ValueError`` when one does not parse."""
        bank = ToyBank()
        for item in filter(None, context.environ.get("PM4ML_TOYBANK_ACCOUNTS", "").split(",")):
            try:
                party, currency, balance = item.strip().split(":")
                id_type, id_value = party.split("/")
                bank.open((id_type, id_value), currency, Decimal(balance))
            except (ValueError, ArithmeticError):
                raise ValueError(f"PM4ML_TOYBANK_ACCOUNTS: bad item {item!r}") from None
        return cls(bank)

    def _call(self, action: str, *args: object, **kwargs: object) -> None:
        try:
            getattr(self.bank, action)(*args, **kwargs)
        except BankError as exc:
            raise ERRORS[exc.reason](f"the bank refused: {exc.reason}") from None

    def _account_in(self, party: PartyId, currency: str) -> None:
        try:
            account = self.bank.account(key(party))
        except BankError as exc:
            raise ERRORS[exc.reason](f"the bank refused: {exc.reason}") from None
        if account.currency != currency:
            raise UnsupportedCurrency(f"no {currency} account")

    # --- payee role ---------------------------------------------------------------------

    async def lookup_party(self, party: PartyId) -> Party:
        try:
            account = self.bank.account(key(party))
        except BankError as exc:
            raise ERRORS[exc.reason](f"the bank refused: {exc.reason}") from None
        return Party(id=party, display_name=account.name, supported_currencies=(account.currency,))

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        """No fees: the payee receives what the payer sends."""
        if request.amount.amount <= 0:
            raise Rejected("the amount must be positive")
        self._account_in(request.payee, request.amount.currency)
        return QuoteTerms(transfer_amount=request.amount, payee_receive_amount=request.amount)

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        self._account_in(transfer.payee, transfer.amount.currency)
        self._call(
            "hold", transfer.transfer_id, key(transfer.payee), transfer.amount.amount, incoming=True
        )

    async def commit_transfer(self, transfer_id: str) -> None:
        self._call("settle", transfer_id)

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        self.bank.drop(transfer_id)

    # --- payer role ---------------------------------------------------------------------

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        self._account_in(transfer.payer, transfer.amount.currency)
        amount = transfer.amount.amount
        self._call("hold", transfer.transfer_id, key(transfer.payer), amount, incoming=False)

    async def commit_funds(self, transfer_id: str) -> None:
        self._call("settle", transfer_id)

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        self.bank.drop(transfer_id)

    # --- request to pay -----------------------------------------------------------------

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        """Accept for the payer to pay when the money is there now; else reject."""
        self._account_in(request.payer, request.amount.currency)
        enough = request.amount.amount <= self.bank.available(key(request.payer))
        state = TransactionRequestState.RECEIVED if enough else TransactionRequestState.REJECTED
        return TransactionRequestDecision(state)
