"""Request to pay between two pm4ml DFSPs on loopback, JWS on both ways: ``payeefsp``'s
customer (merchant, agent, ATM or person) asks ``payerfsp``'s customer to pay, through the
Outbound API's ``POST /requestToPay``. The payer's ledger decides; no money moves until the
payer pays (``POST /requestToPayTransfer``), so both balances are unchanged until then, and
moved exactly once after."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pm4ml.connectors import PartyId
from pm4ml.store.schema import Message, Quote
from tests.e2e.conftest import PAYEE, PAYER, Pair, PairFactory, Side
from tests.e2e.test_pm4ml_pair import settle

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


async def pay_request(
    pair: Pair,
    transaction_request_id: str,
    amount: str = "25.5",
    scenario: str = "PAYMENT",
    initiator_type: str = "BUSINESS",
    amount_type: str = "SEND",
    **extra: Any,
) -> httpx.Response:
    """The payer's backend pays a request it was told about (``POST /requestToPayTransfer``)."""
    body: dict[str, Any] = {
        "homeR2PTransactionId": str(uuid.uuid4()),
        "transactionRequestId": transaction_request_id,
        "from": {"idType": PAYER.id_type, "idValue": PAYER.id_value, "displayName": "Mats"},
        "to": {"idType": PAYEE.id_type, "idValue": PAYEE.id_value, "fspId": "payeefsp"},
        "amountType": amount_type,
        "currency": "USD",
        "amount": amount,
        "scenario": scenario,
        "initiator": "PAYEE",
        "initiatorType": initiator_type,
        **extra,
    }
    return await pair.http.post(pair.payer.outbound_url + "/requestToPayTransfer", json=body)


async def received_request(pair: Pair, **extra: Any) -> str:
    response = await request_to_pay(pair, "25.5", **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["transactionRequestResponse"]["body"]["transactionRequestState"] == "RECEIVED"
    return str(body["transactionRequestId"])


@pytest.mark.parametrize(("scenario", "sub_scenario", "initiator_type", "amount_type"), USE_CASES)
async def test_use_case_end_to_end_moves_the_money_once(
    pair: Pair, scenario: str, sub_scenario: str | None, initiator_type: str, amount_type: str
) -> None:
    extra: dict[str, Any] = {"amountType": amount_type}
    if sub_scenario:
        extra["subScenario"] = sub_scenario
    request_id = await received_request(
        pair, scenario=scenario, initiator_type=initiator_type, **extra
    )
    pay_extra = {"subScenario": sub_scenario} if sub_scenario else {}
    response = await pay_request(
        pair, request_id, "25.5", scenario, initiator_type, amount_type, **pay_extra
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentState"] == "COMPLETED"
    assert body["transactionRequestId"] == request_id
    assert body["fulfil"]["body"]["transferState"] == "COMMITTED"
    assert "getPartiesResponse" not in body  # the payee's DFSP was named
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal("974.5"), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))

    # The payee DFSP got a quote it can match to its request, with the request's type.
    async with pair.payee.runtime.store.reading() as session:
        quote = await session.scalar(select(Quote).where(Quote.quote_id == body["quoteId"]))
    assert quote is not None
    assert quote.request["transactionRequestId"] == request_id
    expected_type = {"scenario": scenario, "initiator": "PAYEE", "initiatorType": initiator_type}
    if sub_scenario:
        expected_type["subScenario"] = sub_scenario
    assert quote.request["transactionType"] == expected_type
    assert quote.request["amountType"] == amount_type

    # Paying the same request again is refused; the money moved once.
    again = await pay_request(pair, request_id)
    assert again.status_code == 400, again.text
    await settle(pair)
    assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))


async def test_payer_declines_the_quote_and_nothing_moves(pair_factory: PairFactory) -> None:
    async with pair_factory(payer={"auto_accept_quotes": False}) as pair:
        request_id = await received_request(pair)
        response = await pay_request(pair, request_id)
        assert response.status_code == 200, response.text
        assert response.json()["currentState"] == "WAITING_FOR_QUOTE_ACCEPTANCE"
        url = f"{pair.payer.outbound_url}/requestToPayTransfer/{request_id}"
        declined = await pair.http.put(url, json={"acceptQuote": False})
        assert declined.status_code == 500, declined.text
        assert declined.json()["transferState"]["currentState"] == "ERROR_OCCURRED"
        again = await pair.http.put(url, json={"acceptQuote": True})
        assert again.status_code == 400, again.text
        await settle(pair)
        await assert_no_money_moved(pair)


async def test_payer_accepts_the_quote_and_pays(pair_factory: PairFactory) -> None:
    async with pair_factory(payer={"auto_accept_quotes": False}) as pair:
        request_id = await received_request(pair)
        waiting = await pay_request(pair, request_id)
        assert waiting.json()["currentState"] == "WAITING_FOR_QUOTE_ACCEPTANCE"
        await assert_no_money_moved(pair)
        url = f"{pair.payer.outbound_url}/requestToPayTransfer/{request_id}"
        accepted = await pair.http.put(url, json={"acceptQuote": True})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["currentState"] == "COMPLETED"
        await settle(pair)
        assert await pair.payer.balance(PAYER) == (Decimal("974.5"), Decimal(0))
        assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))


async def test_continuing_an_unknown_request_is_404(pair: Pair) -> None:
    url = f"{pair.payer.outbound_url}/requestToPayTransfer/{uuid.uuid4()}"
    response = await pair.http.put(url, json={"acceptQuote": True})
    assert response.status_code == 404, response.text
    assert response.json()["statusCode"] == "3206"


@pytest.mark.parametrize(
    "change",
    [{"transactionRequestId": "not-a-uuid"}, {"initiator": "NOBODY"}, {"scenario": "LOAN"}],
)
async def test_bad_request_to_pay_transfer_is_refused_with_400(
    pair: Pair, change: dict[str, Any]
) -> None:
    response = await pay_request(pair, str(uuid.uuid4()), **change)
    assert response.status_code == 400, response.text
    await assert_no_money_moved(pair)


async def test_payer_dfsp_not_answering_in_time_is_504(pair: Pair) -> None:
    # No decision can arrive within a millisecond: the payee DFSP stops waiting.
    pair.payee.runtime.ctx.callback_wait_seconds = 0.001
    response = await request_to_pay(
        pair, to={"idType": "MSISDN", "idValue": PAYER.id_value, "fspId": "payerfsp"}
    )
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["statusCode"] == "2004"
    assert body["requestToPayState"]["currentState"] == "ERROR_OCCURRED"
    await assert_no_money_moved(pair)
