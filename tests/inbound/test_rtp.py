"""The payer side of a request to pay, on loopback: a signed ``POST /transactionRequests`` from
``payerfsp``'s server (here playing the payee's DFSP) asks a customer of the pm4ml under test to
pay; the decision comes back as a signed callback to the recording hub. Accept, reject, unknown
customer, expired request, CBS down or slow, and a connector without RTP support."""

from __future__ import annotations

import asyncio
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
from pm4ml.store.schema import TransactionRequestRow
from tests.inbound.conftest import PayeeEnv, PayeeFactory
from tests.inbound.messages import later
from tests.inbound.test_payee_failures import Faulty, wait_until

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


async def stored(env: PayeeEnv, request_id: str) -> TransactionRequestRow:
    store = env.runtime.store
    async with store.reading() as session:
        row = await store.transaction_request(session, request_id, "payer")
    assert row is not None
    return row


async def callbacks(env: PayeeEnv, path: str, count: int) -> None:
    """Wait until ``count`` callbacks have reached ``path``."""
    await wait_until(lambda: env.hub.count("PUT", path) >= count)


async def test_decision_is_stored_with_the_request(payee: PayeeEnv) -> None:
    await open_customer(payee)
    body = transaction_request("10", note="lunch")
    body["transactionType"]["subScenario"] = "POS"
    assert await ask(payee, body) == {"transactionRequestState": "RECEIVED"}
    row = await stored(payee, body["transactionRequestId"])
    assert (row.state, row.peer_fsp, row.transfer_id) == ("RECEIVED", "payerfsp", None)
    assert (row.payer_id_value, row.payee_id_value) == (CUSTOMER.id_value, "27700000001")
    assert (row.amount, row.currency, row.scenario, row.sub_scenario) == (
        "10",
        "USD",
        "PAYMENT",
        "POS",
    )
    assert (row.initiator, row.initiator_type) == ("PAYEE", "BUSINESS")


async def test_get_answers_from_the_stored_request(payee: PayeeEnv) -> None:
    await open_customer(payee)
    body = transaction_request("100.01")
    assert await ask(payee, body) == {"transactionRequestState": "REJECTED"}
    request_id = body["transactionRequestId"]
    sent = await payee.send("GET", f"/transactionRequests/{request_id}")
    assert sent.status_code == 202
    await callbacks(payee, f"/transactionRequests/{request_id}", 2)
    answers = [r.json for r in payee.hub.requests if r.path.endswith(request_id)]
    assert answers == [{"transactionRequestState": "REJECTED"}] * 2


async def test_get_for_an_unknown_request_gets_3206(payee: PayeeEnv) -> None:
    request_id = str(uuid.uuid4())
    sent = await payee.send("GET", f"/transactionRequests/{request_id}")
    assert sent.status_code == 202
    error = await payee.callback("PUT", f"/transactionRequests/{request_id}/error")
    assert error["errorInformation"]["errorCode"] == "3206"


async def test_error_is_stored_and_a_get_repeats_it(payee: PayeeEnv) -> None:
    body = transaction_request()
    error = await ask(payee, body, "/error")
    assert error["errorInformation"]["errorCode"] == "3204"
    request_id = body["transactionRequestId"]
    row = await stored(payee, request_id)
    assert (row.state, row.last_error_code) == ("ERROR", "3204")
    await payee.send("GET", f"/transactionRequests/{request_id}")
    await callbacks(payee, f"/transactionRequests/{request_id}/error", 2)


async def test_repeated_request_gets_the_stored_answer_without_asking_again(
    payee_factory: PayeeFactory,
) -> None:
    faulty = FaultyWithRtp(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        await open_customer(env)
        body = transaction_request()
        assert await ask(env, body) == {"transactionRequestState": "RECEIVED"}
        await env.send("POST", "/transactionRequests", body)
        await callbacks(env, f"/transactionRequests/{body['transactionRequestId']}", 2)
        assert faulty.calls.count("decide_transaction_request") == 1


async def test_authorization_for_a_request_we_did_not_send_gets_3206(payee: PayeeEnv) -> None:
    request_id = str(uuid.uuid4())
    sent = await payee.send("GET", f"/authorizations/{request_id}")
    assert sent.status_code == 202
    error = await payee.callback("PUT", f"/authorizations/{request_id}/error")
    assert error["errorInformation"]["errorCode"] == "3206"


async def test_repeat_while_deciding_is_decided_again_but_answered_once(
    payee_factory: PayeeFactory,
) -> None:
    faulty = FaultyWithRtp(payee_factory.database_url)
    async with payee_factory(connector=faulty) as env:
        await open_customer(env)
        faulty.delay["decide_transaction_request"] = 0.3
        body = transaction_request()
        path = f"/transactionRequests/{body['transactionRequestId']}"
        await env.send("POST", "/transactionRequests", body)
        await env.send("POST", "/transactionRequests", body)
        await wait_until(lambda: faulty.calls.count("decide_transaction_request") == 2)
        assert await env.callback("PUT", path) == {"transactionRequestState": "RECEIVED"}
        await asyncio.sleep(0.5)  # the second decision, stored second, is not sent
        assert env.hub.count("PUT", path) == 1
