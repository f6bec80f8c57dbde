"""The fineract connector when Fineract is down, slow, refuses or answers garbage: each case
becomes the documented connector error and FSPIOP code, and no money moves twice."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest
from fineract_tests.conftest import make_connector, open_account
from fineract_tests.fake import Fineract, Savings
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import (
    AmountType,
    Blocked,
    ConnectorError,
    IncomingTransfer,
    InsufficientFunds,
    LimitExceeded,
    Money,
    OutgoingTransfer,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    Rejected,
    Role,
    Unavailable,
    UnknownTransfer,
    UnsupportedCurrency,
    to_fspiop_error,
)
from pm4ml_fineract import FineractConnector

PAYEE = PartyId("MSISDN", "255700000001")
PAYER = PartyId("MSISDN", "255700000002")
PEER = PartyId("MSISDN", "44123456789")
TRANSFER_ID = "0f9c2a3e-8b7d-4c1a-9e2f-3a4b5c6d7e8f"
INSUFFICIENT = "error.msg.savingsaccount.transaction.insufficient.account.balance"


def incoming(amount: str = "25", currency: str = "USD") -> IncomingTransfer:
    return IncomingTransfer(
        transfer_id=TRANSFER_ID,
        quote_id="q-1",
        transaction_id="t-1",
        payee=PAYEE,
        payer=PEER,
        payer_fsp="payerfsp",
        amount=Money(Decimal(amount), currency),
    )


def outgoing(amount: str = "30", transfer_id: str = TRANSFER_ID) -> OutgoingTransfer:
    return OutgoingTransfer(
        transfer_id=transfer_id,
        payer=PAYER,
        payee=PEER,
        payee_fsp="payeefsp",
        amount=Money(Decimal(amount), "USD"),
    )


def quote(amount: str = "10", currency: str = "USD", payee: PartyId = PAYEE) -> QuoteRequest:
    return QuoteRequest(
        quote_id="q-1",
        transaction_id="t-1",
        payee=payee,
        payer=PEER,
        payer_fsp="payerfsp",
        amount=Money(Decimal(amount), currency),
        amount_type=AmountType.SEND,
    )


def code(exc: ConnectorError, role: Role) -> str:
    return to_fspiop_error(exc, role).code_text


@pytest.fixture
def payee(fineract: Fineract) -> Savings:
    return open_account(fineract, PAYEE, "USD", Decimal(100))


@pytest.fixture
def payer(fineract: Fineract) -> Savings:
    return open_account(fineract, PAYER, "USD", Decimal(100))


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/fineract-provider/api/v1"


# --- down, and credentials ------------------------------------------------------------


async def test_fineract_down_is_unavailable_2003_after_retries(
    fineract: Fineract, engine: AsyncEngine
) -> None:
    fineract.url = closed_port()
    connector = make_connector(fineract, engine, RETRIES="2")
    await connector.start()
    try:
        with pytest.raises(Unavailable) as caught:
            await connector.lookup_party(PAYEE)
        with pytest.raises(Unavailable):
            await connector.check()
    finally:
        await connector.close()
    assert code(caught.value, Role.PAYEE) == "2003"


@pytest.mark.parametrize("setting", ["PASSWORD", "TENANT_ID"])
async def test_refused_credentials_or_tenant_are_unavailable(
    fineract: Fineract, engine: AsyncEngine, payee: Savings, setting: str
) -> None:
    connector = make_connector(fineract, engine, **{setting: "wrong"})
    await connector.start()
    try:
        with pytest.raises(Unavailable, match="credentials"):
            await connector.lookup_party(PAYEE)
        with pytest.raises(Unavailable):
            await connector.check()
    finally:
        await connector.close()
    assert fineract.requests["GET search"] == 2


async def test_check_passes_when_fineract_and_the_table_answer(
    connector: FineractConnector,
) -> None:
    await connector.check()


# --- payee: a retried commit deposits once --------------------------------------------


async def test_retried_commit_after_timeout_deposits_once(
    fineract: Fineract, engine: AsyncEngine, payee: Savings
) -> None:
    connector = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await connector.start()
    try:
        await connector.prepare_transfer(incoming())
        fineract.slow["deposit"] = 1.0  # Fineract deposits, the answer comes too late
        with pytest.raises(Unavailable) as caught:
            await connector.commit_transfer(TRANSFER_ID)
        assert code(caught.value, Role.PAYEE) == "2003"
        await connector.commit_transfer(TRANSFER_ID)  # pm4ml retries
        await connector.commit_transfer(TRANSFER_ID)
    finally:
        await connector.close()
    assert fineract.requests["POST deposit"] == 1
    assert payee.balance == Decimal(125)
    assert [t.receipt for t in fineract.booked("deposit")][-1] == TRANSFER_ID


async def test_retried_commit_deposits_when_fineract_never_got_it(
    fineract: Fineract, connector: FineractConnector, payee: Savings
) -> None:
    await connector.prepare_transfer(incoming())
    fineract.refuse["deposit"] = (500, "error.msg.platform.server.side")
    with pytest.raises(Unavailable):
        await connector.commit_transfer(TRANSFER_ID)
    await connector.commit_transfer(TRANSFER_ID)
    assert fineract.requests["POST deposit"] == 2
    assert payee.balance == Decimal(125)


async def test_garbage_deposit_answer_is_unavailable_and_deduplicated(
    fineract: Fineract, connector: FineractConnector, payee: Savings
) -> None:
    await connector.prepare_transfer(incoming())
    fineract.garbage["deposit"] = b"<html>proxy error</html>"  # after depositing
    with pytest.raises(Unavailable):
        await connector.commit_transfer(TRANSFER_ID)
    await connector.commit_transfer(TRANSFER_ID)
    assert fineract.requests["POST deposit"] == 1
    assert payee.balance == Decimal(125)


async def test_a_restarted_connector_still_deposits_once(
    fineract: Fineract, engine: AsyncEngine, payee: Savings
) -> None:
    first = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await first.start()
    await first.prepare_transfer(incoming())
    fineract.slow["deposit"] = 1.0
    with pytest.raises(Unavailable):
        await first.commit_transfer(TRANSFER_ID)
    await first.close()
    second = make_connector(fineract, engine)  # pm4ml restarted: only the table remembers
    await second.start()
    try:
        await second.commit_transfer(TRANSFER_ID)
    finally:
        await second.close()
    assert fineract.requests["POST deposit"] == 1
    assert payee.balance == Decimal(125)


async def test_a_deposit_refused_at_commit_is_retried_not_reported(
    fineract: Fineract, connector: FineractConnector, payee: Savings
) -> None:
    await connector.prepare_transfer(incoming())
    payee.block_credit = True  # blocked after the prepare: the hub has committed already
    with pytest.raises(Unavailable):
        await connector.commit_transfer(TRANSFER_ID)
    payee.block_credit = False
    await connector.commit_transfer(TRANSFER_ID)
    assert payee.balance == Decimal(125)
    assert len([t for t in payee.transactions if t.kind == "deposit"]) == 2  # opening + this


async def test_commit_after_abort_is_unknown_and_moves_nothing(
    connector: FineractConnector, payee: Savings
) -> None:
    await connector.prepare_transfer(incoming())
    await connector.abort_transfer(TRANSFER_ID, "expired")
    with pytest.raises(UnknownTransfer):
        await connector.commit_transfer(TRANSFER_ID)
    assert payee.balance == Decimal(100)


# --- payer: a hold, its release and the withdrawal each happen once ---------------------


async def test_retried_reserve_after_timeout_holds_once(
    fineract: Fineract, engine: AsyncEngine, payer: Savings
) -> None:
    connector = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await connector.start()
    try:
        fineract.slow["holdAmount"] = 1.0
        with pytest.raises(Unavailable) as caught:
            await connector.reserve_funds(outgoing())
        assert code(caught.value, Role.PAYER) == "2003"
        await connector.reserve_funds(outgoing())
        assert payer.on_hold == Decimal(30)
        await connector.commit_funds(TRANSFER_ID)
    finally:
        await connector.close()
    assert fineract.requests["POST holdAmount"] == 1
    assert (payer.balance, payer.on_hold) == (Decimal(70), Decimal(0))


async def test_retried_commit_funds_after_timeouts_releases_and_withdraws_once(
    fineract: Fineract, engine: AsyncEngine, payer: Savings
) -> None:
    connector = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await connector.start()
    try:
        await connector.reserve_funds(outgoing())
        fineract.slow["releaseAmount"] = 1.0
        with pytest.raises(Unavailable):
            await connector.commit_funds(TRANSFER_ID)
        fineract.slow["withdrawal"] = 1.0
        with pytest.raises(Unavailable):
            await connector.commit_funds(TRANSFER_ID)
        await connector.commit_funds(TRANSFER_ID)
        await connector.commit_funds(TRANSFER_ID)
    finally:
        await connector.close()
    assert fineract.requests["POST releaseAmount"] == 1
    assert fineract.requests["POST withdrawal"] == 1
    assert (payer.balance, payer.on_hold) == (Decimal(70), Decimal(0))


async def test_release_after_a_lost_hold_answer_releases_that_hold(
    fineract: Fineract, engine: AsyncEngine, payer: Savings
) -> None:
    connector = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await connector.start()
    try:
        fineract.slow["holdAmount"] = 1.0
        with pytest.raises(Unavailable):
            await connector.reserve_funds(outgoing())
        await connector.release_funds(TRANSFER_ID, "the transfer failed")
        await connector.release_funds(TRANSFER_ID, "the transfer failed")
    finally:
        await connector.close()
    assert fineract.requests["POST releaseAmount"] == 1
    assert (payer.balance, payer.on_hold) == (Decimal(100), Decimal(0))


async def test_release_of_a_hold_fineract_never_made_posts_nothing(
    fineract: Fineract, connector: FineractConnector, payer: Savings
) -> None:
    fineract.refuse["holdAmount"] = (503, "error.msg.platform.service.unavailable")
    with pytest.raises(Unavailable):
        await connector.reserve_funds(outgoing())
    await connector.release_funds(TRANSFER_ID, "the transfer failed")
    with pytest.raises(UnknownTransfer):
        await connector.commit_funds(TRANSFER_ID)
    assert fineract.requests["POST releaseAmount"] == 0
    assert payer.on_hold == Decimal(0)


async def test_insufficient_funds_from_fineract_is_4001_and_leaves_nothing(
    fineract: Fineract, connector: FineractConnector, payer: Savings
) -> None:
    fineract.refuse["holdAmount"] = (403, INSUFFICIENT)  # a debit raced ours in Fineract
    with pytest.raises(InsufficientFunds) as caught:
        await connector.reserve_funds(outgoing())
    assert code(caught.value, Role.PAYER) == "4001"
    await connector.reserve_funds(outgoing())  # the refusal left no record behind
    await connector.commit_funds(TRANSFER_ID)
    assert payer.balance == Decimal(70)


async def test_balance_beyond_available_is_insufficient_funds(
    connector: FineractConnector, payer: Savings
) -> None:
    await connector.reserve_funds(outgoing("80", "first"))
    with pytest.raises(InsufficientFunds):
        await connector.reserve_funds(outgoing("30", "second"))
    assert (payer.balance, payer.on_hold) == (Decimal(100), Decimal(80))


async def test_a_withdrawal_refused_after_the_release_is_retried(
    fineract: Fineract, connector: FineractConnector, payer: Savings
) -> None:
    await connector.reserve_funds(outgoing())
    fineract.refuse["withdrawal"] = (403, INSUFFICIENT)
    with pytest.raises(Unavailable):  # never a business refusal: the hub has committed
        await connector.commit_funds(TRANSFER_ID)
    await connector.commit_funds(TRANSFER_ID)
    assert fineract.requests["POST releaseAmount"] == 1
    assert (payer.balance, payer.on_hold) == (Decimal(70), Decimal(0))


async def test_a_refused_release_is_retried_at_commit_and_at_release(
    fineract: Fineract, connector: FineractConnector, payer: Savings
) -> None:
    await connector.reserve_funds(outgoing("30", "committed"))
    await connector.reserve_funds(outgoing("20", "released"))
    fineract.refuse["releaseAmount"] = (403, "error.msg.some.domain.rule")
    with pytest.raises(Unavailable):
        await connector.commit_funds("committed")
    fineract.refuse["releaseAmount"] = (403, "error.msg.some.domain.rule")
    with pytest.raises(Unavailable):
        await connector.release_funds("released", "aborted")
    await connector.commit_funds("committed")
    await connector.release_funds("released", "aborted")
    assert fineract.requests["POST releaseAmount"] == 4
    assert (payer.balance, payer.on_hold) == (Decimal(70), Decimal(0))


async def test_garbage_while_a_commit_checks_fineract_is_unavailable(
    fineract: Fineract, engine: AsyncEngine, payee: Savings
) -> None:
    connector = make_connector(fineract, engine, TIMEOUT_SECONDS="0.3")
    await connector.start()
    try:
        await connector.prepare_transfer(incoming())
        fineract.slow["deposit"] = 1.0
        with pytest.raises(Unavailable):
            await connector.commit_transfer(TRANSFER_ID)
        fineract.garbage["savings"] = b"[]"  # the transactions cannot be read: still retryable
        with pytest.raises(Unavailable):
            await connector.commit_transfer(TRANSFER_ID)
        await connector.commit_transfer(TRANSFER_ID)
    finally:
        await connector.close()
    assert fineract.requests["POST deposit"] == 1
    assert payee.balance == Decimal(125)


async def test_release_after_commit_gives_nothing_back(
    connector: FineractConnector, payer: Savings
) -> None:
    await connector.reserve_funds(outgoing())
    await connector.commit_funds(TRANSFER_ID)
    await connector.release_funds(TRANSFER_ID, "late abort")
    assert payer.balance == Decimal(70)


# --- unknown, blocked, closed, currency, limit -----------------------------------------


async def test_unknown_party_is_3204_everywhere(connector: FineractConnector) -> None:
    with pytest.raises(PartyNotFound) as caught:
        await connector.lookup_party(PAYEE)
    assert code(caught.value, Role.PAYEE) == "3204"
    with pytest.raises(PartyNotFound):
        await connector.quote(quote())
    with pytest.raises(PartyNotFound):
        await connector.prepare_transfer(incoming())
    with pytest.raises(PartyNotFound):
        await connector.reserve_funds(outgoing())


async def test_closed_account_is_party_not_found(
    connector: FineractConnector, payee: Savings
) -> None:
    payee.status = "closed"
    with pytest.raises(PartyNotFound):
        await connector.lookup_party(PAYEE)


async def test_inactive_account_is_blocked(connector: FineractConnector, payee: Savings) -> None:
    payee.status = "submitted"
    with pytest.raises(Blocked):
        await connector.lookup_party(PAYEE)


async def test_credit_block_refuses_the_payee_5400(
    connector: FineractConnector, payee: Savings
) -> None:
    payee.block_credit = True
    with pytest.raises(Blocked) as caught:
        await connector.prepare_transfer(incoming())
    assert code(caught.value, Role.PAYEE) == "5400"
    with pytest.raises(Blocked):
        await connector.quote(quote())


async def test_debit_block_refuses_the_payer_4400_but_not_a_credit(
    connector: FineractConnector, payer: Savings
) -> None:
    payer.block_debit = True
    with pytest.raises(Blocked) as caught:
        await connector.reserve_funds(outgoing())
    assert code(caught.value, Role.PAYER) == "4400"
    party = await connector.lookup_party(PAYER)  # can still be paid
    assert party.supported_currencies == ("USD",)


async def test_debit_block_reported_by_fineract_is_blocked(
    fineract: Fineract, connector: FineractConnector, payer: Savings
) -> None:
    fineract.refuse["holdAmount"] = (403, "error.msg.savings.account.debit.transaction.not.allowed")
    with pytest.raises(Blocked):
        await connector.reserve_funds(outgoing())


async def test_wrong_currency_is_unsupported_5106(
    connector: FineractConnector, payee: Savings
) -> None:
    with pytest.raises(UnsupportedCurrency) as caught:
        await connector.quote(quote(currency="EUR"))
    assert code(caught.value, Role.PAYEE) == "5106"
    with pytest.raises(UnsupportedCurrency):
        await connector.prepare_transfer(incoming(currency="EUR"))


async def test_amount_above_the_configured_limit_is_limit_exceeded(
    fineract: Fineract, engine: AsyncEngine, payee: Savings, payer: Savings
) -> None:
    connector = make_connector(fineract, engine, MAX_TRANSFER_AMOUNT="50")
    await connector.start()
    try:
        with pytest.raises(LimitExceeded) as quoted:
            await connector.quote(quote("50.01"))
        with pytest.raises(LimitExceeded) as reserved:
            await connector.reserve_funds(outgoing("50.01"))
        await connector.quote(quote("50"))
    finally:
        await connector.close()
    assert code(quoted.value, Role.PAYEE) == "5200"
    assert code(reserved.value, Role.PAYER) == "4200"
    assert payer.on_hold == Decimal(0)


async def test_non_positive_amount_is_rejected(
    connector: FineractConnector, payee: Savings
) -> None:
    with pytest.raises(Rejected):
        await connector.quote(quote("0"))


# --- garbage ----------------------------------------------------------------------------


async def test_garbage_read_is_a_connector_error(
    fineract: Fineract, connector: FineractConnector, payee: Savings
) -> None:
    fineract.garbage["search"] = b"{not json"
    with pytest.raises(ConnectorError) as caught:
        await connector.lookup_party(PAYEE)
    assert not caught.value.retryable
    assert code(caught.value, Role.PAYEE) == "5000"
    fineract.garbage["savings"] = b'{"id": "one"}'  # JSON, but not a savings account
    with pytest.raises(ConnectorError, match="garbage"):
        await connector.lookup_party(PAYEE)
