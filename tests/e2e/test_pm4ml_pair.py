"""Money moves between two pm4ml DFSPs through the outbound API: lookup, quote, transfer, with
JWS both ways, on SQLite and PostgreSQL. Balances on both ledgers are the proof."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import PAYEE, PAYER, Pair, PairFactory
from tests.support import drain_outbox


async def settle(pair: Pair) -> None:
    """Let the queued CBS commits/releases run."""
    await drain_outbox(pair.payer.runtime, pair.payee.runtime)


async def test_transfer_completes_and_moves_money(pair: Pair) -> None:
    response = await pair.send("25.5")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentState"] == "COMPLETED"
    assert body["fulfil"]["body"]["transferState"] == "COMMITTED"
    assert body["to"]["fspId"] == "payeefsp"
    assert body["to"]["displayName"] == "Payee Person"
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal("974.5"), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))

    status = await pair.http.get(f"{pair.payer.outbound_url}/transfers/{body['transferId']}")
    assert status.json()["currentState"] == "COMPLETED"


async def test_unknown_payee_fails_with_3204_and_holds_nothing(pair: Pair) -> None:
    response = await pair.send("5", to="000000")
    assert response.status_code == 500
    body = response.json()
    assert body["statusCode"] == "3204"
    assert body["transferState"]["currentState"] == "ERROR_OCCURRED"
    last = body["transferState"]["lastError"]["mojaloopError"]["errorInformation"]
    assert last["errorCode"] == "3204"
    assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))


async def test_insufficient_funds_fails_before_anything_is_sent(pair: Pair) -> None:
    response = await pair.send("5000")
    assert response.status_code == 500
    assert response.json()["statusCode"] == "4001"
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal(0), Decimal(0))


async def test_two_step_acceptance(pair_factory: PairFactory) -> None:
    options = {"auto_accept_party": False, "auto_accept_quotes": False}
    async with pair_factory(payer=options) as pair:
        first = await pair.send("7")
        assert first.status_code == 200, first.text
        assert first.json()["currentState"] == "WAITING_FOR_PARTY_ACCEPTANCE"
        transfer_id = first.json()["transferId"]
        url = f"{pair.payer.outbound_url}/transfers/{transfer_id}"
        second = await pair.http.put(url, json={"acceptParty": True})
        assert second.json()["currentState"] == "WAITING_FOR_QUOTE_ACCEPTANCE"
        assert second.json()["quoteResponse"]["body"]["transferAmount"]["amount"] == "7"
        third = await pair.http.put(url, json={"acceptQuote": True})
        assert third.json()["currentState"] == "COMPLETED", third.text
        await settle(pair)
        assert await pair.payee.balance(PAYEE) == (Decimal(7), Decimal(0))


async def test_rejected_quote_ends_without_money_moving(pair_factory: PairFactory) -> None:
    async with pair_factory(payer={"auto_accept_quotes": False}) as pair:
        first = await pair.send("7")
        assert first.json()["currentState"] == "WAITING_FOR_QUOTE_ACCEPTANCE"
        url = f"{pair.payer.outbound_url}/transfers/{first.json()['transferId']}"
        answer = await pair.http.put(url, json={"acceptQuote": False})
        assert answer.status_code == 500
        assert answer.json()["transferState"]["currentState"] == "ERROR_OCCURRED"
        again = await pair.http.put(url, json={"acceptQuote": True})
        assert again.status_code == 400
        assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))


async def test_bad_request_is_refused_with_400(pair: Pair) -> None:
    response = await pair.send("1.23456")
    assert response.status_code == 400
    assert "amount" in response.json()["message"]
