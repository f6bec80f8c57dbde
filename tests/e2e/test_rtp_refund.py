"""A refund linked to its original transaction, pm4ml to pm4ml on loopback, JWS on. A customer
at ``payeefsp`` paid Mats (a merchant at ``payerfsp``) 40 USD, then asks for it back with a
request to pay of scenario ``REFUND`` naming that transaction (``refundInfo``). Mats's DFSP
checks that the payment happened between them (its ledger) before taking the request on;
the refund's quote, and so its transfer's ILP packet, carry the ``refundInfo``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from pm4ml.store.schema import Quote
from tests.e2e.conftest import PAYEE, PAYER, Pair
from tests.e2e.test_pm4ml_pair import settle
from tests.e2e.test_use_cases import pay_request, request_to_pay


async def customer_pays_the_merchant(pair: Pair) -> str:
    """``PAYEE`` (at payeefsp, funded with 100) pays ``PAYER`` 40; the transaction id."""
    await pair.payee.ledger.deposit(PAYEE, "USD", Decimal(100))
    body = {
        "homeTransactionId": str(uuid.uuid4()),
        "from": {"idType": PAYEE.id_type, "idValue": PAYEE.id_value},
        "to": {"idType": PAYER.id_type, "idValue": PAYER.id_value},
        "amountType": "SEND",
        "currency": "USD",
        "amount": "40",
        "transactionType": "TRANSFER",
    }
    response = await pair.http.post(pair.payee.outbound_url + "/transfers", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["currentState"] == "COMPLETED"
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal(1040), Decimal(0))
    return str(response.json()["transferId"])


async def ask_for_refund(pair: Pair, original: str, **extra: Any) -> httpx.Response:
    refund = {"originalTransactionId": original, "refundReason": "returned the goods"}
    return await request_to_pay(pair, "40", PAYER, "REFUND", "CONSUMER", refundInfo=refund, **extra)


async def test_refund_of_a_real_payment_is_paid_and_linked(pair: Pair) -> None:
    original = await customer_pays_the_merchant(pair)
    response = await ask_for_refund(pair, original)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["transactionRequestResponse"]["body"]["transactionRequestState"] == "RECEIVED"
    request_id = body["transactionRequestId"]
    store = pair.payer.runtime.store
    async with store.reading() as session:
        received = await store.transaction_request(session, request_id, "payer")
    assert received is not None and received.original_transaction_id == original

    # The merchant's backend pays it without repeating refundInfo: the stored request's wins.
    paid = await pay_request(pair, request_id, "40", "REFUND", "CONSUMER")
    assert paid.status_code == 200, paid.text
    assert paid.json()["currentState"] == "COMPLETED"
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal(100), Decimal(0))
    async with pair.payee.runtime.store.reading() as session:
        quote = await session.scalar(select(Quote).where(Quote.quote_id == paid.json()["quoteId"]))
    assert quote is not None
    refund_info = quote.request["transactionType"]["refundInfo"]
    assert refund_info == {"originalTransactionId": original, "refundReason": "returned the goods"}


async def test_refund_of_an_unknown_transaction_is_refused(pair: Pair) -> None:
    await customer_pays_the_merchant(pair)
    response = await ask_for_refund(pair, str(uuid.uuid4()))
    assert response.status_code == 500, response.text
    assert response.json()["statusCode"] == "3207"
    request_id = response.json()["requestToPayState"]["transactionRequestId"]
    store = pair.payee.runtime.store
    async with store.reading() as session:
        asked = await store.transaction_request(session, request_id, "payee")
    assert asked is not None and (asked.state, asked.last_error_code) == ("ERROR", "3207")
    assert await pair.payer.balance(PAYER) == (Decimal(1040), Decimal(0))


async def test_refund_of_a_payment_the_other_way_is_refused(pair: Pair) -> None:
    # Mats paid the customer: nothing of that comes back to the customer as a refund.
    sent = await pair.send("40")
    assert sent.status_code == 200, sent.text
    await settle(pair)
    response = await ask_for_refund(pair, str(sent.json()["transferId"]))
    assert response.status_code == 500, response.text
    assert response.json()["statusCode"] == "3207"


async def test_refund_info_outside_a_refund_is_a_bad_request(pair: Pair) -> None:
    refund = {"originalTransactionId": str(uuid.uuid4())}
    response = await request_to_pay(pair, refundInfo=refund)
    assert response.status_code == 400, response.text
    assert response.json()["statusCode"] == "3100"
    paid = await pay_request(pair, str(uuid.uuid4()), refundInfo=refund)
    assert paid.status_code == 400, paid.text
