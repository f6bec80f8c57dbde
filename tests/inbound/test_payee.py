"""The payee, end to end over real sockets: a signed FSPIOP request from ``payerfsp`` reaches the
inbound server under uvicorn, the ledger connector answers, and the signed callback lands at a
recording hub. Every test runs on SQLite and PostgreSQL.

Covered: party lookup (found, 3204), quote (terms, ILP packet and condition), transfer
(fulfilment matches condition, ledger credited once), idempotent replays, 3106 on a modified
resend, expiry (3303), condition mismatch (3100), unknown quote (3205), GET /transfers from the
store, reserve notification with PATCH, synchronous refusals (3105, 3001, 3102, 3101, 3002).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from pm4ml.fspiop import canonical, ilp
from pm4ml.fspiop.headers import V1_1
from tests.inbound.conftest import PayeeEnv, PayeeFactory
from tests.inbound.messages import later, quote_request, transfer_request


async def quote_and_answer(env: PayeeEnv, amount: str = "100") -> tuple[dict, dict]:  # type: ignore[type-arg]
    quote = quote_request(amount)
    sent = await env.send("POST", "/quotes", quote)
    assert sent.status_code == 202, sent.response_body
    answer = await env.callback("PUT", f"/quotes/{quote['quoteId']}")
    return quote, answer


async def test_party_lookup_answers_with_the_customer(payee: PayeeEnv) -> None:
    sent = await payee.send("GET", "/parties/MSISDN/27713803912")
    assert sent.status_code == 202
    body = await payee.callback("PUT", "/parties/MSISDN/27713803912")
    party = body["party"]
    assert party["partyIdInfo"] == {
        "partyIdType": "MSISDN",
        "partyIdentifier": "27713803912",
        "fspId": "payeefsp",
    }
    assert party["name"] == "Payee Person"


async def test_unknown_party_gets_3204(payee: PayeeEnv) -> None:
    await payee.send("GET", "/parties/MSISDN/999")
    body = await payee.callback("PUT", "/parties/MSISDN/999/error")
    assert body["errorInformation"]["errorCode"] == "3204"


async def test_quote_then_transfer_credits_the_payee_once(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee, "100.5")
    assert answer["transferAmount"] == {"amount": "100.5", "currency": "USD"}
    assert answer["payeeReceiveAmount"] == {"amount": "100.5", "currency": "USD"}
    terms = ilp.IlpV1("payee-ilp-secret").quote_terms(quote, answer)
    assert (answer["ilpPacket"], answer["condition"]) == (terms.packet, terms.condition)

    transfer = transfer_request(quote, answer)
    sent = await payee.send("POST", "/transfers", transfer)
    assert sent.status_code == 202
    fulfil = await payee.callback("PUT", f"/transfers/{transfer['transferId']}")
    assert fulfil["transferState"] == "COMMITTED"
    assert ilp.fulfilment_matches(fulfil["fulfilment"], answer["condition"])
    await wait_for_balance(payee, Decimal("100.5"))

    # The same request again: the same answer, and no second credit.
    await payee.send("POST", "/transfers", transfer)
    await wait_for_count(payee, "PUT", f"/transfers/{transfer['transferId']}", 2)
    assert await payee.balance() == Decimal("100.5")


async def test_modified_resend_gets_3106(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    transfer = transfer_request(quote, answer)
    await payee.send("POST", "/transfers", transfer)
    await payee.callback("PUT", f"/transfers/{transfer['transferId']}")
    changed = {**transfer, "expiration": later(45)}
    await payee.send("POST", "/transfers", changed)
    error = await payee.callback("PUT", f"/transfers/{transfer['transferId']}/error")
    assert error["errorInformation"]["errorCode"] == "3106"
    await wait_for_balance(payee, Decimal("100"))


async def test_repeated_quote_request_replays_the_same_terms(payee: PayeeEnv) -> None:
    quote, _ = await quote_and_answer(payee)
    await payee.send("POST", "/quotes", quote)
    await wait_for_count(payee, "PUT", f"/quotes/{quote['quoteId']}", 2)
    again = [r.json for r in payee.hub.requests if r.path == f"/quotes/{quote['quoteId']}"]
    assert again[0] == again[1]
    modified = {**quote, "amount": {"amount": "5", "currency": "USD"}}
    await payee.send("POST", "/quotes", modified)
    error = await payee.callback("PUT", f"/quotes/{quote['quoteId']}/error")
    assert error["errorInformation"]["errorCode"] == "3106"


async def test_expired_transfer_gets_3303_and_moves_nothing(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    transfer = transfer_request(quote, answer, expiration="2020-01-01T00:00:00.000Z")
    await payee.send("POST", "/transfers", transfer)
    error = await payee.callback("PUT", f"/transfers/{transfer['transferId']}/error")
    assert error["errorInformation"]["errorCode"] == "3303"
    assert await payee.balance() == Decimal("0")


async def test_condition_mismatch_is_refused(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    transfer = transfer_request(quote, answer, condition="A" * 43)
    await payee.send("POST", "/transfers", transfer)
    error = await payee.callback("PUT", f"/transfers/{transfer['transferId']}/error")
    assert error["errorInformation"]["errorCode"] == "3100"
    assert await payee.balance() == Decimal("0")


async def test_amount_differing_from_the_quote_is_refused(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    transfer = transfer_request(quote, answer, amount={"amount": "1000", "currency": "USD"})
    await payee.send("POST", "/transfers", transfer)
    error = await payee.callback("PUT", f"/transfers/{transfer['transferId']}/error")
    assert error["errorInformation"]["errorCode"] == "3100"


async def test_get_transfer_is_answered_from_the_store(payee: PayeeEnv) -> None:
    quote, answer = await quote_and_answer(payee)
    transfer = transfer_request(quote, answer)
    await payee.send("POST", "/transfers", transfer)
    first = await payee.callback("PUT", f"/transfers/{transfer['transferId']}")
    await payee.send("GET", f"/transfers/{transfer['transferId']}")
    await wait_for_count(payee, "PUT", f"/transfers/{transfer['transferId']}", 2)
    await payee.send("GET", "/transfers/00000000-0000-4000-8000-000000000000")
    error = await payee.callback("PUT", "/transfers/00000000-0000-4000-8000-000000000000/error")
    assert error["errorInformation"]["errorCode"] == "3208"
    assert first["fulfilment"]


async def test_reserve_notification_waits_for_patch(payee_factory: PayeeFactory) -> None:
    async with payee_factory(reserve_notification=True) as env:
        quote, answer = await quote_and_answer(env)
        transfer = transfer_request(quote, answer)
        await env.send("POST", "/transfers", transfer)
        fulfil = await env.callback("PUT", f"/transfers/{transfer['transferId']}")
        assert fulfil["transferState"] == "RESERVED"
        assert await env.balance() == Decimal("0")
        patch = {"transferState": "COMMITTED", "completedTimestamp": later(0)}
        sent = await env.send("PATCH", f"/transfers/{transfer['transferId']}", patch)
        assert sent.status_code == 200
        await wait_for_balance(env, Decimal("100"))


async def test_unsigned_request_is_refused_with_3105(payee: PayeeEnv) -> None:
    quote = quote_request()
    headers = payee.payer.headers_for("POST", "/quotes", b"{}", destination="payeefsp",
                                      version=V1_1)  # fmt: skip
    headers["fspiop-signature"] = headers["fspiop-signature"].replace("e", "f", 1)
    async with httpx.AsyncClient(base_url=payee.url) as client:
        response = await client.post("/quotes", content=canonical.dumps(quote), headers=headers)
    assert response.status_code == 400
    assert response.json()["errorInformation"]["errorCode"] == "3105"
    assert not payee.hub.requests


async def test_synchronous_refusals(payee: PayeeEnv) -> None:
    quote = quote_request()
    body = canonical.dumps(quote)
    good = payee.payer.headers_for("POST", "/quotes", body, destination="payeefsp", version=V1_1)
    async with httpx.AsyncClient(base_url=payee.url) as client:
        cases = {
            "3001": {**good, "content-type": good["content-type"].replace("1.1", "9.0")},
            "3102": {k: v for k, v in good.items() if k != "date"},
        }
        for code, headers in cases.items():
            response = await client.post("/quotes", content=body, headers=headers)
            assert response.json()["errorInformation"]["errorCode"] == code, code
        response = await client.post("/nothing-here", content=body, headers=good)
        assert response.status_code == 404
        assert response.json()["errorInformation"]["errorCode"] == "3002"
    missing = {k: v for k, v in quote.items() if k != "amount"}
    sent = await payee.send("POST", "/quotes", missing)
    assert sent.status_code == 400
    info = canonical.loads(sent.response_body)["errorInformation"]
    assert info["errorCode"] == "3102"
    assert "amount" in info["errorDescription"]
    assert not payee.hub.requests


async def wait_for_balance(env: PayeeEnv, expected: Decimal, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await env.balance() == expected:
            return
        await asyncio.sleep(0.05)
    assert await env.balance() == expected


async def wait_for_count(env: PayeeEnv, method: str, path: str, count: int) -> None:
    for _ in range(200):
        if env.hub.count(method, path) >= count:
            return
        await asyncio.sleep(0.025)
    assert env.hub.count(method, path) >= count
