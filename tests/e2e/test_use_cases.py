"""Request to pay between two pm4ml DFSPs on loopback, JWS on both ways: ``payeefsp``'s
customer (merchant, agent, ATM or person) asks ``payerfsp``'s customer to pay, through the
Outbound API's ``POST /requestToPay``. The payer's ledger decides; no money moves until the
payer pays, so both balances are unchanged whatever the decision."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pm4ml.connectors import PartyId
from pm4ml.store.schema import Message
from tests.e2e.conftest import PAYEE, PAYER, Pair, Side

# scenario, subScenario, who initiates (the payee's type), amount type
USE_CASES = [
    pytest.param("TRANSFER", None, "CONSUMER", "SEND", id="p2p-request"),
    pytest.param("PAYMENT", None, "BUSINESS", "SEND", id="merchant-initiated-payment"),
    pytest.param("PAYMENT", "POS", "DEVICE", "RECEIVE", id="merchant-payment-on-pos-otp"),
    pytest.param("WITHDRAWAL", None, "AGENT", "SEND", id="agent-initiated-cash-out"),
    pytest.param("WITHDRAWAL", "ATM", "DEVICE", "RECEIVE", id="atm-initiated-cash-out"),
    pytest.param("DEPOSIT", None, "AGENT", "RECEIVE", id="agent-initiated-cash-in"),
    pytest.param("REFUND", None, "BUSINESS", "SEND", id="merchant-refund-request"),
]


async def request_to_pay(
    pair: Pair,
    amount: str = "10",
    payer: PartyId = PAYER,
    scenario: str = "PAYMENT",
    initiator_type: str = "BUSINESS",
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "homeR2PTransactionId": str(uuid.uuid4()),
        "from": {
            "type": initiator_type,
            "idType": PAYEE.id_type,
            "idValue": PAYEE.id_value,
            "displayName": "Corner Shop",
        },
        "to": {"idType": payer.id_type, "idValue": payer.id_value},
        "amountType": "SEND",
        "currency": "USD",
        "amount": amount,
        "transactionType": scenario,
        **extra,
    }
    return await pair.http.post(pair.payee.outbound_url + "/requestToPay", json=body)


async def logged(side: Side, request_id: str) -> list[Message]:
    async with side.runtime.store.transaction() as session:
        return await side.runtime.store.messages_for(session, [request_id])


async def assert_no_money_moved(pair: Pair) -> None:
    assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal(0), Decimal(0))


@pytest.mark.parametrize(("scenario", "sub_scenario", "initiator_type", "amount_type"), USE_CASES)
async def test_request_to_pay_reaches_the_payer_and_is_received(
    pair: Pair, scenario: str, sub_scenario: str | None, initiator_type: str, amount_type: str
) -> None:
    extra: dict[str, Any] = {"amountType": amount_type}
    if sub_scenario:
        extra["subScenario"] = sub_scenario
    if sub_scenario == "POS":
        extra["authenticationType"] = "OTP"
    response = await request_to_pay(pair, "25.5", PAYER, scenario, initiator_type, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentState"] == "COMPLETED"
    assert body["transactionType"] == scenario
    assert body["amountType"] == amount_type
    assert body["to"]["fspId"] == "payerfsp"
    assert body["getPartiesResponse"]["body"]["partyIdInfo"]["fspId"] == "payerfsp"
    answer = body["transactionRequestResponse"]
    assert answer["body"] == {"transactionRequestState": "RECEIVED"}
    assert answer["headers"]["fspiop-source"] == "payerfsp"
    await assert_no_money_moved(pair)

    # Both sides logged the request under its id, with the FSPIOP roles and initiator.
    request_id = body["transactionRequestId"]
    payee_log = await logged(pair.payee, request_id)
    assert [(m.direction, m.method) for m in payee_log] == [("OUT", "POST"), ("IN", "PUT")]
    payer_log = await logged(pair.payer, request_id)
    assert [(m.direction, m.method) for m in payer_log] == [("IN", "POST")]
    assert payer_log[0].body is not None
    sent = json.loads(payer_log[0].body)
    assert sent["transactionType"]["initiator"] == "PAYEE"
    assert sent["transactionType"]["initiatorType"] == initiator_type
    assert sent["transactionType"]["scenario"] == scenario
    assert sent["payee"]["partyIdInfo"]["fspId"] == "payeefsp"
    assert sent["payer"]["fspId"] == "payerfsp"


async def test_request_above_the_payers_balance_is_rejected(pair: Pair) -> None:
    response = await request_to_pay(pair, "1000.01")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentState"] == "COMPLETED"
    assert body["transactionRequestResponse"]["body"]["transactionRequestState"] == "REJECTED"
    await assert_no_money_moved(pair)


async def test_unknown_payer_fails_at_the_lookup(pair: Pair) -> None:
    response = await request_to_pay(pair, payer=PartyId("MSISDN", "999000"))
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["statusCode"] == "3204"
    state = body["requestToPayState"]
    assert state["currentState"] == "ERROR_OCCURRED"
    assert state["lastError"]["mojaloopError"]["errorInformation"]["errorCode"] == "3204"
    assert "transactionRequestResponse" not in state


async def test_unknown_payer_at_a_named_dfsp_gets_the_payer_dfsps_error(pair: Pair) -> None:
    response = await request_to_pay(
        pair, to={"idType": "MSISDN", "idValue": "999000", "fspId": "payerfsp"}
    )
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["statusCode"] == "3204"
    assert "getPartiesResponse" not in body["requestToPayState"]


async def test_named_dfsp_skips_the_lookup(pair: Pair) -> None:
    response = await request_to_pay(
        pair, to={"idType": "MSISDN", "idValue": PAYER.id_value, "fspId": "payerfsp"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "getPartiesResponse" not in body
    assert body["transactionRequestResponse"]["body"]["transactionRequestState"] == "RECEIVED"


@pytest.mark.parametrize(
    "change",
    [
        {"transactionType": "LOAN"},
        {"amount": "-1"},
        {"homeR2PTransactionId": None},
        {"authenticationType": "PIN"},
        {"extra": 1},
    ],
)
async def test_bad_request_is_refused_with_400_and_nothing_sent(
    pair: Pair, change: dict[str, Any]
) -> None:
    response = await request_to_pay(pair, **change)
    assert response.status_code == 400, response.text
    assert response.json()["statusCode"].startswith("31")
    async with pair.payee.runtime.store.transaction() as session:
        sent = await session.scalar(
            select(func.count()).select_from(Message).where(Message.resource != "parties")
        )
    assert sent == 0
