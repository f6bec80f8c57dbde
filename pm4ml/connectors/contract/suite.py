"""The tests every connector must pass. Each test opens fresh accounts with random party ids,
so a harness may share one CBS between tests."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

import pytest

from pm4ml.connectors import (
    AmountType,
    Blocked,
    ConnectorError,
    IncomingTransfer,
    InsufficientFunds,
    LimitExceeded,
    Money,
    OutgoingTransfer,
    Party,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    QuoteTerms,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    TransferNotification,
    TransferOutcome,
    UnknownTransfer,
)
from pm4ml.connectors.contract.harness import Capability, ContractHarness

CURRENCY = "USD"
PEER = PartyId("MSISDN", "44123456789")


def new_party() -> PartyId:
    return PartyId("MSISDN", f"25{secrets.randbelow(10**10):010d}")


def new_id() -> str:
    return str(uuid.uuid4())


def usd(amount: str) -> Money:
    return Money(Decimal(amount), CURRENCY)


def incoming(payee: PartyId, amount: str, transfer_id: str | None = None) -> IncomingTransfer:
    return IncomingTransfer(
        transfer_id=transfer_id or new_id(),
        quote_id=new_id(),
        transaction_id=new_id(),
        payee=payee,
        payer=PEER,
        payer_fsp="payerfsp",
        amount=usd(amount),
    )


def outgoing(payer: PartyId, amount: str, transfer_id: str | None = None) -> OutgoingTransfer:
    return OutgoingTransfer(
        transfer_id=transfer_id or new_id(),
        payer=payer,
        payee=PEER,
        payee_fsp="payeefsp",
        amount=usd(amount),
    )


def quote_request(payee: PartyId, amount: str) -> QuoteRequest:
    return QuoteRequest(
        quote_id=new_id(),
        transaction_id=new_id(),
        payee=payee,
        payer=PEER,
        payer_fsp="payerfsp",
        amount=usd(amount),
        amount_type=AmountType.SEND,
    )


def transaction_request(payer: PartyId, *, otp: bool = False) -> TransactionRequest:
    """A request to pay 10 USD from ``payer`` to the peer DFSP's customer."""
    return TransactionRequest(
        transaction_request_id=new_id(),
        payee=PEER,
        payee_fsp="payeefsp",
        payer=payer,
        amount=usd("10"),
        authentication_type="OTP" if otp else None,
    )


async def account(harness: ContractHarness, balance: str = "100", **options: object) -> PartyId:
    party = new_party()
    await harness.open_account(party, CURRENCY, Decimal(balance), **options)  # type: ignore[arg-type]
    return party


def need(harness: ContractHarness, capability: Capability) -> None:
    if capability not in harness.capabilities:
        pytest.skip(f"the connector's CBS has no {capability.value}")


