"""The http connector when the backend is down, slow, refuses or answers garbage: each case
becomes the documented connector error and FSPIOP code, and no money moves twice."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from http_tests.backend import Account, Backend
from http_tests.conftest import make_connector

from pm4ml.config import Settings
from pm4ml.connectors import (
    AmountType,
    Blocked,
    ConnectorContext,
    ConnectorError,
    IncomingTransfer,
    InsufficientFunds,
    LimitExceeded,
    Money,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    Rejected,
    Role,
    TransactionRequest,
    TransactionRequestState,
    Unavailable,
    UnknownTransfer,
    UnsupportedCurrency,
    load,
    to_fspiop_error,
)
from pm4ml.server import bind
from pm4ml_http import HttpConnector, error_for

PAYEE = PartyId("MSISDN", "255700000001")
PAYER = PartyId("MSISDN", "44123456789")
TRANSFER_ID = "0f9c2a3e-8b7d-4c1a-9e2f-3a4b5c6d7e8f"


@pytest.fixture
def funded(backend: Backend) -> Backend:
    backend.accounts[(PAYEE.id_type, PAYEE.id_value, None)] = Account("USD", Decimal(100))
    return backend


def balance(backend: Backend) -> Decimal:
    return backend.accounts[(PAYEE.id_type, PAYEE.id_value, None)].balance


def transfer(amount: str = "25") -> IncomingTransfer:
    return IncomingTransfer(
        transfer_id=TRANSFER_ID,
        quote_id="q-1",
        transaction_id="t-1",
        payee=PAYEE,
        payer=PAYER,
        payer_fsp="payerfsp",
        amount=Money(Decimal(amount), "USD"),
    )


def quote(amount: str = "10", currency: str = "USD") -> QuoteRequest:
    return QuoteRequest(
        quote_id="q-1",
        transaction_id="t-1",
        payee=PAYEE,
        payer=PAYER,
        payer_fsp="payerfsp",
        amount=Money(Decimal(amount), currency),
        amount_type=AmountType.SEND,
    )


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- down -----------------------------------------------------------------------------


async def test_backend_down_is_unavailable_2003_after_retries() -> None:
    connector = make_connector(closed_port(), backend_retries=2)
    await connector.start()
    try:
        with pytest.raises(Unavailable) as caught:
            await connector.lookup_party(PAYEE)
        with pytest.raises(Unavailable):
            await connector.check()
    finally:
        await connector.close()
    assert to_fspiop_error(caught.value, Role.PAYEE).code_text == "2003"


# --- slow: a prepare whose answer was lost is not posted again --------------------------


async def test_retried_prepare_after_timeout_is_deduplicated(funded: Backend) -> None:
    connector = make_connector(funded.url, backend_timeout_seconds=0.3)
    await connector.start()
    try:
        funded.slow["POST /transfers"] = 1.0
        with pytest.raises(Unavailable) as caught:
            await connector.prepare_transfer(transfer())
        assert to_fspiop_error(caught.value, Role.PAYEE).code_text == "2003"
        await connector.prepare_transfer(transfer())  # pm4ml retries
        await connector.prepare_transfer(transfer())
        await connector.commit_transfer(TRANSFER_ID)
    finally:
        await connector.close()
    assert funded.requests["POST /transfers"] == 1
    assert funded.requests["GET /transfers"] == 1
    assert balance(funded) == Decimal(125)


async def test_retried_prepare_posts_again_when_the_backend_never_got_it(
    funded: Backend, connector: HttpConnector
) -> None:
    funded.refuse["POST /transfers"] = (503, "2003")
    with pytest.raises(Unavailable):
        await connector.prepare_transfer(transfer())
    await connector.prepare_transfer(transfer())
    await connector.commit_transfer(TRANSFER_ID)
    assert funded.requests["POST /transfers"] == 2
    assert balance(funded) == Decimal(125)


async def test_garbage_prepare_answer_is_unavailable_and_deduplicated(
    funded: Backend, connector: HttpConnector
) -> None:
    funded.slow["POST /transfers"] = 0  # the backend acts, then the answer is garbled
    funded.garbage["POST /transfers"] = b"<html>proxy error</html>"
    with pytest.raises(Unavailable):
        await connector.prepare_transfer(transfer())
    # The garbage came instead of acting: the retry finds nothing and posts once more.
    await connector.prepare_transfer(transfer())
    await connector.prepare_transfer(transfer())
    await connector.commit_transfer(TRANSFER_ID)
    assert funded.requests["POST /transfers"] == 2
    assert balance(funded) == Decimal(125)


async def test_aborted_after_timeout_releases(funded: Backend) -> None:
    connector = make_connector(funded.url, backend_timeout_seconds=0.3)
    await connector.start()
    try:
        funded.slow["POST /transfers"] = 1.0
        with pytest.raises(Unavailable):
            await connector.prepare_transfer(transfer())
        await connector.abort_transfer(TRANSFER_ID, "2003 core banking system timed out")
    finally:
        await connector.close()
    assert funded.transfers[TRANSFER_ID].state == "ABORTED"
    assert balance(funded) == Decimal(100)


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error", "payee_code"),
    [
        (400, "4001", InsufficientFunds, "5001"),
        (400, "5001", InsufficientFunds, "5001"),
        (404, "3204", PartyNotFound, "3204"),
        (400, "5200", LimitExceeded, "5200"),
        (400, "5400", Blocked, "5400"),
        (400, "5106", UnsupportedCurrency, "5106"),
        (400, "5105", Rejected, "5105"),
        (500, "2003", Unavailable, "2003"),
    ],
)
async def test_refusal_status_code_maps_to_fspiop(
    funded: Backend,
    connector: HttpConnector,
    status: int,
    code: str,
    error: type[ConnectorError],
    payee_code: str,
) -> None:
    funded.refuse["POST /quoterequests"] = (status, code)
    with pytest.raises(error) as caught:
        await connector.quote(quote())
    assert type(caught.value) is error
    assert to_fspiop_error(caught.value, Role.PAYEE).code_text == payee_code


async def test_business_refusals_of_the_backend(funded: Backend, connector: HttpConnector) -> None:
    funded.accounts[(PAYEE.id_type, PAYEE.id_value, None)].max_single_transfer = Decimal(5)
    with pytest.raises(LimitExceeded):
        await connector.quote(quote("6"))
    with pytest.raises(UnsupportedCurrency):
        await connector.quote(quote("1", "EUR"))
    with pytest.raises(PartyNotFound):
        await connector.lookup_party(PartyId("MSISDN", "999"))
    with pytest.raises(UnknownTransfer):
        await connector.commit_transfer(TRANSFER_ID)


@pytest.mark.parametrize(
    ("status", "body", "error", "payer_code", "payee_code"),
    [
        (404, None, PartyNotFound, "3204", "3204"),
        (400, {"message": "no"}, Rejected, "4100", "5100"),
        (500, None, Unavailable, "2003", "2003"),
        (502, "not an object", Unavailable, "2003", "2003"),
        (400, {"statusCode": "4300", "message": "x"}, ConnectorError, "4300", "5300"),
    ],
)
def test_error_table_without_or_with_status_code(
    status: int,
    body: object,
    error: type[ConnectorError],
    payer_code: str,
    payee_code: str,
) -> None:
    found = error_for(status, body, not_found=PartyNotFound)
    assert isinstance(found, error)
    assert to_fspiop_error(found, Role.PAYER).code_text == payer_code
    assert to_fspiop_error(found, Role.PAYEE).code_text == payee_code


# --- garbage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"supportedCurrencies": 5}', b'{"displayName": 7}'],
)
async def test_garbage_party_answer_is_unavailable(
    funded: Backend, connector: HttpConnector, body: bytes
) -> None:
    funded.garbage["GET /parties"] = body
    with pytest.raises(Unavailable, match="garbage"):
        await connector.lookup_party(PAYEE)


@pytest.mark.parametrize(
    "body", [b"{}", b'{"transferAmount": "ten", "transferAmountCurrency": "USD"}']
)
async def test_garbage_quote_answer_is_unavailable(
    funded: Backend, connector: HttpConnector, body: bytes
) -> None:
    funded.garbage["POST /quoterequests"] = body
    with pytest.raises(Unavailable, match="garbage"):
        await connector.quote(quote())


# --- request to pay, token, settings, registry -------------------------------------------


async def test_transaction_request_decisions(funded: Backend, connector: HttpConnector) -> None:
    def request(amount: str, payer: PartyId = PAYEE) -> TransactionRequest:
        return TransactionRequest(
            transaction_request_id="r-1",
            payee=PAYER,
            payee_fsp="payeefsp",
            payer=payer,
            amount=Money(Decimal(amount), "USD"),
        )

    assert (await connector.decide_transaction_request(request("50"))).state == "RECEIVED"
    assert (await connector.decide_transaction_request(request("500"))).state == "REJECTED"
    with pytest.raises(PartyNotFound):
        await connector.decide_transaction_request(request("1", PartyId("MSISDN", "0")))
    funded.garbage["POST /transactionrequests"] = b'{"transactionRequestState": "MAYBE"}'
    with pytest.raises(Unavailable):
        await connector.decide_transaction_request(request("1"))


async def test_otp_and_request_to_pay_notification(
    funded: Backend, connector: HttpConnector
) -> None:
    funded.otps["r-1"] = "424242"
    assert await connector.one_time_password("r-1") == "424242"
    with pytest.raises(Rejected):
        await connector.one_time_password("r-unknown")
    funded.garbage["GET /otp"] = b'{"otpValue": ""}'
    with pytest.raises(Unavailable):
        await connector.one_time_password("r-1")
    await connector.notify_transaction_request("r-1", TransactionRequestState.ACCEPTED)
    assert funded.rtp_states == {"r-1": "ACCEPTED"}


async def test_bearer_token_is_sent(funded: Backend) -> None:
    funded.bearer_token = "s3cret"
    good = make_connector(funded.url, backend_bearer_token="s3cret")
    bad = make_connector(funded.url)
    await good.start()
    await bad.start()
    try:
        assert (await good.lookup_party(PAYEE)).display_name == "Test Customer"
        with pytest.raises(Rejected):
            await bad.lookup_party(PAYEE)
    finally:
        await good.close()
        await bad.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "needs PM4ML_BACKEND_ENDPOINT"),
        ({"backend_endpoint": "ftp://cbs"}, "not an http"),
        ({"backend_endpoint": "http://cbs", "backend_tls_cert_file": "c.pem"}, "go together"),
    ],
)
def test_misconfiguration_is_a_clear_error(settings: dict[str, Any], message: str) -> None:
    context = ConnectorContext(settings=Settings(**settings))
    with pytest.raises(ValueError, match=message):
        HttpConnector.create(context)


def test_registered_as_http() -> None:
    assert load("http") is HttpConnector


async def test_refused_connections_are_retried_until_the_backend_is_up() -> None:
    url = closed_port()
    port = int(url.rsplit(":", 1)[1])
    backend = Backend()
    backend.accounts[(PAYEE.id_type, PAYEE.id_value, None)] = Account("USD", Decimal(1))
    server = uvicorn.Server(uvicorn.Config(backend.app(), lifespan="off", log_level="warning"))
    connector = make_connector(url, backend_retries=8, backend_retry_max_seconds=0.2)
    await connector.start()

    async def start_late() -> None:
        await asyncio.sleep(0.3)
        await server.serve(sockets=[bind("127.0.0.1", port)])

    task = asyncio.get_running_loop().create_task(start_late())
    try:
        assert (await connector.lookup_party(PAYEE)).display_name == "Test Customer"
    finally:
        await connector.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    assert backend.requests["GET /parties"] == 1


async def test_definite_refusal_of_prepare_is_not_checked_again(
    funded: Backend, connector: HttpConnector
) -> None:
    funded.refuse["POST /transfers"] = (400, "5200")
    with pytest.raises(LimitExceeded):
        await connector.prepare_transfer(transfer())
    await connector.prepare_transfer(transfer())
    assert funded.requests["GET /transfers"] == 0
    assert funded.requests["POST /transfers"] == 2
