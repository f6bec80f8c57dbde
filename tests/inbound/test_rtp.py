"""The payer side of a request to pay, on loopback: a signed ``POST /transactionRequests`` from
``payerfsp``'s server (here playing the payee's DFSP) asks a customer of the pm4ml under test to
pay; the decision comes back as a signed callback to the recording hub. Accept, reject, unknown
customer, expired request, CBS down or slow, and a connector without RTP support."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pm4ml.connectors import (
    PartyId,
    TransactionRequest,
    TransactionRequestDecision,
    Unavailable,
)
from pm4ml.flows import mapping
from tests.inbound.conftest import PayeeEnv, PayeeFactory
from tests.inbound.messages import later
from tests.inbound.test_payee_failures import Faulty

CUSTOMER = PartyId("MSISDN", "44111222333")


class FaultyWithRtp(Faulty):
    """:class:`Faulty` that passes the RTP hook on to the ledger (or fails or stalls it)."""

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        result: TransactionRequestDecision = await self._call("decide_transaction_request", request)
        return result


def transaction_request(amount: str = "10", **extra: Any) -> dict[str, Any]:
    return {
        "transactionRequestId": str(uuid.uuid4()),
        "payee": {
            "partyIdInfo": {
                "partyIdType": "MSISDN",
                "partyIdentifier": "27700000001",
                "fspId": "payerfsp",
            },
            "name": "Corner Shop",
        },
        "payer": {"partyIdType": CUSTOMER.id_type, "partyIdentifier": CUSTOMER.id_value},
        "amount": {"amount": amount, "currency": "USD"},
        "transactionType": {
            "scenario": "PAYMENT",
            "initiator": "PAYEE",
            "initiatorType": "BUSINESS",
        },
        "expiration": later(),
        **extra,
    }


async def ask(env: PayeeEnv, body: dict[str, Any], answer: str = "") -> dict[str, Any]:
    """Send ``body``; the callback (``answer`` is ``""`` or ``"/error"``)."""
    sent = await env.send("POST", "/transactionRequests", body)
    assert sent.status_code == 202, sent.status_code
    path = f"/transactionRequests/{body['transactionRequestId']}{answer}"
    return await env.callback("PUT", path)


async def open_customer(env: PayeeEnv, balance: str = "100") -> None:
    await env.ledger.open_account(
        CUSTOMER, "USD", display_name="Cus Tomer", balance=Decimal(balance)
    )


async def test_payable_request_is_received(payee: PayeeEnv) -> None:
    await open_customer(payee)
    assert await ask(payee, transaction_request("100")) == {"transactionRequestState": "RECEIVED"}
    assert (await payee.ledger.balance(CUSTOMER, "USD")).held == Decimal(0)


async def test_request_above_the_balance_is_rejected(payee: PayeeEnv) -> None:
    await open_customer(payee)
    answer = await ask(payee, transaction_request("100.01"))
    assert answer == {"transactionRequestState": "REJECTED"}


async def test_request_to_a_blocked_account_gets_its_error(payee: PayeeEnv) -> None:
    await open_customer(payee)
    await payee.ledger.block(CUSTOMER, "USD")
    error = await ask(payee, transaction_request(), "/error")
    assert error["errorInformation"]["errorCode"].startswith("4")


async def test_unknown_customer_gets_3204(payee: PayeeEnv) -> None:
    error = await ask(payee, transaction_request(), "/error")
    assert error["errorInformation"]["errorCode"] == "3204"


async def test_expired_request_gets_3301_without_asking_the_cbs(
    payee_factory: PayeeFactory,
) -> None:
    faulty = FaultyWithRtp(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        past = mapping.fspiop_datetime(datetime.now(UTC) - timedelta(seconds=1))
        error = await ask(env, transaction_request(expiration=past), "/error")
        assert error["errorInformation"]["errorCode"] == "3301"
        assert "decide_transaction_request" not in faulty.calls


async def test_cbs_down_gets_2003(payee_factory: PayeeFactory) -> None:
    faulty = FaultyWithRtp(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        faulty.fail["decide_transaction_request"] = Unavailable("connection refused")
        error = await ask(env, transaction_request(), "/error")
        assert error["errorInformation"]["errorCode"] == "2003"


async def test_cbs_too_slow_gets_2003(payee_factory: PayeeFactory) -> None:
    faulty = FaultyWithRtp(payee_factory.database_url)
    async with payee_factory(connector=faulty, connector_timeout_seconds=0.2) as env:
        await open_customer(env)
        faulty.delay["decide_transaction_request"] = 5
        error = await ask(env, transaction_request(), "/error")
        assert error["errorInformation"]["errorCode"] == "2003"


async def test_connector_without_rtp_support_rejects(payee_factory: PayeeFactory) -> None:
    async with payee_factory(connector=Faulty(payee_factory.database_url)) as env:
        await open_customer(env)
        answer = await ask(env, transaction_request())
        assert answer == {"transactionRequestState": "REJECTED"}