@pytest.mark.connector_contract
class ConnectorContract:
    """Subclass as ``Test...`` in a connector's tests to run the suite against it."""

    # --- party lookup -------------------------------------------------------------------

    async def test_lookup_returns_the_party(self, connector_harness: ContractHarness) -> None:
        party = await account(connector_harness)
        found = await connector_harness.connector.lookup_party(party)
        assert isinstance(found, Party)
        assert (found.id.id_type, found.id.id_value) == (party.id_type, party.id_value)
        assert CURRENCY in found.supported_currencies

    async def test_lookup_of_unknown_party_is_party_not_found(
        self, connector_harness: ContractHarness
    ) -> None:
        with pytest.raises(PartyNotFound):
            await connector_harness.connector.lookup_party(new_party())

    async def test_participant_of_a_customer_is_named(
        self, connector_harness: ContractHarness
    ) -> None:
        """``None`` (this DFSP) or the FSP id the CBS names for its own customer."""
        party = await account(connector_harness)
        fsp = await connector_harness.connector.participant_fsp(party)
        assert fsp is None or (isinstance(fsp, str) and fsp)

    async def test_participant_of_unknown_party_is_party_not_found(
        self, connector_harness: ContractHarness
    ) -> None:
        with pytest.raises(PartyNotFound):
            await connector_harness.connector.participant_fsp(new_party())

    async def test_lookup_of_blocked_party_is_blocked(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.BLOCKING)
        party = await account(connector_harness, blocked=True)
        with pytest.raises(Blocked):
            await connector_harness.connector.lookup_party(party)

    # --- quotes -------------------------------------------------------------------------

    async def test_quote_gives_terms_and_moves_no_money(
        self, connector_harness: ContractHarness
    ) -> None:
        party = await account(connector_harness, "5")
        request = quote_request(party, "10")
        terms = await connector_harness.connector.quote(request)
        assert isinstance(terms, QuoteTerms)
        assert terms.transfer_amount.currency == CURRENCY
        assert terms.transfer_amount.amount > 0
        again = await connector_harness.connector.quote(request)
        assert again.transfer_amount == terms.transfer_amount
        assert await connector_harness.balance(party, CURRENCY) == Decimal(5)

    async def test_quote_for_unknown_party_is_party_not_found(
        self, connector_harness: ContractHarness
    ) -> None:
        with pytest.raises(PartyNotFound):
            await connector_harness.connector.quote(quote_request(new_party(), "10"))

    async def test_quote_above_limit_is_limit_exceeded(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.LIMITS)
        party = await account(connector_harness, max_single_transfer=Decimal(50))
        with pytest.raises(LimitExceeded):
            await connector_harness.connector.quote(quote_request(party, "50.01"))

    # --- payee role: incoming transfers -------------------------------------------------

    async def test_prepared_and_committed_credit_lands_once(
        self, connector_harness: ContractHarness
    ) -> None:
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        transfer = incoming(party, "12.5")
        await connector.prepare_transfer(transfer)
        await connector.prepare_transfer(transfer)  # a retry after a timeout
        await connector.commit_transfer(transfer.transfer_id)
        await connector.commit_transfer(transfer.transfer_id)
        assert await connector_harness.balance(party, CURRENCY) == Decimal("112.5")

    async def test_aborted_credit_never_lands(self, connector_harness: ContractHarness) -> None:
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        transfer = incoming(party, "7")
        await connector.prepare_transfer(transfer)
        await connector.abort_transfer(transfer.transfer_id, "expired")
        await connector.abort_transfer(transfer.transfer_id, "expired")
        assert await connector_harness.balance(party, CURRENCY) == Decimal(100)

    async def test_abort_of_unknown_transfer_is_not_an_error(
        self, connector_harness: ContractHarness
    ) -> None:
        await connector_harness.connector.abort_transfer(new_id(), "never prepared")

    async def test_commit_of_unknown_transfer_is_unknown_transfer(
        self, connector_harness: ContractHarness
    ) -> None:
        with pytest.raises(UnknownTransfer):
            await connector_harness.connector.commit_transfer(new_id())

    async def test_prepare_for_unknown_party_is_party_not_found(
        self, connector_harness: ContractHarness
    ) -> None:
        with pytest.raises(PartyNotFound):
            await connector_harness.connector.prepare_transfer(incoming(new_party(), "1"))

    async def test_notification_is_accepted_twice(self, connector_harness: ContractHarness) -> None:
        connector = connector_harness.connector
        party = await account(connector_harness, "0")
        transfer = incoming(party, "3")
        await connector.prepare_transfer(transfer)
        await connector.commit_transfer(transfer.transfer_id)
        note = TransferNotification(transfer.transfer_id, TransferOutcome.COMMITTED)
        await connector.notify(note)
        await connector.notify(note)
        assert await connector_harness.balance(party, CURRENCY) == Decimal(3)

    # --- payer role: outgoing transfers -------------------------------------------------

    async def test_reserved_and_committed_debit_happens_once(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.PAYER_FUNDS)
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        transfer = outgoing(party, "30")
        await connector.reserve_funds(transfer)
        await connector.reserve_funds(transfer)
        await connector.commit_funds(transfer.transfer_id)
        await connector.commit_funds(transfer.transfer_id)
        assert await connector_harness.balance(party, CURRENCY) == Decimal(70)

    async def test_released_funds_come_back(self, connector_harness: ContractHarness) -> None:
        need(connector_harness, Capability.PAYER_FUNDS)
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        transfer = outgoing(party, "60")
        await connector.reserve_funds(transfer)
        await connector.release_funds(transfer.transfer_id, "aborted by the hub")
        await connector.release_funds(transfer.transfer_id, "aborted by the hub")
        await connector.release_funds(new_id(), "never reserved")
        assert await connector_harness.balance(party, CURRENCY) == Decimal(100)
        # The released money can be held again.
        await connector.reserve_funds(outgoing(party, "100"))

    async def test_reserve_beyond_balance_is_insufficient_funds(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.PAYER_FUNDS)
        connector = connector_harness.connector
        party = await account(connector_harness, "10")
        await connector.reserve_funds(outgoing(party, "6"))
        with pytest.raises(InsufficientFunds):
            await connector.reserve_funds(outgoing(party, "6"))

    async def test_reserve_for_unknown_party_is_party_not_found(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.PAYER_FUNDS)
        with pytest.raises(PartyNotFound):
            await connector_harness.connector.reserve_funds(outgoing(new_party(), "1"))

    async def test_commit_funds_of_unknown_transfer_is_unknown_transfer(
        self, connector_harness: ContractHarness
    ) -> None:
        need(connector_harness, Capability.PAYER_FUNDS)
        with pytest.raises(UnknownTransfer):
            await connector_harness.connector.commit_funds(new_id())

    # --- request to pay -----------------------------------------------------------------

    async def test_transaction_request_is_decided_without_moving_money(
        self, connector_harness: ContractHarness
    ) -> None:
        party = await account(connector_harness, "100")
        request = transaction_request(party)
        decision = await connector_harness.connector.decide_transaction_request(request)
        assert isinstance(decision, TransactionRequestDecision)
        assert await connector_harness.balance(party, CURRENCY) == Decimal(100)

    async def test_one_time_password_is_a_password_or_a_refusal(
        self, connector_harness: ContractHarness
    ) -> None:
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        request = transaction_request(party, otp=True)
        await connector.decide_transaction_request(request)
        try:
            password = await connector.one_time_password(request.transaction_request_id)
        except ConnectorError as refusal:
            refused: ConnectorError | None = refusal
        else:
            refused = None
            assert isinstance(password, str)
            assert password
            assert password == await connector.one_time_password(request.transaction_request_id)
        assert refused is None or not refused.retryable

    async def test_a_wrong_one_time_password_is_not_accepted(
        self, connector_harness: ContractHarness
    ) -> None:
        """A password the CBS never issued is refused (``False``), or the CBS checks no
        passwords at all (a refusal that retrying cannot change); asking again gives the same
        answer, as the check moves nothing."""
        connector = connector_harness.connector
        party = await account(connector_harness, "100")
        request = transaction_request(party, otp=True)
        await connector.decide_transaction_request(request)
        answers: list[bool | str] = []
        for _ in range(2):
            try:
                answer = await connector.check_one_time_password(
                    request.transaction_request_id, "x"
                )
            except ConnectorError as refusal:
                answers.append("retryable refusal" if refusal.retryable else "refusal")
            else:
                answers.append(answer)
        assert answers in ([False, False], ["refusal", "refusal"])
        assert await connector_harness.balance(party, CURRENCY) == Decimal(100)

    async def test_transaction_request_notification_is_accepted_twice(
        self, connector_harness: ContractHarness
    ) -> None:
        connector = connector_harness.connector
        request_id = new_id()
        await connector.notify_transaction_request(request_id, TransactionRequestState.ACCEPTED)
        await connector.notify_transaction_request(request_id, TransactionRequestState.ACCEPTED)
