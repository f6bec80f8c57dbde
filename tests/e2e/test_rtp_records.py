"""The stored record of a request to pay on both sides (``transaction_requests``), and the
database's guarantee of one payment per request: two pm4ml DFSPs on loopback, JWS on, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pm4ml.connectors import TransactionRequest, TransactionRequestDecision
from pm4ml.flows.rtp_records import RequestRole, RequestState, new_row
from pm4ml.store.schema import TransactionRequestRow, Transfer, utcnow
from tests.e2e.conftest import PAYEE, PAYER, Pair, PairFactory, Side
from tests.e2e.test_pm4ml_pair import settle
from tests.e2e.test_use_cases import (
    assert_no_money_moved,
    pay_request,
    received_request,
    request_to_pay,
)


async def stored(side: Side, request_id: str, role: str) -> TransactionRequestRow:
    store = side.runtime.store
    async with store.reading() as session:
        row = await store.transaction_request(session, request_id, role)
    assert row is not None, (request_id, role)
    return row


async def test_both_sides_store_the_request_and_the_payer_links_its_transfer(pair: Pair) -> None:
    request_id = await received_request(pair, amountType="RECEIVE")
    asked = await stored(pair.payee, request_id, "payee")
    assert (asked.state, asked.peer_fsp, asked.amount_type) == ("RECEIVED", "payerfsp", "RECEIVE")
    assert asked.home_transaction_id is not None
    received = await stored(pair.payer, request_id, "payer")
    assert (received.state, received.peer_fsp, received.transfer_id) == (
        "RECEIVED",
        "payeefsp",
        None,
    )
    assert (received.payer_id_value, received.payee_id_value) == (
        PAYER.id_value,
        PAYEE.id_value,
    )

    response = await pay_request(pair, request_id)
    assert response.status_code == 200, response.text
    received = await stored(pair.payer, request_id, "payer")
    assert received.transfer_id == response.json()["transferId"]


async def test_rejected_request_is_stored_and_not_paid(pair: Pair) -> None:
    response = await request_to_pay(pair, "1000.01")
    request_id = response.json()["transactionRequestId"]
    assert (await stored(pair.payee, request_id, "payee")).state == "REJECTED"
    assert (await stored(pair.payer, request_id, "payer")).state == "REJECTED"
    paid = await pay_request(pair, request_id, "1000.01")
    assert paid.status_code == 400, paid.text
    assert paid.json()["statusCode"] == "4101"
    await assert_no_money_moved(pair)


async def test_concurrent_payments_of_one_request_move_the_money_once(pair: Pair) -> None:
    request_id = await received_request(pair)
    answers = await asyncio.gather(*(pay_request(pair, request_id) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]
    paid = next(a for a in answers if a.status_code == 200).json()
    assert paid["currentState"] == "COMPLETED"
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal("974.5"), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))
    async with pair.payer.runtime.store.reading() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.transaction_request_id == request_id)
        )
    assert count == 1
    assert (await stored(pair.payer, request_id, "payer")).transfer_id == paid["transferId"]


async def test_payer_dfsp_not_answering_in_time_is_stored_as_timeout_then_its_answer(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = pair.payer.runtime.ctx.connector
    decide = connector.decide_transaction_request

    async def slow(request: TransactionRequest) -> TransactionRequestDecision:
        await asyncio.sleep(1.0)
        return await decide(request)

    monkeypatch.setattr(connector, "decide_transaction_request", slow)
    pair.payee.runtime.ctx.callback_wait_seconds = 0.2
    response = await request_to_pay(
        pair, to={"idType": "MSISDN", "idValue": PAYER.id_value, "fspId": "payerfsp"}
    )
    assert response.status_code == 504, response.text
    request_id = response.json()["requestToPayState"]["transactionRequestId"]
    asked = await stored(pair.payee, request_id, "payee")
    assert (asked.state, asked.last_error_code) == ("TIMEOUT", "2004")
    # The payer DFSP's late decision still reaches the record.
    for _ in range(100):
        asked = await stored(pair.payee, request_id, "payee")
        if asked.state != "TIMEOUT":
            break
        await asyncio.sleep(0.05)
    assert (asked.state, asked.last_error_code) == ("RECEIVED", None)


async def test_unknown_payer_is_stored_as_an_error(pair: Pair) -> None:
    response = await request_to_pay(pair, to={"idType": "MSISDN", "idValue": "999000"})
    assert response.status_code == 500, response.text
    request_id = response.json()["requestToPayState"]["transactionRequestId"]
    asked = await stored(pair.payee, request_id, "payee")
    assert (asked.state, asked.last_error_code, asked.peer_fsp) == ("ERROR", "3204", None)


async def test_party_acceptance_waits_then_sends_the_request(pair_factory: PairFactory) -> None:
    async with pair_factory(payee={"auto_accept_r2p_party": False}) as pair:
        waiting = await request_to_pay(pair, "25.5")
        assert waiting.status_code == 200, waiting.text
        body = waiting.json()
        assert body["currentState"] == "WAITING_FOR_PARTY_ACCEPTANCE"
        assert body["getPartiesResponse"]["body"]["partyIdInfo"]["fspId"] == "payerfsp"
        assert "transactionRequestResponse" not in body
        request_id = body["transactionRequestId"]
        assert (await stored(pair.payee, request_id, "payee")).state == (
            "WAITING_FOR_PARTY_ACCEPTANCE"
        )
        async with pair.payer.runtime.store.reading() as session:
            asked = await pair.payer.runtime.store.transaction_request(session, request_id, "payer")
        assert asked is None  # nothing sent before the party is accepted

        url = f"{pair.payee.outbound_url}/requestToPay/{request_id}"
        accepted = await pair.http.put(url, json={"acceptParty": True})
        assert accepted.status_code == 200, accepted.text
        done = accepted.json()
        assert done["currentState"] == "COMPLETED"
        assert done["amount"] == "25.5"
        assert done["to"]["fspId"] == "payerfsp"
        answer = done["transactionRequestResponse"]["body"]
        assert answer == {"transactionRequestState": "RECEIVED"}
        assert (await stored(pair.payer, request_id, "payer")).state == "RECEIVED"
        again = await pair.http.put(url, json={"acceptParty": True})
        assert again.status_code == 400, again.text


async def test_party_declined_ends_the_request_and_nothing_is_sent(
    pair_factory: PairFactory,
) -> None:
    async with pair_factory(payee={"auto_accept_r2p_party": False}) as pair:
        request_id = (await request_to_pay(pair)).json()["transactionRequestId"]
        url = f"{pair.payee.outbound_url}/requestToPay/{request_id}"
        declined = await pair.http.put(url, json={"acceptParty": False})
        assert declined.status_code == 500, declined.text
        assert declined.json()["requestToPayState"]["currentState"] == "ERROR_OCCURRED"
        asked = await stored(pair.payee, request_id, "payee")
        assert (asked.state, asked.last_error_code) == ("ERROR", "5100")
        async with pair.payer.runtime.store.reading() as session:
            received = await pair.payer.runtime.store.transaction_request(
                session, request_id, "payer"
            )
        assert received is None


async def test_accepting_an_unknown_request_is_404(pair: Pair) -> None:
    url = f"{pair.payee.outbound_url}/requestToPay/{uuid.uuid4()}"
    response = await pair.http.put(url, json={"acceptParty": True})
    assert response.status_code == 404, response.text
    assert response.json()["statusCode"] == "3206"
    bad = await pair.http.put(url, json={"acceptParty": "yes please"})
    assert bad.status_code == 400, bad.text


async def test_expired_request_is_not_paid(pair_factory: PairFactory) -> None:
    async with pair_factory(payee={"expiry_seconds": 1}) as pair:
        request_id = await received_request(pair)
        received = await stored(pair.payer, request_id, "payer")
        assert received.expiration is not None
        await asyncio.sleep(1.1)
        paid = await pay_request(pair, request_id)
        assert paid.status_code == 400, paid.text
        assert paid.json()["statusCode"] == "3301"
        await assert_no_money_moved(pair)
        assert (await stored(pair.payer, request_id, "payer")).transfer_id is None


@pytest.mark.parametrize(
    ("role", "left_in", "ends_in"),
    [
        ("payee", "PARTY_LOOKUP_SENT", "TIMEOUT"),
        ("payee", "WAITING_FOR_PARTY_ACCEPTANCE", "TIMEOUT"),
        ("payee", "REQUEST_SENT", "TIMEOUT"),
        ("payer", "DECIDING", "ERROR"),
        ("payee", "RECEIVED", "RECEIVED"),  # answered: nothing to end
    ],
)
async def test_a_request_left_half_way_by_a_dead_process_is_ended(
    pair: Pair, role: str, left_in: str, ends_in: str
) -> None:
    request_id = str(uuid.uuid4())
    body = {
        "transactionRequestId": request_id,
        "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": PAYEE.id_value}},
        "payer": {"partyIdType": "MSISDN", "partyIdentifier": PAYER.id_value},
        "amount": {"amount": "10", "currency": "USD"},
        "transactionType": {
            "scenario": "PAYMENT",
            "initiator": "PAYEE",
            "initiatorType": "BUSINESS",
        },
    }
    side = pair.payee if role == "payee" else pair.payer
    long_ago = utcnow() - timedelta(days=1)
    row = new_row(body, RequestRole(role), RequestState(left_in), peer_fsp="payerfsp")
    row.created_at = row.updated_at = long_ago
    async with side.runtime.store.transaction() as session:
        session.add(row)
    # The sweeper runs every 0.2 s in these pairs; a fresh request (not stale) is left alone.
    fresh = await received_request(pair)
    for _ in range(100 if ends_in != left_in else 0):
        if (await stored(side, request_id, role)).state != left_in:
            break
        await asyncio.sleep(0.05)
    else:
        await asyncio.sleep(1)  # several sweeps
    ended = await stored(side, request_id, role)
    assert ended.state == ends_in
    if ends_in != left_in:
        assert ended.last_error_code == "2004"
    assert (await stored(pair.payee, fresh, "payee")).state == "RECEIVED"
